package main

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// runRepl measures replication through JetStream between a writer bridge
// (with the embedded nats-server) and reader bridges that connect to it:
//
//   - catchup: a fresh reader bridge, asked store.get {"key"} for a core
//     of replBlocks blocks the stream already holds, until the reader's own
//     core has its last block (a waiting Get on the reader's session);
//   - lag: appends at a steady rate to a fresh core the reader follows;
//     for each block, the time from the writer's append reply reaching the
//     client to the reader's core having that block.
func runRepl(ctx context.Context, b *bench) error {
	w, err := b.startBridge(ctx, bridgeSpec{name: "writer"})
	if err != nil {
		return err
	}
	defer w.stop()
	src, err := w.createCore("catchup")
	if err != nil {
		return err
	}
	if err := fill(w.nc, src, b.size.replBlocks); err != nil {
		return err
	}
	// A first reader, untimed, proves the stream holds the whole core, so
	// the timed readers measure catching up, not the writer publishing.
	b.progress("  filling the stream: %d blocks", b.size.replBlocks)
	if _, err := b.catchUp(ctx, w, "warmup", src); err != nil {
		return err
	}
	return b.runs(ctx, func(run int) error {
		name := fmt.Sprintf("reader%d", run)
		d, err := b.catchUp(ctx, w, name, src)
		if err != nil {
			return err
		}
		b.record("catchup", "blocks/s", float64(b.size.replBlocks)/d.Seconds())
		p50, p99, rate, err := b.lag(ctx, w, run)
		if err != nil {
			return err
		}
		b.record("lag_p50", "ms", ms(p50))
		b.record("lag_p99", "ms", ms(p99))
		b.record("lag_rate", "appends/s", rate)
		return nil
	})
}

// catchUp starts a reader bridge on w's NATS and times it taking all of
// src; the reader is stopped again.
func (b *bench) catchUp(ctx context.Context, w *benchBridge, name string, src *benchCore) (time.Duration, error) {
	r, err := b.startBridge(ctx, bridgeSpec{name: name, url: w.Conn.ClientURL()})
	if err != nil {
		return 0, err
	}
	defer r.stop()
	n := uint64(b.size.replBlocks)
	start := time.Now()
	if _, err := r.storeGet(map[string]string{"key": src.key.String()}); err != nil {
		return 0, err
	}
	if err := waitBlock(ctx, r, src.key, n-1); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// waitBlock waits until bridge r's own session of key has block index.
func waitBlock(ctx context.Context, r *benchBridge, key core.Key, index uint64) error {
	c, err := r.Store.Get(ctx, corestore.GetOptions{Key: &key})
	if err != nil {
		return err
	}
	defer c.Close()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := c.Get(wctx, index, core.Wait()); err != nil {
		return fmt.Errorf("reader %s waiting for block %d (has %d): %w", r.name, index, c.Length(), err)
	}
	return nil
}

// lag appends to a new core at lagRate for lagWindow, one value per
// request, with a reader bridge following it, and returns the 50th and
// 99th percentile of the per-block lag and the append rate achieved.
func (b *bench) lag(ctx context.Context, w *benchBridge, run int) (p50, p99 time.Duration, rate float64, err error) {
	r, err := b.startBridge(ctx, bridgeSpec{name: fmt.Sprintf("lagreader%d", run), url: w.Conn.ClientURL()})
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.stop()
	c, err := w.createCore(fmt.Sprintf("lag-%d", run))
	if err != nil {
		return 0, 0, 0, err
	}
	v := value()
	if _, err := appendValues(w.nc, c, v); err != nil {
		return 0, 0, 0, err
	}
	if _, err := r.storeGet(map[string]string{"key": c.key.String()}); err != nil {
		return 0, 0, 0, err
	}
	if err := waitBlock(ctx, r, c.key, 0); err != nil {
		return 0, 0, 0, err
	}
	rc, err := r.Store.Get(ctx, corestore.GetOptions{Key: &c.key})
	if err != nil {
		return 0, 0, 0, err
	}
	defer rc.Close()

	total := int(float64(b.size.lagRate) * b.size.lagWindow.Seconds())
	base := uint64(1) // the block appended above
	replied := make([]time.Time, total)
	arrived := make([]time.Time, total)

	// The reader side: note when each block arrives.
	watchCtx, stopWatch := context.WithTimeout(ctx, b.size.lagWindow+time.Minute)
	defer stopWatch()
	watched := make(chan error, 1)
	go func() {
		seen := base
		for {
			changed := rc.Changed()
			now := time.Now()
			for l := rc.Length(); seen < l; seen++ {
				if i := seen - base; i < uint64(total) {
					arrived[i] = now
				}
			}
			if seen >= base+uint64(total) {
				watched <- nil
				return
			}
			select {
			case <-changed:
			case <-watchCtx.Done():
				watched <- fmt.Errorf("reader has %d of %d blocks: %w", seen, base+uint64(total), watchCtx.Err())
				return
			}
		}
	}()

	// The writer side: one append every 1/lagRate, each on its own
	// goroutine so a slow reply does not slow the pace.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	interval := time.Second / time.Duration(b.size.lagRate)
	start := time.Now()
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			length, err := appendValues(w.nc, c, v)
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				firstErr = cmp.Or(firstErr, err)
			case length <= base || length > base+uint64(total):
				firstErr = cmp.Or(firstErr, fmt.Errorf("append reply length %d outside %d..%d", length, base+1, base+uint64(total)))
			default:
				replied[length-1-base] = now
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	if err := <-watched; err != nil {
		return 0, 0, 0, err
	}
	lags := make([]time.Duration, total)
	for i := range lags {
		lags[i] = max(arrived[i].Sub(replied[i]), 0) // the reader may beat the reply
	}
	return percentile(lags, 50), percentile(lags, 99), float64(total) / sent.Seconds(), nil
}
