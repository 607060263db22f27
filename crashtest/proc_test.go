package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// binDir holds the bridge binary the tests build; TestMain makes and
// removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "corebridge-crashtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// bridgeBinary builds ./cmd/bridge once (without -race: the bridge is the
// system under test, the test process is what -race checks) and returns
// its path.
func bridgeBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			buildErr = errors.New("go env GOMOD: not inside the corebridge module")
			return
		}
		path := filepath.Join(binDir, "bridge")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/bridge")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/bridge: %w\n%s", err, out)
			return
		}
		buildPath = path
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// freePort returns a port on 127.0.0.1 that nothing listens on now. A
// writer keeps its port across restarts, so that clients and readers
// reconnect to it.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor calls f until it returns nil, at most for timeout, polling every
// few milliseconds, and fails the test with f's last error otherwise.
func waitFor(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poll calls f until it returns nil or timeout passes; then it returns f's
// last error.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %w", timeout, err)
		}
		<-tick.C
	}
}

// bridgeProc is one bridge process, started again on the same
// configuration and data directory after each kill. Its log (stdout and
// stderr of every run) goes to one file, printed when the test fails.
type bridgeProc struct {
	t       *testing.T
	bin     string
	name    string // the store name: store.<name>.*
	dir     string // working directory: config, log, data
	dataDir string
	url     string // the NATS its clients use
	logPath string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the current run has been waited for
	runs   int
}

// bridgeOptions describe a bridge: a writer with an embedded NATS on port,
// or a bridge that connects to url.
type bridgeOptions struct {
	name string
	port int    // embedded server on 127.0.0.1:port
	url  string // or an existing NATS
}

func newBridge(t *testing.T, o bridgeOptions) *bridgeProc {
	t.Helper()
	dir := t.TempDir()
	p := &bridgeProc{
		t: t, bin: bridgeBinary(t), name: o.name, dir: dir,
		dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "bridge.log"),
	}
	nats := fmt.Sprintf("nats {\n  url = %q\n}\n", o.url)
	p.url = o.url
	if o.url == "" {
		nats = fmt.Sprintf("nats {\n  listen = \"127.0.0.1:%d\"\n}\n", o.port)
		p.url = fmt.Sprintf("nats://127.0.0.1:%d", o.port)
	}
	cfg := fmt.Sprintf("name = %q\ndata_dir = %q\nlog_level = \"info\"\n%s", o.name, p.dataDir, nats)
	if err := os.WriteFile(filepath.Join(dir, "bridge.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.running() {
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

// start runs the bridge and waits until it answers store.<name>.list.
func (p *bridgeProc) start() {
	p.t.Helper()
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.runs++
	fmt.Fprintf(log, "=== run %d at %s\n", p.runs, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, "serve", "-config", filepath.Join(p.dir, "bridge.hcl"))
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = log, log
	// A test process that dies (a -timeout panic skips cleanups) takes
	// its bridges with it, and they their plugins.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		log.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	waitFor(p.t, 60*time.Second, fmt.Sprintf("bridge %s run %d to answer", p.name, p.runs), func() error {
		select {
		case <-exited:
			p.t.Fatalf("bridge %s run %d exited at start: %v", p.name, p.runs, cmd.ProcessState)
		default:
		}
		nc, err := natsgo.Connect(p.url, natsgo.Timeout(time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		_, err = nc.Request("store."+p.name+".list", nil, time.Second)
		return err
	})
}

func (p *bridgeProc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *bridgeProc) pid() int { return p.cmd.Process.Pid }

// kill sends SIGKILL and waits for the process. It returns the pids of
// the plugin processes the bridge had just before, so the caller can
// check they die with it.
func (p *bridgeProc) kill() (plugins []int) {
	p.t.Helper()
	plugins = pluginChildren(p.t, p.bin, p.pid())
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill bridge %s: %v", p.name, err)
	}
	<-p.exited
	return plugins
}

// stop sends SIGTERM and waits for a clean exit.
func (p *bridgeProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("stop bridge %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("bridge %s did not exit within 60s of SIGTERM", p.name)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("bridge %s exited with %v after SIGTERM, want 0", p.name, p.cmd.ProcessState)
	}
}

func (p *bridgeProc) dumpLog() {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	p.t.Logf("last lines of bridge %s's log %s:\n%s", p.name, p.logPath, strings.Join(lines, "\n"))
}

// process is what /proc says about one process.
type process struct {
	pid, ppid int
	state     byte // R, S, D, Z, ...
	cmdline   []string
}

// processes lists the processes whose command line runs bin.
func processes(bin string) ([]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.HasPrefix(raw, []byte(bin+"\x00")) {
			continue // gone meanwhile, or not ours
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		f := strings.Fields(string(rest))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		out = append(out, process{pid: pid, ppid: ppid, state: f[0][0], cmdline: args})
	}
	return out, nil
}

// isPlugin reports whether a process is `bridge plugin serve ...`.
func (p process) isPlugin() bool {
	return len(p.cmdline) >= 3 && p.cmdline[1] == "plugin" && p.cmdline[2] == "serve"
}

// alive reports whether the process still runs (a zombie has ended).
func (p process) alive() bool { return p.state != 'Z' && p.state != 'X' }

// pluginChildren returns the pids of the plugin processes of the bridge
// with pid parent.
func pluginChildren(t testing.TB, bin string, parent int) []int {
	t.Helper()
	ps, err := processes(bin)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range ps {
		if p.isPlugin() && p.ppid == parent && p.alive() {
			out = append(out, p.pid)
		}
	}
	return out
}

// waitPluginsGone waits until none of the plugin processes in pids runs
// any more and no plugin process of bin is left without a live bridge as
// its parent, and fails the test with what is still running otherwise.
func waitPluginsGone(t testing.TB, bin string, pids []int, live ...*bridgeProc) {
	t.Helper()
	want := map[int]bool{}
	for _, pid := range pids {
		want[pid] = true
	}
	parents := map[int]bool{}
	for _, b := range live {
		if b.running() {
			parents[b.pid()] = true
		}
	}
	waitFor(t, 10*time.Second, "plugin processes of the killed bridge to end", func() error {
		ps, err := processes(bin)
		if err != nil {
			return err
		}
		var left []string
		for _, p := range ps {
			if !p.isPlugin() || !p.alive() {
				continue
			}
			if want[p.pid] || !parents[p.ppid] {
				left = append(left, fmt.Sprintf("pid %d (parent %d, state %c): %s", p.pid, p.ppid, p.state, strings.Join(p.cmdline, " ")))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("still running: %s", strings.Join(left, "; "))
		}
		return nil
	})
}

// natsClient connects to url and reconnects forever, quickly: the bridges
// behind it come and go.
func natsClient(t testing.TB, url string) *natsgo.Conn {
	t.Helper()
	nc, err := natsgo.Connect(url,
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(20*time.Millisecond),
		natsgo.ReconnectJitter(10*time.Millisecond, 10*time.Millisecond),
		natsgo.Timeout(2*time.Second),
		natsgo.NoCallbacksAfterClientClose(),
		// Broken pipes are what a killed bridge leaves; the requests on
		// them time out and are counted.
		natsgo.ErrorHandler(func(*natsgo.Conn, *natsgo.Subscription, error) {}),
	)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// withTimeout is a context for one test step.
func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
