package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// Process supervises one plugin process: it starts it, dispenses its
// implementation of T, and restarts it with backoff whenever it dies, until
// Close.
//
// The process speaks gRPC only, is killed by the kernel if the host dies
// (on Linux), and is registered with go-plugin's managed clients, so
// CleanupAll stops it. Everything the process writes on stderr, and
// go-plugin's own logging, goes to the logger given to Start.
//
// A Process is safe for concurrent use.
type Process[T any] struct {
	cmd     Command // fixed after Start; launch reads it under mu so tests may change it
	plugin  plugin.Plugin
	logger  *slog.Logger
	backoff backoff

	life context.Context // ended by Close
	stop context.CancelFunc
	done chan struct{} // closed when the supervisor has returned

	mu      sync.Mutex
	cur     *instance[T]  // the live instance; nil while restarting
	ready   chan struct{} // closed once cur is set again
	lastErr error         // why the last start failed, if it did
	closed  bool
}

// instance is one run of the plugin process.
type instance[T any] struct {
	client  *plugin.Client
	runner  *procRunner
	conn    *grpc.ClientConn
	impl    T
	pid     int
	started time.Time

	retireOnce sync.Once
	retired    chan struct{} // closed when the host gave up on this run
	reason     string        // why; set before retired is closed
	gone       chan struct{} // closed when the supervisor dropped this run
}

// Start starts the plugin process cmd, whose plugin set holds p under the
// name string(cmd.Kind), and returns once its implementation of T has been
// dispensed. ctx bounds this first start only; the process then lives until
// Close. If the first start fails, Start returns the error and leaves
// nothing running.
//
// logger receives the plugin's logs and the restart notices; nil discards
// them.
func Start[T any](ctx context.Context, cmd Command, p plugin.Plugin, logger *slog.Logger) (*Process[T], error) {
	if logger == nil {
		logger = discardLogger()
	}
	life, stop := context.WithCancel(context.Background())
	pr := &Process[T]{
		cmd:     cmd,
		plugin:  p,
		logger:  logger.With("plugin_kind", string(cmd.Kind), "plugin_name", cmd.Name),
		backoff: defaultBackoff(),
		life:    life,
		stop:    stop,
		done:    make(chan struct{}),
		ready:   make(chan struct{}),
	}
	inst, err := pr.launch(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	pr.set(inst)
	register(pr)
	go pr.supervise(inst)
	return pr, nil
}

// Get returns the live implementation. While the process is being
// restarted, Get waits for it, until ctx ends; it then returns an error that
// wraps ErrUnavailable and ctx.Err(), and says why the last start failed.
// After Close, Get returns ErrClosed.
func (p *Process[T]) Get(ctx context.Context) (T, error) {
	var zero T
	for {
		p.mu.Lock()
		inst, ready, lastErr, closed := p.cur, p.ready, p.lastErr, p.closed
		p.mu.Unlock()
		if closed {
			return zero, fmt.Errorf("%s: %w", p.cmd, ErrClosed)
		}
		wait := ready
		if inst != nil {
			if !inst.ended() {
				return inst.impl, nil
			}
			wait = inst.gone
		}
		select {
		case <-wait:
		case <-p.life.Done():
		case <-ctx.Done():
			if lastErr != nil {
				return zero, fmt.Errorf("%s: %w: restarting, last start failed: %v: %w", p.cmd, ErrUnavailable, lastErr, ctx.Err())
			}
			return zero, fmt.Errorf("%s: %w: restarting: %w", p.cmd, ErrUnavailable, ctx.Err())
		}
	}
}

// Wrap returns err prefixed with the plugin's kind and name
// (`encoding plugin "json": ...`), for errors returned by calls on an
// implementation from Get. Wrap(nil) is nil.
//
// A call that was in flight when the process died fails with gRPC code
// Unavailable. Wrap makes such an error match ErrUnavailable and, if the
// connection to the process is indeed lost, retires the process so that the
// next Get waits for a fresh one instead of returning the dead one.
func (p *Process[T]) Wrap(err error) error {
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.Unavailable || errors.Is(err, ErrUnavailable) {
		p.mu.Lock()
		inst := p.cur
		p.mu.Unlock()
		if inst != nil && inst.connLost() {
			inst.retire("connection to the plugin lost: " + err.Error())
		}
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return fmt.Errorf("%s: %w", p.cmd, err)
}

// Close stops the supervisor and kills the process. It is idempotent and
// always returns nil. Implementations obtained from Get fail after Close.
func (p *Process[T]) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stop()
	<-p.done
	unregister(p)
	return nil
}

// Pid returns the pid of the current process, or 0 while there is none.
func (p *Process[T]) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.pid
}

// Command returns the command the process runs.
func (p *Process[T]) Command() Command { return p.cmd }

func (p *Process[T]) set(inst *instance[T]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = inst
	p.lastErr = nil
	close(p.ready)
}

