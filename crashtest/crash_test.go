package crashtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

// Knobs, from the environment so that CI and people can run longer.
const (
	envRounds = "CRASHTEST_ROUNDS" // writer kills in TestCrashWriter (default 10)
	envSeed   = "CRASHTEST_SEED"   // the seed of every random choice (default: the clock)
)

const (
	clients     = 64 // appending goroutines
	connections = 8  // NATS connections they share
	crashCores  = 4  // json cores they append to
	minPerRound = 200
	// maxKillDelay bounds the random moment of a kill, counted from when
	// the round's clients have had minPerRound values acknowledged.
	maxKillDelay = 800 * time.Millisecond
)

func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func testSeed(t testing.TB) uint64 {
	t.Helper()
	if v := os.Getenv(envSeed); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", envSeed, v)
		}
		return s
	}
	return uint64(time.Now().UnixNano())
}

// TestCrashWriter runs a writer bridge as a process with 64 clients
// appending to four json cores, single values and atomic batches (JSON
// arrays and frames), and kills it with SIGKILL at a random moment of each
// round, with appends in flight. The clients go on appending while the
// bridge is gone and while it starts again. After each kill no plugin
// process of the writer may be left; after each restart the same names
// give the same keys and every value acknowledged so far is read back at
// its acknowledged index. A reader bridge, a second process connected to
// the writer's embedded NATS, follows the cores through every crash and
// must end with the writer's exact trees. Finally both are stopped and
// their bolt files opened directly: every acknowledged value is there,
// every core's blocks hash to the tree its stored signature covers, and
// the reader's copy is block for block the writer's; every request, acknowledged
// or not, is stored whole or not at all, each client's in the order sent;
// and every appended event a subscriber received names a stored block.
func TestCrashWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs bridge processes for a minute or more")
	}
	rounds := envInt(t, envRounds, 10)
	seed := testSeed(t)
	t.Logf("seed %d, %d rounds: repeat with %s=%d %s=%d", seed, rounds, envSeed, seed, envRounds, rounds)
	rng := rand.New(rand.NewPCG(seed, 0))
	bin := bridgeBinary(t)

	w := newBridge(t, bridgeOptions{name: "w", port: freePort(t)})
	w.start()
	r := newBridge(t, bridgeOptions{name: "r", url: w.url})
	r.start()
	ctl := natsClient(t, w.url)
	keys := make([]string, crashCores)
	for i := range keys {
		keys[i] = getCore(t, ctl, "w", fmt.Sprintf(`{"name":"crash-%d","valueEncoding":"json"}`, i)).Key
		if info := getCore(t, ctl, "r", fmt.Sprintf(`{"key":%q}`, keys[i])); info.Writable {
			t.Fatalf("the reader holds core %d writable", i)
		}
	}
	ev := subscribeEvents(t, natsClient(t, w.url), keys)
	wl := &workload{ledger: newLedger(crashCores), keys: keys, seed: seed}
	for range connections {
		wl.conns = append(wl.conns, natsClient(t, w.url))
	}

	// The clients append through each kill and restart, so requests meet
	// a bridge that works, one that is gone and one that is starting; they
	// pause while what they had acknowledged is read back.
	var (
		stop    chan struct{}
		running *sync.WaitGroup
	)
	resume := func() {
		stop = make(chan struct{})
		running = wl.start(clients, stop)
	}
	pause := func() {
		if stop != nil {
			close(stop)
			running.Wait()
			stop = nil
		}
	}
	resume()
	defer pause()
	checkedLive, inFlightAtKills := 0, 0
	for round := range rounds {
		if round > 0 {
			w.start()
			pause()
			for i, k := range keys {
				if got := getCore(t, ctl, "w", fmt.Sprintf(`{"name":"crash-%d","valueEncoding":"json"}`, i)).Key; got != k {
					t.Fatalf("round %d: core crash-%d has key %s after the restart, was %s", round, i, got, k)
				}
			}
			acked := wl.ledger.take()
			checkAcked(t, ctl, keys, acked)
			checkedLive += len(acked)
			if t.Failed() {
				t.Fatalf("round %d: values acknowledged before the kill are lost", round)
			}
			wl.round.Store(int64(round))
			resume()
		}
		before := wl.ledger.count()
		waitFor(t, 30*time.Second, "appends to be acknowledged", func() error {
			if n := wl.ledger.count() - before; n < minPerRound {
				return fmt.Errorf("%d values acknowledged this round", n)
			}
			return nil
		})
		// The fault: SIGKILL at a random moment while clients append.
		delay := time.Duration(rng.Int64N(int64(maxKillDelay)))
		<-time.After(delay)
		inFlight := wl.inFlight.Load()
		plugins := w.kill()
		if len(plugins) == 0 {
			t.Fatalf("round %d: the writer had no plugin processes to check", round)
		}
		waitPluginsGone(t, bin, plugins, r)
		inFlightAtKills += int(inFlight)
		t.Logf("round %d: SIGKILL %v after %d acknowledged values, %d requests in flight; %d plugin processes died with it",
			round, delay.Round(time.Millisecond), wl.ledger.count()-before, inFlight, len(plugins))
	}

	w.start()
	before := wl.ledger.count()
	waitFor(t, 30*time.Second, "appends to resume after the last restart", func() error {
		if n := wl.ledger.count() - before; n < minPerRound {
			return fmt.Errorf("%d values acknowledged since the restart", n)
		}
		return nil
	})
	pause()
	acked := wl.ledger.take()
	checkAcked(t, ctl, keys, acked)
	checkedLive += len(acked)
	wl.ledger.contradictions(t)
	for _, u := range wl.out.unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
	final := waitConverged(t, ctl, "w", "r", keys, 2*time.Minute)
	w.stop()
	r.stop()
	waitPluginsGone(t, bin, nil)

	ws := readStore(t, w.dataDir, keys)
	rs := readStore(t, r.dataDir, keys)
	checked := checkLedger(t, wl.ledger, keys, ws)
	requests := checkOrder(t, ws)
	announced := checkEvents(t, ev, keys, ws)
	sameStores(t, ws, rs)
	var blocks uint64
	for _, k := range keys {
		if ws[k].info.Length != final[k].Length {
			t.Errorf("core %s: stored length %d, the running writer said %d", k, ws[k].info.Length, final[k].Length)
		}
		blocks += ws[k].info.Length
	}
	t.Logf("%d rounds survived: %d append requests (%s); %d requests in flight at the kills; %d acknowledged values read back over NATS after the restarts and %d checked in the bolt file; %d blocks stored in %d whole requests in order, the reader's copy identical; %d appended events all match the stored blocks",
		rounds, wl.requests.Load(), wl.out.String(), inFlightAtKills, checkedLive, checked, blocks, requests, announced)
}

