//go:build !linux

package plugins

import "syscall"

// sysProcAttr returns nil: outside Linux there is no parent-death signal,
// and plugins are stopped by Close and CleanupAll only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
