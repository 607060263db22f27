package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// BenchmarkReplicationCatchUp measures a reader bridge catching up a core
// of 20k blocks of 1 KiB that is already in the stream: from following the
// key to holding every block, verified. Run with -benchtime=1x.
func BenchmarkReplicationCatchUp(b *testing.B) {
	const blocks = 20000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv := runServer(b, &server.Options{JetStream: true})
		wb := startBridge(b, externalConfig(b, srv, "w"))
		wc, err := wb.Store.Get(ctx, corestore.GetOptions{Name: fmt.Sprint("bench-", i)})
		if err != nil {
			b.Fatal(err)
		}
		wb.Replication.Follow(ctx, wc)
		value := make([]byte, 1024)
		batch := make([][]byte, 500)
		for j := range batch {
			batch[j] = value
		}
		for n := 0; n < blocks; n += len(batch) {
			if _, err := wc.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		// A first reader shows the stream holds everything before timing.
		key := wc.Key()
		warm := startBridge(b, externalConfig(b, srv, "warm"))
		waitFollow(b, warm, key, blocks)

		rb := startBridge(b, externalConfig(b, srv, "r"))
		b.StartTimer()
		start := time.Now()
		waitFollow(b, rb, key, blocks)
		b.ReportMetric(blocks/time.Since(start).Seconds(), "blocks/s")
	}
}

func waitFollow(b testing.TB, br *Bridge, key core.Key, n uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := br.Store.Get(ctx, corestore.GetOptions{Key: &key})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br.Replication.Follow(ctx, c)
	if _, err := c.Get(ctx, n-1, core.Wait()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFollowManyCores measures what one ordered consumer per followed
// core costs: a reader bridge starts following 1000 one-block cores at
// once, and the time until it holds every block is reported per core.
// Run with -benchtime=1x.
func BenchmarkFollowManyCores(b *testing.B) {
	const cores = 1000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv := runServer(b, &server.Options{JetStream: true})
		wb := startBridge(b, externalConfig(b, srv, "w"))
		keys := make([]core.Key, cores)
		for j := range keys {
			c, err := wb.Store.Get(ctx, corestore.GetOptions{Name: fmt.Sprint("many-", j)})
			if err != nil {
				b.Fatal(err)
			}
			wb.Replication.Follow(ctx, c)
			if _, err := c.Append(ctx, [][]byte{[]byte("x")}); err != nil {
				b.Fatal(err)
			}
			keys[j] = c.Key()
		}
		// A first reader shows every core is in the stream.
		warm := startBridge(b, externalConfig(b, srv, "warm"))
		followAll(b, warm, keys)
		rb := startBridge(b, externalConfig(b, srv, "r"))
		b.StartTimer()
		start := time.Now()
		followAll(b, rb, keys)
		b.ReportMetric(float64(time.Since(start).Microseconds())/cores, "µs/core")
		b.StopTimer()
		// The alternative, one consumer per bridge over hc.repl.>: how long
		// one ordered consumer takes to deliver the same 1000 messages.
		cons, err := rb.Replication.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"hc.repl.>"}})
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		got := 0
		for got < cores {
			batch, err := cons.Fetch(cores-got, jetstream.FetchMaxWait(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			for range batch.Messages() {
				got++
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/cores, "µs/core-one-consumer")
	}
}

func followAll(b testing.TB, br *Bridge, keys []core.Key) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	followed := make([]*core.Core, len(keys))
	for i := range keys {
		c, err := br.Store.Get(ctx, corestore.GetOptions{Key: &keys[i]})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		br.Replication.Follow(ctx, c)
		followed[i] = c
	}
	for _, c := range followed {
		if _, err := c.Get(ctx, 0, core.Wait()); err != nil {
			b.Fatal(err)
		}
	}
}
