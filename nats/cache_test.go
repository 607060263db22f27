package nats

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestBridgeBlockCache: on a bridge whose bolt storage runs as a plugin
// process, blocks read right after they were appended, by clients and by
// the replication publisher, are answered by the block cache: no block read
// crosses into the plugin. With block_cache = 0 there is no cache.
func TestBridgeBlockCache(t *testing.T) {
	cfg := testConfig(t)
	b := startBridge(t, cfg)
	if b.BlockCache == nil {
		t.Fatal("the default configuration has no block cache")
	}
	nc := client(t, b)
	ask := func(subj, body string) []byte {
		t.Helper()
		msg, err := nc.Request(subj, []byte(body), 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subj, err)
		}
		if e := ReplyError(msg); e != nil {
			t.Fatalf("%s: %v", subj, e)
		}
		return msg.Data
	}
	var info Info
	if err := json.Unmarshal(ask("store.test.get", `{"name":"cached","valueEncoding":"binary"}`), &info); err != nil {
		t.Fatal(err)
	}
	before := b.BlockCache.Stats()
	for i := range 5 {
		ask("core."+info.Key+".append", fmt.Sprintf("value %d", i))
	}
	for i := range 5 {
		if got, want := string(ask("core."+info.Key+".block", fmt.Sprint(i))), fmt.Sprintf("value %d", i); got != want {
			t.Errorf("block %d = %q, want %q", i, got, want)
		}
	}
	after := b.BlockCache.Stats()
	if after.Misses != before.Misses {
		t.Errorf("%d block reads reached the storage plugin, want 0 (stats %+v)", after.Misses-before.Misses, after)
	}
	if after.Hits-before.Hits < 5 {
		t.Errorf("%d reads answered by the cache, want at least 5 (stats %+v)", after.Hits-before.Hits, after)
	}

	cfg = testConfig(t)
	cfg.Corestore.BlockCache = 0
	if b := startBridge(t, cfg); b.BlockCache != nil {
		t.Error("block_cache = 0 made a cache")
	}
}
