package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/encodings"
)

// Faults under a running bridge: plugin processes killed under load, the
// NATS server restarted under the bridge, a bridge stopped while NATS is
// unreachable, a bridge restarted while clients ask it. The crash tests
// with SIGKILL of whole bridge processes are in ../crashtest.

// eventually calls f until it returns nil, polling, for at most timeout,
// and fails the test with f's last error otherwise.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// TestShutdownWithNATSUnreachable stops a bridge whose NATS is gone: the
// stop is clean (nothing is lost, there is nothing to drain) and quick.
func TestShutdownWithNATSUnreachable(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	b := startBridge(t, externalConfig(t, srv, "orphan"))
	nc := client(t, b)
	w := getInfo(t, nc, "orphan", `{"name":"c","valueEncoding":"json"}`)
	appendN(t, nc, w.Key, 0, 3)

	srv.Shutdown()
	srv.WaitForShutdown()
	eventually(t, 10*time.Second, "the bridge to notice NATS is gone", func() error {
		if !b.Conn.NATS().IsReconnecting() {
			return fmt.Errorf("connection status %v", b.Conn.NATS().Status())
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with NATS unreachable: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
}

// TestRestartAnswersOnlyWhenServing restarts a bridge with stored cores
// while a client keeps asking it for its list: every list it answers
// holds every stored core, and each of those cores answers info at once.
func TestRestartAnswersOnlyWhenServing(t *testing.T) {
	const cores = 8
	srv := runServer(t, &server.Options{JetStream: true})
	cfg := externalConfig(t, srv, "again")
	b := startBridge(t, cfg)
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var keys []string
	for i := range cores {
		enc := []string{"json", "binary", "msgpack"}[i%3]
		keys = append(keys, getInfo(t, nc, "again", fmt.Sprintf(`{"name":"c%d","valueEncoding":%q}`, i, enc)).Key)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		answered int
		bad      []string
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			reply, err := nc.Request("store.again.list", nil, 5*time.Second)
			if errors.Is(err, natsgo.ErrNoResponders) {
				continue // not up yet
			}
			if err != nil {
				bad = append(bad, fmt.Sprintf("list: %v", err))
				return
			}
			var infos []Info
			if err := json.Unmarshal(reply.Data, &infos); err != nil {
				bad = append(bad, fmt.Sprintf("list reply %q: %v", reply.Data, err))
				return
			}
			answered++
			if len(infos) != cores {
				bad = append(bad, fmt.Sprintf("a list answered during the restart holds %d of %d cores", len(infos), cores))
				return
			}
			for _, k := range keys {
				if _, err := nc.Request("core."+k+".info", nil, 5*time.Second); err != nil {
					bad = append(bad, fmt.Sprintf("core %s is listed but its info: %v", k, err))
					return
				}
			}
		}
	})
	startBridge(t, cfg)
	// One answer after the restart at least.
	eventually(t, 10*time.Second, "a list answer", func() error {
		reply, err := nc.Request("store.again.list", nil, 5*time.Second)
		if err != nil {
			return err
		}
		var infos []Info
		return json.Unmarshal(reply.Data, &infos)
	})
	close(stop)
	wg.Wait()
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("%d lists answered while the bridge started", answered)
}

// appendLoad is clients appending to json cores until stopped, recording
// every acknowledged value at its acknowledged index and how every request
// ended.
type appendLoad struct {
	keys    []string
	timeout time.Duration // each request's deadline

	mu       sync.Mutex
	acked    []map[uint64][]byte // per core, index → value
	values   int
	outcomes map[string]int
	bad      []string
	progress chan struct{} // signalled on every acknowledgement

	stop chan struct{}
	wg   sync.WaitGroup
}

// startLoad starts clients goroutines, each on its own connection to url,
// appending single values and, one request in eight, a framed batch of 2
// to 5 values.
func startLoad(t *testing.T, url string, keys []string, clients int, timeout time.Duration) *appendLoad {
	t.Helper()
	l := &appendLoad{
		keys: keys, timeout: timeout, acked: make([]map[uint64][]byte, len(keys)),
		outcomes: map[string]int{}, progress: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	for i := range l.acked {
		l.acked[i] = map[uint64][]byte{}
	}
	for c := range clients {
		nc, err := natsgo.Connect(url, natsgo.MaxReconnects(-1), natsgo.ReconnectWait(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		l.wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-l.stop:
					return
				default:
				}
				l.appendOnce(nc, c, seq)
			}
		})
	}
	t.Cleanup(l.halt)
	return l
}

