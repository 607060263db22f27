package encodings_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/encodings/encodingtest"
	"github.com/vmihailenco/msgpack/v5"
)

// TestMsgpackReadAsJSON checks how stored msgpack values read as JSON.
func TestMsgpackReadAsJSON(t *testing.T) {
	ctx := context.Background()
	e := encodings.Msgpack()
	for _, tc := range []struct {
		name   string
		stored any
		want   string
	}{
		{"exact int64", int64(math.MaxInt64), `9223372036854775807`},
		{"exact uint64", uint64(math.MaxUint64), `18446744073709551615`},
		{"negative", int64(-200), `-200`},
		{"float32", float32(0.5), `0.5`},
		{"NaN as JSON.stringify writes it", math.NaN(), `null`},
		{"integer map keys", map[int]string{2: "b"}, `{"2":"b"}`},
		{"array-index keys first", msgpackOrdered(t, "b", 1, "3", 2, "1", 3), `{"1":3,"3":2,"b":1}`},
		{"invalid UTF-8 replaced", "a\xffb", "\"a\ufffdb\""},
		{"nested", []any{map[string]any{"k": []any{nil, true}}}, `[{"k":[null,true]}]`},
	} {
		b, ok := tc.stored.([]byte)
		if !ok {
			b = []byte(mp(t, tc.stored))
		}
		got, err := e.Decode(ctx, encodings.FormatJSON, [][]byte{b})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got[0]) != tc.want {
			t.Errorf("%s: read as %s, want %s", tc.name, got[0], tc.want)
		}
	}
}

// msgpackOrdered encodes a map with its keys in the given order.
func msgpackOrdered(t *testing.T, kv ...any) []byte {
	var b strings.Builder
	enc := msgpack.NewEncoder(&b)
	if err := enc.EncodeMapLen(len(kv) / 2); err != nil {
		t.Fatal(err)
	}
	for _, x := range kv {
		if err := enc.Encode(x); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(b.String())
}

// TestMsgpackNotRepresentable reads values that have no JSON form, in every
// way the encoding runs: the error must survive the plugin boundary.
func TestMsgpackNotRepresentable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ways := map[string]encodings.Encoding{
		"direct":  encodings.Msgpack(),
		"grpc":    encodingtest.GRPC(t, encodings.Msgpack()),
		"process": encodingtest.Process(t, plugins.TestCommand(plugins.KindEncoding, "msgpack")),
	}
	ext := []byte("\xd4\x05\x01") // fixext1 of type 5
	for way, e := range ways {
		for name, blocks := range map[string][][]byte{
			"binary":    {[]byte(mp(t, "ok")), []byte(mp(t, []byte{1}))},
			"extension": {[]byte(mp(t, "ok")), ext},
			"bool key":  {[]byte(mp(t, "ok")), []byte(mp(t, map[bool]int{true: 1}))},
		} {
			_, err := e.Decode(ctx, encodings.FormatJSON, blocks)
			if !errors.Is(err, encodings.ErrNotRepresentable) || !strings.Contains(err.Error(), "block 1") {
				t.Errorf("%s: %s read as JSON: %v, want ErrNotRepresentable naming block 1", way, name, err)
			}
			if _, err := e.Decode(ctx, encodings.FormatMsgpack, blocks); err != nil {
				t.Errorf("%s: %s read as msgpack: %v", way, name, err)
			}
		}
	}
}
