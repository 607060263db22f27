package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/corebridge/corebridge/config"
)

// TestEmbeddedCluster starts three bridges whose embedded servers form
// one NATS cluster, as in a deployment without an existing NATS, and
// checks that JetStream is clustered: an R3 stream can be made.
func TestEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server JetStream cluster")
	}
	const n = 3
	cfgs := clusterConfigs(t, n, "bridge", "test-cluster")

	// Each Connect waits for JetStream, which needs a quorum, so the
	// bridges start together.
	type result struct {
		i   int
		c   *Conn
		err error
	}
	results := make(chan result, n)
	for i, cfg := range cfgs {
		go func() {
			c, err := Connect(t.Context(), cfg, testLogger(t))
			results <- result{i, c, err}
		}()
	}
	conns := make([]*Conn, n)
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("bridge %d: %v", r.i, r.err)
			continue
		}
		conns[r.i] = r.c
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := r.c.Shutdown(ctx); err != nil {
				t.Errorf("bridge %d shutdown: %v", r.i, err)
			}
		})
	}
	if t.Failed() {
		return
	}
	for i, c := range conns {
		if got := c.Server().Name(); got != cfgs[i].Name {
			t.Errorf("server %d is named %q, want %q", i, got, cfgs[i].Name)
		}
		if got := c.Server().ClusterName(); got != "test-cluster" {
			t.Errorf("server %d is in cluster %q", i, got)
		}
	}
	useJetStream(t, conns[0].JetStream(), n)
}

// clusterConfigs returns the configurations of n bridges named
// <prefix>-<i> whose embedded servers form one cluster with R<n> streams.
func clusterConfigs(t testing.TB, n int, prefix, cluster string) []*config.Config {
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freePort(t)
	}
	cfgs := make([]*config.Config, n)
	for i := range cfgs {
		cfg := testConfig(t)
		cfg.Name = fmt.Sprintf("%s-%d", prefix, i)
		cfg.JetStream.Replicas = n
		cl := &config.Cluster{Name: cluster, Listen: fmt.Sprintf("127.0.0.1:%d", ports[i])}
		for j, p := range ports {
			if j != i {
				cl.Routes = append(cl.Routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
			}
		}
		cfg.NATS.Cluster = cl
		cfgs[i] = cfg
	}
	return cfgs
}