// drop forgets inst, so that Get waits for its successor.
func (p *Process[T]) drop(inst *instance[T]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == inst {
		p.cur = nil
		p.ready = make(chan struct{})
	}
	close(inst.gone)
}

func (p *Process[T]) setErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = err
}

// supervise waits for inst to end, then restarts the process with backoff,
// and so on until Close.
func (p *Process[T]) supervise(inst *instance[T]) {
	defer close(p.done)
	for {
		select {
		case <-inst.runner.exited:
		case <-inst.retired:
		case <-p.life.Done():
			p.drop(inst)
			inst.client.Kill()
			return
		}
		p.drop(inst)
		inst.client.Kill() // returns once the process is reaped
		uptime := time.Since(inst.started)
		attrs := []any{"pid", inst.pid, "exit", inst.runner.exitReason(), "uptime", uptime.Round(time.Millisecond)}
		if inst.isRetired() {
			attrs = append(attrs, "retired", inst.reason)
		}
		p.logger.Warn("plugin process ended, restarting", attrs...)

		next := p.restart(uptime)
		if next == nil {
			return
		}
		inst = next
	}
}

// restart starts the process again, retrying with backoff, and returns the
// new instance, or nil if the Process was closed meanwhile.
func (p *Process[T]) restart(uptime time.Duration) *instance[T] {
	for {
		d := p.backoff.delay(uptime)
		t := time.NewTimer(d)
		select {
		case <-p.life.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		inst, err := p.launch(p.life)
		if err != nil {
			if p.life.Err() != nil {
				return nil
			}
			p.setErr(err)
			p.logger.Error("plugin restart failed", "error", err, "retry_in", p.backoff.next)
			uptime = 0
			continue
		}
		p.set(inst)
		p.logger.Info("plugin process restarted", "pid", inst.pid, "after", d)
		return inst
	}
}

// launch starts one run of the process. ctx and Close both abort it.
func (p *Process[T]) launch(ctx context.Context) (*instance[T], error) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	var (
		mu  sync.Mutex
		run *procRunner
	)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          plugin.PluginSet{string(cmd.Kind): p.plugin},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Managed:          true,
		GRPCDialOptions:  grpcDialOptions,
		Logger:           newHCLogAdapter(p.logger),
		RunnerFunc: func(l hclog.Logger, c *exec.Cmd, _ string) (runner.Runner, error) {
			r, err := newProcRunner(cmd, c.Env, l)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			run = r
			mu.Unlock()
			return r, nil
		},
	})

	type result struct {
		cp  plugin.ClientProtocol
		err error
	}
	res := make(chan result, 1)
	go func() {
		cp, err := client.Client()
		res <- result{cp, err}
	}()
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
	case <-p.life.Done():
	}
	if r.cp == nil && r.err == nil {
		// Aborted: kill the process so the handshake ends, then clean up.
		mu.Lock()
		if run != nil {
			_ = run.Kill(context.Background())
		}
		mu.Unlock()
		<-res
		client.Kill()
		err := ctx.Err()
		if err == nil {
			err = ErrClosed
		}
		return nil, fmt.Errorf("%s: start %s: %w", cmd, cmd.Path, err)
	}
	if r.err != nil {
		client.Kill()
		return nil, fmt.Errorf("%s: start %s: %w", cmd, cmd.Path, r.err)
	}

	raw, err := r.cp.Dispense(string(cmd.Kind))
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("%s: dispense: %w", cmd, err)
	}
	impl, ok := raw.(T)
	if !ok {
		client.Kill()
		var want T
		return nil, fmt.Errorf("%s: dispensed %T, want %T", cmd, raw, want)
	}
	inst := &instance[T]{
		client:  client,
		runner:  run,
		impl:    impl,
		pid:     run.pid,
		started: time.Now(),
		retired: make(chan struct{}),
		gone:    make(chan struct{}),
	}
	if gc, ok := r.cp.(*plugin.GRPCClient); ok {
		inst.conn = gc.Conn
	}
	return inst, nil
}

// ended reports whether this run is over or given up on.
func (i *instance[T]) ended() bool {
	select {
	case <-i.runner.exited:
		return true
	case <-i.retired:
		return true
	default:
		return i.client.Exited()
	}
}

// connLost reports whether the host has lost its connection to this run.
func (i *instance[T]) connLost() bool {
	if i.ended() {
		return true
	}
	if i.conn == nil {
		return false
	}
	switch i.conn.GetState() {
	case connectivity.Idle, connectivity.TransientFailure, connectivity.Shutdown:
		return true
	}
	return false
}

func (i *instance[T]) isRetired() bool {
	select {
	case <-i.retired:
		return true
	default:
		return false
	}
}

func (i *instance[T]) retire(reason string) {
	i.retireOnce.Do(func() {
		i.reason = reason
		close(i.retired)
	})
}
