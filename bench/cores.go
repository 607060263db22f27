package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// runCores measures what open cores cost: the resident memory of the bench
// process (NATS server, bridge and clients) and its plugin processes with
// one core and with size.cores cores open on one bridge, and the latency of
// single appends to one core in each case. Each run starts a fresh bridge.
func runCores(ctx context.Context, b *bench) error {
	n := b.size.cores
	label := fmt.Sprintf("%dk", n/1000)
	if n%1000 != 0 {
		label = fmt.Sprint(n)
	}
	return b.runs(ctx, func(run int) error {
		bb, err := b.startBridge(ctx, bridgeSpec{name: "cores"})
		if err != nil {
			return err
		}
		defer bb.stop()
		first, err := bb.createCore("core-0")
		if err != nil {
			return err
		}
		v := value()
		appendLatency := func() (p50, p99 time.Duration, err error) {
			ds, err := latencies(ctx, b.size.warmup, b.size.duration, func(int) error {
				_, err := appendValues(bb.nc, first, v)
				return err
			})
			if err != nil {
				return 0, 0, err
			}
			return percentile(ds, 50), percentile(ds, 99), nil
		}
		p50, p99, err := appendLatency()
		if err != nil {
			return err
		}
		b.record("cores1_append_p50", "µs", us(p50))
		b.record("cores1_append_p99", "µs", us(p99))
		self0, kids0, err := treeRSS()
		if err != nil {
			return err
		}
		b.record("cores1_rss", "MB", mb(self0+kids0))

		// Open the rest, 64 store.get requests in flight.
		var next atomic.Int64
		next.Store(1)
		start := time.Now()
		_, _, err = loop(ctx, 64, time.Hour, func(_, _ int) (int, error) {
			i := next.Add(1) - 1
			if i >= int64(n) {
				return 0, errDone
			}
			_, err := bb.createCore(fmt.Sprintf("core-%d", i))
			return 1, err
		}, 0)
		if err != nil && err != errDone {
			return err
		}
		b.record("cores_open", "cores/s", float64(n-1)/time.Since(start).Seconds())
		self1, kids1, err := treeRSS()
		if err != nil {
			return err
		}
		if run == 0 && b.o.memprofile != "" {
			if err := writeHeapProfile(b.o.memprofile); err != nil {
				return err
			}
		}
		b.record("cores"+label+"_rss", "MB", mb(self1+kids1))
		b.record("cores"+label+"_rss_bench", "MB", mb(self1))
		b.record("cores"+label+"_rss_plugins", "MB", mb(kids1))
		b.record("cores"+label+"_rss_per_core", "KB", float64(self1+kids1-self0-kids0)/float64(n-1)/1024)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.record("cores"+label+"_goroutines", "goroutines", float64(runtime.NumGoroutine()))
		b.record("cores"+label+"_go_stacks", "MB", mb(int64(ms.StackInuse)))
		b.record("cores"+label+"_go_heap", "MB", mb(int64(ms.HeapInuse)))

		p50, p99, err = appendLatency()
		if err != nil {
			return err
		}
		b.record("cores"+label+"_append_p50", "µs", us(p50))
		b.record("cores"+label+"_append_p99", "µs", us(p99))
		return nil
	})
}

// errDone stops a loop that has done all its work.
var errDone = fmt.Errorf("done")

// writeHeapProfile writes the live heap to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
