package nats

import (
	"encoding/json"
	"testing"
	"time"
)

// TestBridgeSmoke: a new user's first minute, on a real bridge.
func TestBridgeSmoke(t *testing.T) {
	b := startBridge(t, testConfig(t))
	nc := client(t, b)
	msg, err := nc.Request("store.test.get", []byte(`{"name":"demo","valueEncoding":"json"}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if e := ReplyError(msg); e != nil {
		t.Fatalf("store get: %v", e)
	}
	var info Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	msg, err = nc.Request("core."+info.Key+".append", []byte(`{"hello": "world"}`), 10*time.Second)
	if err != nil || ReplyError(msg) != nil {
		t.Fatalf("append: %v %v", err, ReplyError(msg))
	}
	if string(msg.Data) != `{"length":1,"byteLength":17,"fork":0}` {
		t.Errorf("append reply %s", msg.Data)
	}
	msg, err = nc.Request("core."+info.Key+".block", []byte(`0`), 10*time.Second)
	if err != nil || ReplyError(msg) != nil {
		t.Fatalf("block: %v %v", err, ReplyError(msg))
	}
	if string(msg.Data) != `{"hello":"world"}` || msg.Header.Get(HeaderIndex) != "0" || msg.Header.Get(HeaderLength) != "1" {
		t.Errorf("block 0 = %s %v", msg.Data, msg.Header)
	}
}
