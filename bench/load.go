package main

import (
	"context"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// op is one operation of a load loop: worker is the worker's number, seq
// counts that worker's operations. It returns how many units (requests,
// values) it completed.
type op func(worker, seq int) (int, error)

// rate is what a timed loop achieved: units per second, and the CPU time
// the bench's whole process tree (clients, NATS server, bridges, plugin
// processes) spent per unit, in microseconds. The second is what the first
// costs, and it moves much less than the rate when other processes
// compete for the machine.
type rate struct {
	perSecond float64
	cpuPerOp  float64
}

// throughput runs inFlight workers calling fn back to back, first for the
// warm-up, untimed, then for d, and returns the units completed per second
// of the timed part. Each worker finishes the operation it is in when time
// is up; those count, and so does the time they take.
func throughput(ctx context.Context, inFlight int, warmup, d time.Duration, fn op) (rate, error) {
	if warmup > 0 {
		if _, _, err := loop(ctx, inFlight, warmup, fn, 0); err != nil {
			return rate{}, err
		}
	}
	before := sampleCPU()
	units, elapsed, err := loop(ctx, inFlight, d, fn, 1<<30)
	if err != nil {
		return rate{}, err
	}
	after := sampleCPU()
	r := rate{perSecond: float64(units) / elapsed.Seconds()}
	if units > 0 {
		r.cpuPerOp = float64(sub(after.own, before.own)) / clockTicks * 1e6 / float64(units)
	}
	return r, nil
}

// loop runs the workers for d and returns the units done and the time from
// start until the last worker stopped. seq0 starts the workers' sequence
// numbers, so a timed loop does not repeat the warm-up's.
func loop(ctx context.Context, inFlight int, d time.Duration, fn op, seq0 int) (int64, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		units    atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := seq0; ctx.Err() == nil && time.Now().Before(deadline); seq++ {
				n, err := fn(w, seq)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				units.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr == nil {
		firstErr = context.Cause(ctx)
		if firstErr == context.Canceled {
			firstErr = nil // our own cancel at the end
		}
	}
	return units.Load(), elapsed, firstErr
}

// latencies runs fn one call at a time for d, after a warm-up, and returns
// each timed call's duration.
func latencies(ctx context.Context, warmup, d time.Duration, fn func(seq int) error) ([]time.Duration, error) {
	seq := 0
	for end := time.Now().Add(warmup); time.Now().Before(end); seq++ {
		if err := fn(seq); err != nil {
			return nil, err
		}
	}
	var out []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end) && ctx.Err() == nil; seq++ {
		t := time.Now()
		if err := fn(seq); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, ctx.Err()
}

// percentile returns the p-th percentile (0 < p <= 100) of ds, nearest
// rank; ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(math.Ceil(float64(len(ds))*p/100)) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// ms and us express a duration in milliseconds and microseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
