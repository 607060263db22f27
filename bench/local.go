package main

import (
	"context"
	"fmt"
	"sync/atomic"

	natsgo "github.com/nats-io/nats.go"
)

// echoSubject is the raw NATS responder's subject.
const echoSubject = "bench.echo"

// echoReply is what the raw responder answers: about an append reply.
var echoReply = []byte(`{"length":1,"byteLength":1024,"fork":0}`)

// runNATS measures request/reply against a responder that answers at once,
// on an in-process connection to a bridge's embedded server, as the
// bridge's own connection is: 1 KiB requests and a short reply, the bytes
// an append moves. Nothing a bridge does can be faster than this.
func runNATS(ctx context.Context, b *bench) error {
	bb, err := b.startBridge(ctx, bridgeSpec{name: "nats"})
	if err != nil {
		return err
	}
	defer bb.stop()
	rc, err := natsgo.Connect(bb.Conn.ClientURL(), natsgo.InProcessServer(bb.Conn.Server()), natsgo.Name("bench responder"))
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := rc.Subscribe(echoSubject, func(m *natsgo.Msg) { m.Respond(echoReply) }); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil {
		return err
	}
	v := value()
	fn := func(_, _ int) (int, error) {
		_, err := request(bb.nc, echoSubject, v, nil)
		return 1, err
	}
	return b.runs(ctx, func(int) error {
		for _, n := range []int{1, 64} {
			r, err := throughput(ctx, n, b.size.warmup, b.size.duration, fn)
			if err != nil {
				return err
			}
			b.recordRate(fmt.Sprintf("nats_req%d", n), "requests/s", r)
		}
		return nil
	})
}

// runAppend measures single-value appends, each answered once durable,
// to one core and spread round-robin over 100.
func runAppend(ctx context.Context, b *bench) error {
	bb, err := b.startBridge(ctx, bridgeSpec{name: "append"})
	if err != nil {
		return err
	}
	defer bb.stop()
	one, err := bb.createCore("one")
	if err != nil {
		return err
	}
	spread := make([]*benchCore, 100)
	for i := range spread {
		if spread[i], err = bb.createCore(fmt.Sprintf("spread-%d", i)); err != nil {
			return err
		}
	}
	v := value()
	var next atomic.Uint64
	cases := []struct {
		name string
		fn   op
	}{
		{"core1", func(_, _ int) (int, error) { _, err := appendValues(bb.nc, one, v); return 1, err }},
		{"cores100", func(_, _ int) (int, error) {
			c := spread[next.Add(1)%uint64(len(spread))]
			_, err := appendValues(bb.nc, c, v)
			return 1, err
		}},
	}
	return b.runs(ctx, func(int) error {
		for _, c := range cases {
			for _, n := range []int{1, 64} {
				r, err := throughput(ctx, n, b.size.warmup, b.size.duration, c.fn)
				if err != nil {
					return err
				}
				b.recordRate(fmt.Sprintf("append%d_%s", n, c.name), "appends/s", r)
			}
		}
		return nil
	})
}

// runBatch measures appends of 100 values per request, framed, one and 64
// requests in flight.
func runBatch(ctx context.Context, b *bench) error {
	bb, err := b.startBridge(ctx, bridgeSpec{name: "batch"})
	if err != nil {
		return err
	}
	defer bb.stop()
	c, err := bb.createCore("batch")
	if err != nil {
		return err
	}
	values := make([][]byte, 100)
	for i := range values {
		values[i] = value()
	}
	fn := func(_, _ int) (int, error) {
		_, err := appendValues(bb.nc, c, values...)
		return len(values), err
	}
	return b.runs(ctx, func(int) error {
		for _, n := range []int{1, 64} {
			r, err := throughput(ctx, n, b.size.warmup, b.size.duration, fn)
			if err != nil {
				return err
			}
			name := "batch100"
			if n > 1 {
				name = fmt.Sprintf("batch100_%d", n)
			}
			b.recordRate(name, "values/s", r)
		}
		return nil
	})
}