func (l *appendLoad) appendOnce(nc *natsgo.Conn, client, seq int) {
	ci := (client + seq) % len(l.keys)
	n := 1
	if seq%8 == 7 {
		n = 2 + seq%4
	}
	values := make([][]byte, n)
	for i := range values {
		values[i] = fmt.Appendf(nil, `{"c":%d,"s":%d,"i":%d}`, client, seq, i)
	}
	m := natsgo.NewMsg("core." + l.keys[ci] + ".append")
	m.Data = values[0]
	if n > 1 {
		m.Data = AppendFrames(nil, values...)
		m.Header.Set(HeaderBatch, BatchFrames)
	}
	reply, err := nc.RequestMsg(m, l.timeout)
	var r appendReply
	switch {
	case errors.Is(err, natsgo.ErrTimeout):
		l.record("timeout", "")
	case errors.Is(err, natsgo.ErrNoResponders):
		l.record("no responders", "")
	case err != nil:
		l.record("connection error", err.Error())
	case ReplyError(reply) != nil:
		e := ReplyError(reply)
		l.record(fmt.Sprint(e.Code), e.Message)
	case json.Unmarshal(reply.Data, &r) != nil || r.Length < uint64(n):
		l.record("bad reply", string(reply.Data))
	default:
		l.mu.Lock()
		for i, v := range values {
			index := r.Length - uint64(n) + uint64(i)
			if old, ok := l.acked[ci][index]; ok && string(old) != string(v) {
				l.bad = append(l.bad, fmt.Sprintf("core %d index %d acknowledged for %s and %s", ci, index, old, v))
			}
			l.acked[ci][index] = v
			l.values++
		}
		l.outcomes["acknowledged"]++
		l.mu.Unlock()
		select {
		case l.progress <- struct{}{}:
		default:
		}
	}
}

func (l *appendLoad) record(outcome, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes[outcome]++
	if detail != "" && len(l.bad) < 10 && outcome != "503" && outcome != "connection error" {
		l.bad = append(l.bad, outcome+": "+detail)
	}
}

func (l *appendLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.values
}

// waitMore waits until n more values than now are acknowledged.
func (l *appendLoad) waitMore(t *testing.T, n int, what string) {
	t.Helper()
	want := l.count() + n
	deadline := time.After(60 * time.Second)
	for l.count() < want {
		select {
		case <-l.progress:
		case <-deadline:
			t.Fatalf("%s: %d values acknowledged, want %d (outcomes %v)", what, l.count(), want, l.report())
		}
	}
}

func (l *appendLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// finish stops the clients, bounded by their request deadline, and fails
// the test for any outcome not in allowed.
func (l *appendLoad) finish(t *testing.T, allowed ...string) {
	t.Helper()
	done := make(chan struct{})
	go func() { l.halt(); close(done) }()
	select {
	case <-done:
	case <-time.After(l.timeout + 10*time.Second):
		t.Fatalf("clients still wait for replies %s after being stopped", l.timeout+10*time.Second)
	}
	ok := map[string]bool{"acknowledged": true}
	for _, a := range allowed {
		ok[a] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for outcome, n := range l.outcomes {
		if !ok[outcome] {
			t.Errorf("%d requests ended %q", n, outcome)
		}
	}
	for _, b := range l.bad {
		t.Error(b)
	}
}

func (l *appendLoad) report() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.outcomes)
}

