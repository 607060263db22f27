package crashtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

// requestTimeout bounds every request a client makes: a request to a
// bridge that was just killed gets no reply, and must not hang. One client
// in eight is impatient, so that some requests also reach the bridge
// while it is gone or starting again.
const (
	requestTimeout   = 500 * time.Millisecond
	impatientTimeout = 20 * time.Millisecond
)

// ackedValue is one value a bridge acknowledged: it answered the append,
// so the value is durable at index of core.
type ackedValue struct {
	core  int
	index uint64
	value []byte
}

// ledger records every acknowledged value.
type ledger struct {
	mu      sync.Mutex
	cores   []map[uint64][]byte // per core, index → value
	pending []ackedValue        // acknowledged since the last take
	values  int
	bad     []string // acknowledgements that contradict each other
}

func newLedger(cores int) *ledger {
	l := &ledger{cores: make([]map[uint64][]byte, cores)}
	for i := range l.cores {
		l.cores[i] = map[uint64][]byte{}
	}
	return l
}

func (l *ledger) ack(core int, index uint64, value []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.cores[core][index]; ok {
		if !bytes.Equal(old, value) {
			l.bad = append(l.bad, fmt.Sprintf("core %d index %d acknowledged for %s and for %s", core, index, old, value))
		}
		return
	}
	l.cores[core][index] = value
	l.pending = append(l.pending, ackedValue{core, index, value})
	l.values++
}

// take returns the values acknowledged since the last take.
func (l *ledger) take() []ackedValue {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = nil
	return p
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.values
}

// contradictions fails the test for acknowledgements that cannot both be
// true: two values at one index.
func (l *ledger) contradictions(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		t.Error(b)
	}
}

// outcomes counts how requests ended.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
	// unexpected are answers a kill cannot explain: an error code other
	// than 503, or a reply that does not parse.
	unexpected []string
}

func (o *outcomes) add(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[kind]++
}

func (o *outcomes) bad(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.unexpected) < 20 {
		o.unexpected = append(o.unexpected, fmt.Sprintf(format, args...))
	}
}

func (o *outcomes) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var parts []string
	for k, v := range o.n {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// workload is many clients appending to a few json cores of one writer.
type workload struct {
	conns    []*natsgo.Conn
	keys     []string
	ledger   *ledger
	out      outcomes
	seed     uint64
	round    atomic.Int64 // written into each value
	inFlight atomic.Int64
	requests atomic.Int64
}

// start runs clients goroutines that append until stop is closed. Most
// requests carry one value; one in eight is an atomic batch of 2 to 8
// values, as a JSON array or as frames. The returned WaitGroup is done
// when every client has finished its last request.
func (w *workload) start(clients int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for c := range clients {
		nc := w.conns[c%len(w.conns)]
		rng := rand.New(rand.NewPCG(w.seed, uint64(w.round.Load())<<32|uint64(c)))
		wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				w.appendOnce(nc, rng, int(w.round.Load()), c, seq)
			}
		})
	}
	return &wg
}

func (w *workload) appendOnce(nc *natsgo.Conn, rng *rand.Rand, round, client, seq int) {
	core := rng.IntN(len(w.keys))
	n, framing := 1, ""
	if rng.IntN(8) == 0 {
		n = 2 + rng.IntN(7)
		framing = nats.BatchJSON
		if rng.IntN(2) == 0 {
			framing = nats.BatchFrames
		}
	}
	values := make([][]byte, n)
	for i := range values {
		// What JavaScript's JSON.stringify writes, so the json encoding
		// stores exactly these bytes.
		values[i] = fmt.Appendf(nil, `{"c":%d,"r":%d,"s":%d,"i":%d,"n":%d}`, client, round, seq, i, n)
	}
	m := natsgo.NewMsg("core." + w.keys[core] + ".append")
	switch framing {
	case "":
		m.Data = values[0]
	case nats.BatchJSON:
		m.Data = append(append([]byte("["), bytes.Join(values, []byte(","))...), ']')
		m.Header.Set(nats.HeaderBatch, framing)
	case nats.BatchFrames:
		m.Data = nats.AppendFrames(nil, values...)
		m.Header.Set(nats.HeaderBatch, framing)
	}
	w.inFlight.Add(1)
	w.requests.Add(1)
	timeout := requestTimeout
	if client%8 == 0 {
		timeout = impatientTimeout
	}
	reply, err := nc.RequestMsg(m, timeout)
	w.inFlight.Add(-1)
	switch {
	case errors.Is(err, natsgo.ErrTimeout):
		w.out.add("timed out")
		return
	case errors.Is(err, natsgo.ErrNoResponders):
		w.out.add("no responders")
		return
	case err != nil:
		w.out.add("connection error")
		return
	}
	if e := nats.ReplyError(reply); e != nil {
		if e.Code == nats.CodeUnavailable {
			w.out.add("503")
			return
		}
		w.out.add(strconv.Itoa(e.Code))
		w.out.bad("append to core %d: %d %s", core, e.Code, e.Message)
		return
	}
	var r struct {
		Length *uint64 `json:"length"`
		Fork   uint64  `json:"fork"`
	}
	if err := json.Unmarshal(reply.Data, &r); err != nil || r.Length == nil || *r.Length < uint64(n) || r.Fork != 0 {
		w.out.add("bad reply")
		w.out.bad("append to core %d: reply %q: %v", core, reply.Data, err)
		return
	}
	w.out.add("acknowledged")
	// Value i of a request of n landed at length - n + i.
	for i, v := range values {
		w.ledger.ack(core, *r.Length-uint64(n)+uint64(i), v)
	}
}

