package core_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/corebridge/corebridge/core"
)

// openWriter opens a writable core in memory, closed at the end of the test.
func openWriter(t *testing.T, seed byte) *core.Core {
	t.Helper()
	kp := core.KeyPairFromSeed([32]byte{seed})
	c, err := core.Open(context.Background(), core.NewMemoryStorage(), core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// afterChange registers a callback that reports on the returned channel.
// The channel has room for more than one report, so a callback that ran
// twice shows up.
func afterChange(c *core.Core) (<-chan struct{}, func() bool) {
	ran := make(chan struct{}, 2)
	stop := c.AfterChange(func() { ran <- struct{}{} })
	return ran, stop
}

// ranOnce waits for a callback's report and checks that no second one is
// there.
func ranOnce(t *testing.T, what string, ran <-chan struct{}) {
	t.Helper()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the AfterChange callback did not run", what)
	}
	notRun(t, what+" (second run)", ran)
}

// notRun checks that a callback has not reported so far.
func notRun(t *testing.T, what string, ran <-chan struct{}) {
	t.Helper()
	select {
	case <-ran:
		t.Fatalf("%s: the AfterChange callback ran", what)
	default:
	}
}

// stillWaiting checks that a callback is still registered, not started:
// only then can stop take it back. It unregisters it.
func stillWaiting(t *testing.T, what string, stop func() bool) {
	t.Helper()
	if !stop() {
		t.Fatalf("%s: the AfterChange callback was started", what)
	}
}

func TestAfterChangeRunsOnceOnAppend(t *testing.T) {
	ctx := context.Background()
	c := openWriter(t, 1)
	_, stop := afterChange(c)
	if _, err := c.Append(ctx, nil); err != nil { // changes nothing
		t.Fatal(err)
	}
	stillWaiting(t, "after an empty append", stop)
	ran, stop := afterChange(c)
	if _, err := c.Append(ctx, [][]byte{[]byte("a")}); err != nil {
		t.Fatal(err)
	}
	ranOnce(t, "append", ran)
	if _, err := c.Append(ctx, [][]byte{[]byte("b")}); err != nil {
		t.Fatal(err)
	}
	notRun(t, "second append", ran)
	if stop() {
		t.Error("stop after the callback ran reported that it stopped it")
	}
}

func TestAfterChangeRunsOnTruncate(t *testing.T) {
	ctx := context.Background()
	c := openWriter(t, 2)
	if _, err := c.Append(ctx, [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	ran, _ := afterChange(c)
	if err := c.Truncate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ranOnce(t, "truncate", ran)
	if c.Fork() != 1 {
		t.Fatalf("fork %d after truncate, want 1", c.Fork())
	}
}

// A reader's callback runs when a verified update from the writer lands.
func TestAfterChangeRunsOnApplyUpdate(t *testing.T) {
	ctx := context.Background()
	w := openWriter(t, 3)
	res, err := w.Append(ctx, [][]byte{[]byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	key := w.Key()
	m, err := core.DecodeManifest(w.Info().Manifest)
	if err != nil {
		t.Fatal(err)
	}
	r, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ran, _ := afterChange(r)
	if _, err := r.ApplyUpdate(ctx, &core.Update{Values: [][]byte{[]byte("a")}, Signature: res.Signature}); err != nil {
		t.Fatal(err)
	}
	ranOnce(t, "apply update", ran)
}

// Closing the last session runs the callback; closing another does not.
// Registering on a closed core runs it at once.
func TestAfterChangeRunsOnLastClose(t *testing.T) {
	c := openWriter(t, 4)
	s, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	_, stop := afterChange(c)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stillWaiting(t, "closing one of two sessions", stop)
	ran, stop := afterChange(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ranOnce(t, "last close", ran)
	select {
	case <-c.Closed():
	default:
		t.Error("the callback ran before Closed's channel closed")
	}
	if stop() {
		t.Error("stop after close reported that it stopped the callback")
	}

	ran, stop = afterChange(c)
	ranOnce(t, "registered on a closed core", ran)
	if stop() {
		t.Error("stop on a closed core reported that it stopped the callback")
	}
}

func TestAfterChangeStop(t *testing.T) {
	ctx := context.Background()
	c := openWriter(t, 5)
	ran1, stop1 := afterChange(c)
	ran2, _ := afterChange(c)
	ran3, stop3 := afterChange(c)
	if !stop1() {
		t.Fatal("stop before any change did not stop the callback")
	}
	if stop1() {
		t.Error("a second stop reported that it stopped the callback")
	}
	if !stop3() {
		t.Fatal("stop of the last callback registered did not stop it")
	}
	if _, err := c.Append(ctx, [][]byte{[]byte("a")}); err != nil {
		t.Fatal(err)
	}
	ranOnce(t, "the one callback left", ran2)
	notRun(t, "stopped callback", ran1)
	notRun(t, "stopped callback", ran3)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	notRun(t, "stopped callback, at close", ran1)
}

// Exactly one of a stop and the change it races with wins: the callback
// runs if and only if stop reports false.
func TestAfterChangeStopRacesChange(t *testing.T) {
	ctx := context.Background()
	c := openWriter(t, 6)
	for i := range 200 {
		ran, stop := afterChange(c)
		stopped := make(chan bool)
		go func() { stopped <- stop() }()
		if _, err := c.Append(ctx, [][]byte{{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		if <-stopped {
			notRun(t, "stop won", ran)
		} else {
			ranOnce(t, "change won", ran)
		}
	}
}

// A registered callback costs no goroutine until it runs.
func TestAfterChangeHoldsNoGoroutine(t *testing.T) {
	ctx := context.Background()
	const cores, perCore = 100, 10
	before := runtime.NumGoroutine()
	cs := make([]*core.Core, cores)
	done := make(chan struct{}, cores*perCore)
	for i := range cs {
		cs[i] = openWriter(t, byte(i))
		for range perCore {
			cs[i].AfterChange(func() { done <- struct{}{} })
		}
	}
	// Other tests' callbacks may still be finishing: a few goroutines of
	// slack, far fewer than one per core.
	if got := runtime.NumGoroutine() - before; got > 5 {
		t.Errorf("%d callbacks registered on %d cores added %d goroutines", cores*perCore, cores, got)
	}
	for _, c := range cs {
		if _, err := c.Append(ctx, [][]byte{[]byte("a")}); err != nil {
			t.Fatal(err)
		}
	}
	for range cores * perCore {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("not every callback ran")
		}
	}
}