// checkAcked fails the test for every acknowledged value that c does not
// hold at its index, checks that c's blocks hash to the tree its signature
// covers, and returns how many values it checked.
func (l *appendLoad) checkAcked(t *testing.T, ci int, c *core.Core) int {
	t.Helper()
	ctx := t.Context()
	info := c.Info()
	blocks, err := c.Blocks(ctx, 0, info.Length)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(blocks)) != info.Length {
		t.Fatalf("core %d: %d blocks for length %d", ci, len(blocks), info.Length)
	}
	var roots []core.Node
	for i, b := range blocks {
		roots = append(roots, core.LeafNode(uint64(i), b.Value))
		for len(roots) > 1 && roots[len(roots)-2].Index == core.Sibling(roots[len(roots)-1].Index) {
			roots = append(roots[:len(roots)-2], core.ParentNode(roots[len(roots)-2], roots[len(roots)-1]))
		}
	}
	if core.TreeHash(roots) != info.TreeHash {
		t.Errorf("core %d: blocks hash to another tree than the core's", ci)
	}
	if info.Length > 0 {
		if err := c.VerifyState(ctx, info.Fork, info.Length, info.Signature); err != nil {
			t.Errorf("core %d: signature at length %d: %v", ci, info.Length, err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := 0
	for index, want := range l.acked[ci] {
		if index >= info.Length || string(blocks[index].Value) != string(want) {
			lost++
			if lost <= 10 {
				got := "nothing"
				if index < info.Length {
					got = string(blocks[index].Value)
				}
				t.Errorf("core %d: acknowledged %s at %d, holds %s", ci, want, index, got)
			}
		}
	}
	if lost > 0 {
		t.Errorf("core %d: %d of %d acknowledged values lost", ci, lost, len(l.acked[ci]))
	}
	return len(l.acked[ci])
}

// jsonCores makes n json cores on a bridge's store.
func jsonCores(t *testing.T, nc *natsgo.Conn, store string, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = getInfo(t, nc, store, fmt.Sprintf(`{"name":"fault-%d","valueEncoding":"json"}`, i)).Key
	}
	return keys
}

// TestStoragePluginKilledUnderLoad kills the bolt plugin process of a
// running bridge three times while 16 clients append. Requests in flight
// end with success or 503 before their deadline, the plugin comes back as
// a new process, appends go on, nothing acknowledged is lost, and after a
// restart of the whole bridge on the same data_dir every core still opens
// and verifies.
func TestStoragePluginKilledUnderLoad(t *testing.T) {
	cfg := testConfig(t)
	b := startBridge(t, cfg)
	nc := client(t, b)
	keys := jsonCores(t, nc, "test", 4)
	load := startLoad(t, b.Conn.ClientURL(), keys, 16, 20*time.Second)
	load.waitMore(t, 300, "appends before the first kill")
	for kill := range 3 {
		pid := b.backend.Pid()
		if pid == 0 {
			t.Fatal("the storage backend has no plugin process")
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill storage plugin %d: %v", pid, err)
		}
		eventually(t, 30*time.Second, "a new storage plugin process", func() error {
			if p := b.backend.Pid(); p == 0 || p == pid {
				return fmt.Errorf("pid %d, killed %d", p, pid)
			}
			return nil
		})
		load.waitMore(t, 300, fmt.Sprintf("appends after kill %d", kill))
	}
	load.finish(t, "503")
	checked := 0
	for i, k := range keys {
		checked += load.checkAcked(t, i, localCore(t, b, k))
	}
	t.Logf("3 storage plugin kills under load: %v; %d acknowledged values checked", load.report(), checked)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	again := startBridge(t, cfg)
	for i, k := range keys {
		load.checkAcked(t, i, localCore(t, again, k))
	}
}

// TestEncodingPluginKilledUnderLoad kills the json encoding plugin process
// of a running bridge three times while 16 clients append and 4 read back
// what was acknowledged. Appends end with success or 503 before their
// deadline, reads give the acknowledged bytes or 503, the plugin comes
// back, appends go on and nothing acknowledged is lost.
func TestEncodingPluginKilledUnderLoad(t *testing.T) {
	b := startBridge(t, testConfig(t))
	nc := client(t, b)
	keys := jsonCores(t, nc, "test", 4)
	jsonPid := func() int {
		b.encs.mu.Lock()
		defer b.encs.mu.Unlock()
		return encodings.Pid(b.encs.open["json"])
	}
	load := startLoad(t, b.Conn.ClientURL(), keys, 16, 20*time.Second)

	// Readers: block requests for values acknowledged so far.
	stopReads := make(chan struct{})
	var (
		reads    sync.WaitGroup
		readMu   sync.Mutex
		readOK   int
		read503  int
		readBad  []string
		readDone = func() { close(stopReads); reads.Wait() }
	)
	for r := range 4 {
		reads.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopReads:
					return
				default:
				}
				ci := (r + i) % len(keys)
				load.mu.Lock()
				var index uint64
				var want []byte
				for index, want = range load.acked[ci] {
					break
				}
				load.mu.Unlock()
				if want == nil {
					runtime.Gosched()
					continue
				}
				reply, err := nc.Request("core."+keys[ci]+".block", []byte(strconv.FormatUint(index, 10)), 20*time.Second)
				readMu.Lock()
				switch {
				case err != nil:
					readBad = append(readBad, fmt.Sprintf("block %d: %v", index, err))
				case ReplyError(reply) != nil && ReplyError(reply).Code == CodeUnavailable:
					read503++
				case ReplyError(reply) != nil:
					readBad = append(readBad, fmt.Sprintf("block %d: %v", index, ReplyError(reply)))
				case string(reply.Data) != string(want):
					readBad = append(readBad, fmt.Sprintf("block %d is %s, acknowledged %s", index, reply.Data, want))
				default:
					readOK++
				}
				readMu.Unlock()
			}
		})
	}
	defer func() {
		select {
		case <-stopReads:
		default:
			readDone()
		}
	}()

	load.waitMore(t, 300, "appends before the first kill")
	for kill := range 3 {
		pid := jsonPid()
		if pid == 0 {
			t.Fatal("the json encoding has no plugin process")
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill json plugin %d: %v", pid, err)
		}
		eventually(t, 30*time.Second, "a new json plugin process", func() error {
			if p := jsonPid(); p == 0 || p == pid {
				return fmt.Errorf("pid %d, killed %d", p, pid)
			}
			return nil
		})
		load.waitMore(t, 300, fmt.Sprintf("appends after kill %d", kill))
	}
	load.finish(t, "503")
	readDone()
	for _, r := range readBad[:min(len(readBad), 10)] {
		t.Error(r)
	}
	checked := 0
	for i, k := range keys {
		checked += load.checkAcked(t, i, localCore(t, b, k))
	}
	t.Logf("3 json plugin kills under load: appends %v; reads %d right, %d 503; %d acknowledged values checked", load.report(), readOK, read503, checked)
}