// request sends a request and fails the test on any error or error reply.
func request(t testing.TB, nc *natsgo.Conn, subj string, body []byte) *natsgo.Msg {
	t.Helper()
	reply, err := nc.Request(subj, body, 30*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subj, err)
	}
	if e := nats.ReplyError(reply); e != nil {
		t.Fatalf("%s: %v (code %d)", subj, e, e.Code)
	}
	return reply
}

// getCore opens a core on a bridge: by name (writable) or by key (to
// follow it).
func getCore(t testing.TB, nc *natsgo.Conn, store, body string) nats.Info {
	t.Helper()
	var info nats.Info
	if err := json.Unmarshal(request(t, nc, "store."+store+".get", []byte(body)).Data, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// list returns a bridge's cores by key.
func list(nc *natsgo.Conn, store string) (map[string]nats.Info, error) {
	reply, err := nc.Request("store."+store+".list", nil, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if e := nats.ReplyError(reply); e != nil {
		return nil, e
	}
	var infos []nats.Info
	if err := json.Unmarshal(reply.Data, &infos); err != nil {
		return nil, err
	}
	out := map[string]nats.Info{}
	for _, i := range infos {
		out[i.Key] = i
	}
	return out, nil
}

// checkAcked reads every value in acked back over NATS (block requests
// that wait, since a reader in the queue group may still be catching up)
// and fails the test for each that is missing or different.
func checkAcked(t testing.TB, nc *natsgo.Conn, keys []string, acked []ackedValue) {
	t.Helper()
	work := make(chan ackedValue)
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for a := range work {
				err := checkBlock(nc, keys[a.core], a.index, a.value)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("core %d: %v", a.core, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, a := range acked {
		work <- a
	}
	close(work)
	wg.Wait()
	for i, e := range errs {
		if i == 20 {
			t.Errorf("... and %d more", len(errs)-i)
			break
		}
		t.Error(e)
	}
}

func checkBlock(nc *natsgo.Conn, key string, index uint64, want []byte) error {
	body := fmt.Sprintf(`{"index":%d,"wait":true,"timeout":"20s"}`, index)
	var last error
	for range 3 { // a reply lost to a reconnect is asked again
		reply, err := nc.Request("core."+key+".block", []byte(body), 25*time.Second)
		if err != nil {
			last = err
			continue
		}
		if e := nats.ReplyError(reply); e != nil {
			return fmt.Errorf("acknowledged block %d: %d %s", index, e.Code, e.Message)
		}
		if got := reply.Header.Get(nats.HeaderIndex); got != strconv.FormatUint(index, 10) {
			return fmt.Errorf("acknowledged block %d: reply says index %s", index, got)
		}
		if !bytes.Equal(reply.Data, want) {
			return fmt.Errorf("acknowledged block %d is %s, want %s", index, reply.Data, want)
		}
		return nil
	}
	return fmt.Errorf("acknowledged block %d: %w", index, last)
}

// sameInfo reports how two bridges' views of a core differ, or nil.
func sameInfo(w, r nats.Info) error {
	if w.Length != r.Length || w.Fork != r.Fork || w.TreeHash != r.TreeHash || w.Signature != r.Signature {
		return fmt.Errorf("core %.8s: writer length %d fork %d tree %.16s, reader length %d fork %d tree %.16s",
			w.Key, w.Length, w.Fork, w.TreeHash, r.Length, r.Fork, r.TreeHash)
	}
	return nil
}

// waitConverged waits until the reader holds every core in the writer's
// state: same length, fork, tree hash and signature.
func waitConverged(t testing.TB, nc *natsgo.Conn, writer, reader string, keys []string, timeout time.Duration) map[string]nats.Info {
	t.Helper()
	var ws map[string]nats.Info
	waitFor(t, timeout, "the reader to converge on the writer's cores", func() error {
		var err error
		if ws, err = list(nc, writer); err != nil {
			return fmt.Errorf("list %s: %w", writer, err)
		}
		rs, err := list(nc, reader)
		if err != nil {
			return fmt.Errorf("list %s: %w", reader, err)
		}
		for _, k := range keys {
			w, ok := ws[k]
			if !ok {
				return fmt.Errorf("writer does not list core %s", k)
			}
			r, ok := rs[k]
			if !ok {
				return fmt.Errorf("reader does not list core %s", k)
			}
			if err := sameInfo(w, r); err != nil {
				return err
			}
		}
		return nil
	})
	return ws
}

// events records the core.<key>.appended events a subscriber receives.
type events struct {
	mu     sync.Mutex
	keys   map[string]int // core key → core number
	values []ackedValue   // what each event said was at its index
	bad    []string
}

// subscribeEvents subscribes to every core's appended events on nc.
func subscribeEvents(t testing.TB, nc *natsgo.Conn, keys []string) *events {
	t.Helper()
	e := &events{keys: map[string]int{}}
	for i, k := range keys {
		e.keys[k] = i
	}
	sub, err := nc.Subscribe("core.*.appended", func(m *natsgo.Msg) {
		e.mu.Lock()
		defer e.mu.Unlock()
		key := strings.TrimSuffix(strings.TrimPrefix(m.Subject, "core."), ".appended")
		core, ok := e.keys[key]
		index, err := strconv.ParseUint(m.Header.Get(nats.HeaderIndex), 10, 64)
		if !ok || err != nil {
			e.bad = append(e.bad, fmt.Sprintf("event on %s with index %q", m.Subject, m.Header.Get(nats.HeaderIndex)))
			return
		}
		e.values = append(e.values, ackedValue{core, index, bytes.Clone(m.Data)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return e
}
