package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

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