// restartableServer is an existing NATS with JetStream that the test stops
// and starts again on the same port and store directory, as an operator
// restarting nats-server does.
type restartableServer struct {
	t    *testing.T
	port int
	dir  string
	srv  *server.Server
}

func newRestartableServer(t *testing.T) *restartableServer {
	s := &restartableServer{t: t, port: freePort(t), dir: t.TempDir()}
	s.start()
	t.Cleanup(func() {
		if s.srv != nil {
			s.stop()
		}
	})
	return s
}

func (s *restartableServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

func (s *restartableServer) start() {
	s.t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: s.port, NoSigs: true, JetStream: true, StoreDir: s.dir}
	srv, err := StartServer(s.t.Context(), opts, testLogger(s.t).With("component", "external-nats"), 10*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv = srv
}

func (s *restartableServer) stop() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// TestNATSRestartUnderBridges restarts the existing NATS that a writer and
// a reader bridge use, twice, while 16 clients append. The bridges
// reconnect by themselves, appends resume, JetStream publishing resumes,
// nothing acknowledged is lost, the reader ends with the writer's exact
// trees and blocks, and the stream holds no block twice.
func TestNATSRestartUnderBridges(t *testing.T) {
	ns := newRestartableServer(t)
	wcfg, rcfg := testConfig(t), testConfig(t)
	wcfg.Name, wcfg.NATS.URL = "w", ns.url()
	rcfg.Name, rcfg.NATS.URL = "r", ns.url()
	writer := startBridge(t, wcfg)
	reader := startBridge(t, rcfg)
	nc, err := natsgo.Connect(ns.url(), natsgo.MaxReconnects(-1), natsgo.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	keys := jsonCores(t, nc, "w", 4)
	for _, k := range keys {
		getInfo(t, nc, "r", fmt.Sprintf(`{"key":%q}`, k))
	}
	load := startLoad(t, ns.url(), keys, 16, 5*time.Second)
	load.waitMore(t, 300, "appends before the first restart")
	for restart := range 2 {
		ns.stop()
		eventually(t, 10*time.Second, "the bridges to see NATS gone", func() error {
			for _, b := range []*Bridge{writer, reader} {
				if b.Conn.NATS().IsConnected() {
					return errors.New("still connected")
				}
			}
			return nil
		})
		ns.start()
		eventually(t, 30*time.Second, "the bridges to reconnect", func() error {
			for _, b := range []*Bridge{writer, reader} {
				if !b.Conn.NATS().IsConnected() {
					return fmt.Errorf("status %v", b.Conn.NATS().Status())
				}
			}
			return nil
		})
		load.waitMore(t, 300, fmt.Sprintf("appends after restart %d", restart))
	}
	// Requests in flight when the server went away get no reply (they end
	// at their deadline) or no responders before the bridge subscribed
	// again.
	load.finish(t, "timeout", "no responders", "connection error")

	checked := 0
	for i, k := range keys {
		wc, rc := localCore(t, writer, k), localCore(t, reader, k)
		checked += load.checkAcked(t, i, wc)
		eventually(t, time.Minute, "the reader to converge", func() error {
			if wi, ri := wc.Info(), rc.Info(); wi.Length != ri.Length || wi.TreeHash != ri.TreeHash {
				return fmt.Errorf("core %d: writer %d blocks, reader %d", i, wi.Length, ri.Length)
			}
			return nil
		})
		sameState(t, wc, rc)
		load.checkAcked(t, i, rc)
	}
	if s := reader.Replication.Stats(); s.Rejected != 0 {
		t.Errorf("the reader rejected messages: %+v", s)
	}
	published := noBlockTwice(t, nc, keys)
	t.Logf("2 NATS restarts under load: %v; %d acknowledged values checked at the writer and the reader; %d stream messages, reader stats %+v",
		load.report(), checked, published, reader.Replication.Stats())
}

// noBlockTwice reads every replication message of the cores in keys from
// the stream and fails the test if two of them carry the same block of one
// fork: each message must start where the one before ended. It returns how
// many messages it read.
func noBlockTwice(t *testing.T, nc *natsgo.Conn, keys []string) int {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, hex := range keys {
		key, err := core.ParseKey(hex)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := js.OrderedConsumer(t.Context(), DefaultStream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{Subjects{}.Replication(core.DiscoveryKey(key))},
		})
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cipher := newReplCipher(key)
		var fork, end uint64
		for n := uint64(0); n < info.NumPending; n++ {
			m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
			if err != nil {
				t.Fatal(err)
			}
			msg, err := cipher.open(m.Data())
			if err != nil {
				t.Fatalf("core %.8s: stream message %d: %v", hex, n, err)
			}
			if msg.Fork == fork && msg.Start != end {
				t.Errorf("core %.8s: stream message %d holds blocks %d to %d, the one before ended at %d", hex, n, msg.Start, msg.end(), end)
			}
			fork, end = msg.Fork, msg.end()
			total++
		}
	}
	return total
}
