package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
)

// procRunner runs one plugin process for go-plugin. It does what go-plugin's
// own command runner does, and also tells the supervisor when the process
// has exited and why, which go-plugin does not expose.
type procRunner struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr io.ReadCloser
	logger hclog.Logger

	mu      sync.Mutex    // orders Start and Kill
	killed  bool          // Kill came first: Start must not start
	pid     int           // set by Start
	exited  chan struct{} // closed once the process has exited and been reaped
	waitErr error         // why it exited; set before exited is closed
	once    sync.Once
}

var _ runner.Runner = (*procRunner)(nil)

// newProcRunner prepares c to run with env, which go-plugin has filled with
// the host's environment and the handshake variables.
func newProcRunner(c Command, env []string, logger hclog.Logger) (*procRunner, error) {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(append([]string(nil), env...), c.Env...)
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{
		cmd:    cmd,
		stdout: stdout,
		stderr: stderr,
		logger: logger,
		exited: make(chan struct{}),
	}, nil
}

func (r *procRunner) Start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.killed {
		return errors.New("plugin start aborted")
	}
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	r.logger.Debug("plugin process started", "path", r.cmd.Path, "pid", r.pid)
	return nil
}

// Wait is called once by go-plugin, after the process's stdout and stderr
// are drained.
func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.once.Do(func() {
		r.waitErr = err
		close(r.exited)
	})
	return err
}

// Kill kills the process, or keeps it from starting. Killing a process that
// already exited is not an error.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killed = true
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// exitReason describes how the process ended.
func (r *procRunner) exitReason() string {
	select {
	case <-r.exited:
	default:
		return "not reaped yet"
	}
	if r.waitErr == nil {
		return "exited with status 0"
	}
	return r.waitErr.Error()
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *procRunner) Name() string          { return r.cmd.Path }

func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pid == 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

func (r *procRunner) Diagnose(context.Context) string {
	return fmt.Sprintf("%s did not complete the corebridge plugin handshake: it may not be a corebridge plugin, "+
		"may be built for another system, or may have printed to stdout before serving", r.cmd.Path)
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