// runRead measures core.<key>.block reads of 1 KiB blocks spread over a
// core, one and 64 in flight. The core fits in the default block cache, so
// read<n> are cache hits; read<n>_nocache are the same reads on a bridge
// with block_cache = 0, each a round trip to the storage plugin.
func runRead(ctx context.Context, b *bench) error {
	var fns []op
	for _, noCache := range []bool{false, true} {
		bb, err := b.startBridge(ctx, bridgeSpec{name: "read", noBlockCache: noCache})
		if err != nil {
			return err
		}
		defer bb.stop()
		c, err := bb.createCore("read")
		if err != nil {
			return err
		}
		if err := fill(bb.nc, c, b.size.readBlocks); err != nil {
			return err
		}
		fns = append(fns, readOp(bb.nc, c, b.size.readBlocks))
	}
	return b.runs(ctx, func(int) error {
		for _, n := range []int{1, 64} {
			for i, suffix := range []string{"", "_nocache"} {
				r, err := throughput(ctx, n, b.size.warmup, b.size.duration, fns[i])
				if err != nil {
					return err
				}
				b.recordRate(fmt.Sprintf("read%d%s", n, suffix), "reads/s", r)
			}
		}
		return nil
	})
}

// readOp reads blocks of c, which has n, scattered by worker and sequence.
func readOp(nc *natsgo.Conn, c *benchCore, n int) op {
	return func(w, seq int) (int, error) {
		i := uint64((w*7919 + seq*104729) % n)
		reply, err := request(nc, c.block, indexText(i), nil)
		if err != nil {
			return 0, err
		}
		if len(reply.Data) != valueSize {
			return 0, fmt.Errorf("block %d is %d bytes, want %d", i, len(reply.Data), valueSize)
		}
		return 1, nil
	}
}

// runPlugin measures appends and reads on three bridges that differ only
// in where the bolt storage and the binary encoding run: both in plugin
// processes (the default), the encoding in_process and the storage in a
// plugin process, or both in_process. They are measured in turn within
// each run, starting with a different one each run, so drifting load on
// the machine touches all alike.
func runPlugin(ctx context.Context, b *bench) error {
	type side struct {
		prefix string
		bb     *benchBridge
		app    *benchCore
		read   op
	}
	var sides []*side
	defer func() {
		for _, s := range sides {
			s.bb.stop()
		}
	}()
	for _, s := range []struct {
		prefix     string
		enc, store bool
	}{{"plugin", false, false}, {"encinproc", true, false}, {"inproc", true, true}} {
		bb, err := b.startBridge(ctx, bridgeSpec{name: s.prefix, inProcessEncoding: s.enc, inProcessStorage: s.store})
		if err != nil {
			return err
		}
		sd := &side{prefix: s.prefix, bb: bb}
		sides = append(sides, sd)
		if sd.app, err = bb.createCore("append"); err != nil {
			return err
		}
		rc, err := bb.createCore("read")
		if err != nil {
			return err
		}
		if err := fill(bb.nc, rc, b.size.readBlocks); err != nil {
			return err
		}
		sd.read = readOp(bb.nc, rc, b.size.readBlocks)
	}
	v := value()
	measures := []struct {
		name, unit string
		inFlight   int
		fn         func(s *side) op
	}{
		{"append1", "appends/s", 1, func(s *side) op { return appendOp(s.bb, s.app, v) }},
		{"append64", "appends/s", 64, func(s *side) op { return appendOp(s.bb, s.app, v) }},
		{"read64", "reads/s", 64, func(s *side) op { return s.read }},
	}
	return b.runs(ctx, func(run int) error {
		// The sides of one measure follow each other closely, so that
		// they meet about the same load from the rest of the machine.
		for _, m := range measures {
			for i := range sides {
				s := sides[(run+i)%len(sides)]
				r, err := throughput(ctx, m.inFlight, b.size.warmup, b.size.duration, m.fn(s))
				if err != nil {
					return err
				}
				b.recordRate(s.prefix+"_"+m.name, m.unit, r)
			}
		}
		return nil
	})
}

// appendOp appends v to c, one value per request.
func appendOp(bb *benchBridge, c *benchCore, v []byte) op {
	return func(_, _ int) (int, error) {
		_, err := appendValues(bb.nc, c, v)
		return 1, err
	}
}
