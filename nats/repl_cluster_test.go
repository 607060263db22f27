package nats

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/config"
)

// TestReplicationClusterNodeLoss runs three bridges whose embedded servers
// form a NATS cluster with an R3 stream. One bridge writes, two follow;
// while appends go on, one follower's server dies. The other follower still
// ends with exactly the writer's core.
func TestReplicationClusterNodeLoss(t *testing.T) {
	const n = 3
	cfgs := clusterConfigs(t, n, "node", "repl-cluster")
	// JetStream needs a quorum, so the bridges start together.
	bridges := make([]*Bridge, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := startBridgeNoFatal(t, cfgs[i])
			mu.Lock()
			bridges[i] = b
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, b := range bridges {
		if b == nil {
			t.Fatalf("bridge %d did not start", i)
		}
	}
	nc, err := natsgo.Connect(bridges[0].Conn.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	w := getInfo(t, nc, "node-0", `{"name":"clustered","valueEncoding":"json"}`)
	appendN(t, nc, w.Key, 0, 10)
	for _, name := range []string{"node-1", "node-2"} {
		getInfo(t, nc, name, fmt.Sprintf(`{"key":%q}`, w.Key))
	}
	follower := localCore(t, bridges[1], w.Key)
	waitLength(t, follower, 10)

	// Appends go on while node 2's server dies.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 10; i < 60; i += 5 {
			appendN(t, nc, w.Key, i, 5)
		}
	}()
	bridges[2].Conn.Server().Shutdown()
	<-done
	waitLength(t, follower, 60)
	sameState(t, localCore(t, bridges[0], w.Key), follower)
	for i := uint64(0); i < 60; i++ {
		v, err := follower.Get(t.Context(), i)
		if err != nil || string(v) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("follower block %d = %q, %v", i, v, err)
		}
	}
	if s := bridges[1].Replication.Stats(); s.Rejected != 0 {
		t.Errorf("follower rejected messages: %+v", s)
	}
}

// startBridgeNoFatal is startBridge for use off the test goroutine.
func startBridgeNoFatal(t *testing.T, cfg *config.Config) *Bridge {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := StartBridge(ctx, cfg, BridgeOptions{
		Encodings: builtinEncodings(), Storage: builtinStorage(),
		PluginCommand: testPluginCommand, Logger: testLogger(t),
	})
	if err != nil {
		t.Errorf("StartBridge %s: %v", cfg.Name, err)
		return nil
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	return b
}