// TestCrashReaderMidCatchUp kills a reader bridge with SIGKILL while it
// catches up a large core, several times, appending more to the writer
// between kills. After each kill no plugin process of the reader may be
// left, and after each restart the reader still holds at least what it had
// applied before the kill. It must end with the writer's exact tree, and
// its bolt file must hold the writer's blocks and verify.
func TestCrashReaderMidCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs bridge processes for a minute or more")
	}
	const (
		kills    = 8
		fill     = 30000 // blocks appended before the reader starts
		more     = 10000 // and after each kill
		perBatch = 500
	)
	bin := bridgeBinary(t)
	w := newBridge(t, bridgeOptions{name: "w", port: freePort(t)})
	w.start()
	ctl := natsClient(t, w.url)
	key := getCore(t, ctl, "w", `{"name":"big","valueEncoding":"json"}`).Key
	appendBlocks(t, ctl, key, 0, fill, perBatch)
	total := fill

	r := newBridge(t, bridgeOptions{name: "r", url: w.url})
	r.start()
	getCore(t, ctl, "r", fmt.Sprintf(`{"key":%q}`, key))
	readerLength := func() (uint64, error) {
		cores, err := list(ctl, "r")
		if err != nil {
			return 0, err
		}
		return cores[key].Length, nil
	}

	var had uint64 // what the reader had applied when it was last seen
	midway := 0
	for kill := range kills {
		// Kill as soon as the reader has applied anything since it
		// (re)started: it applies what waits in the stream in large runs,
		// so later it may already have caught up.
		waitFor(t, time.Minute, "the reader to apply blocks", func() error {
			n, err := readerLength()
			if err != nil {
				return err
			}
			if n <= had {
				return fmt.Errorf("the reader has %d blocks, had %d", n, had)
			}
			had = n
			return nil
		})
		plugins := r.kill()
		if len(plugins) == 0 {
			t.Fatalf("kill %d: the reader had no plugin processes to check", kill)
		}
		waitPluginsGone(t, bin, plugins, w)
		if had < uint64(total) {
			midway++
		}
		t.Logf("kill %d: reader killed at %d of %d blocks", kill, had, total)

		appendBlocks(t, ctl, key, total, more, perBatch)
		total += more
		r.start()
		n, err := readerLength()
		if err != nil {
			t.Fatal(err)
		}
		if n < had {
			t.Fatalf("kill %d: the reader restarted with %d blocks; it had applied %d before the kill", kill, n, had)
		}
	}
	if midway == 0 {
		t.Errorf("the reader was never killed midway: it caught up %d blocks faster than the test saw it progress", fill)
	}
	waitConverged(t, ctl, "w", "r", []string{key}, 2*time.Minute)
	w.stop()
	r.stop()
	waitPluginsGone(t, bin, nil)
	ws := readStore(t, w.dataDir, []string{key})
	rs := readStore(t, r.dataDir, []string{key})
	sameStores(t, ws, rs)
	if got := ws[key].info.Length; got != uint64(total) {
		t.Errorf("the writer stored %d blocks, want %d", got, total)
	}
	for i, v := range ws[key].values {
		if want := bigValue(i); string(v) != want {
			t.Fatalf("block %d is %s, want %s", i, v, want)
		}
	}
	t.Logf("%d reader kills, %d of them mid-catch-up; the reader converged on %d blocks", kills, midway, total)
}

// bigValue is block i of the large core: about 200 bytes of JSON.
func bigValue(i int) string {
	return fmt.Sprintf(`{"n":%d,"pad":"%0190d"}`, i, i)
}

// appendBlocks appends blocks from to from+n of the large core in framed
// batches, one after the other, and checks that each landed where it
// should.
func appendBlocks(t testing.TB, nc *natsgo.Conn, key string, from, n, perBatch int) {
	t.Helper()
	for start := from; start < from+n; start += perBatch {
		end := min(start+perBatch, from+n)
		var frames []byte
		for i := start; i < end; i++ {
			frames = nats.AppendFrames(frames, []byte(bigValue(i)))
		}
		m := natsgo.NewMsg("core." + key + ".append")
		m.Data = frames
		m.Header.Set(nats.HeaderBatch, nats.BatchFrames)
		reply, err := nc.RequestMsg(m, 30*time.Second)
		if err == nil {
			if e := nats.ReplyError(reply); e != nil {
				err = e
			} else if want := fmt.Sprintf(`"length":%d,`, end); !strings.Contains(string(reply.Data), want) {
				err = fmt.Errorf("reply %s, want length %d", reply.Data, end)
			}
		}
		if err != nil {
			t.Fatalf("append blocks %d to %d: %v", start, end, err)
		}
	}
}
