package plugins

import "syscall"

// sysProcAttr makes the kernel SIGKILL a plugin process when the host dies,
// however it dies, so that no plugin outlives its bridge.
//
// The signal is tied to the OS thread that started the child. The Go runtime
// does not end threads that goroutines may be scheduled on, except threads
// locked with runtime.LockOSThread whose goroutine exits while locked, which
// the plugin host never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
