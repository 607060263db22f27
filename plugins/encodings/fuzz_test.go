package encodings

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzJSON checks the JSON parser against encoding/json on what is JSON,
// and that what the json encoding stores is JSON that it stores unchanged.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2.5e-7,true,null,"x\u2028"]}`, `"\ud800"`, `-0`, `1e400`, `{"1":1,"a":2,"1":3}`,
		`[`, `{"a" 1}`, "\"\x01\"", `01`, ` 1 `, `"\uD83D\uDE00"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseJSON(data)
		if utf8.Valid(data) && (err == nil) != json.Valid(data) {
			t.Fatalf("parseJSON(%q) error %v, but encoding/json says valid=%v", data, err, json.Valid(data))
		}
		if err != nil {
			return
		}
		out := appendJSON(nil, &v)
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("stored %q for %q: not JSON", out, data)
		}
		v2, err := parseJSON(out)
		if err != nil {
			t.Fatalf("stored %q for %q, which does not parse: %v", out, data, err)
		}
		if again := appendJSON(nil, &v2); !bytes.Equal(again, out) {
			t.Fatalf("stored %q for %q, then %q for that", out, data, again)
		}
	})
}

// FuzzMsgpack checks that no input makes the msgpack encoding fail other
// than with its errors, and that what it reads as JSON is JSON.
func FuzzMsgpack(f *testing.F) {
	for _, x := range []any{nil, 1, -1, 1.5, "s", []byte{1}, []any{1, "a"}, map[string]any{"a": []any{true}}} {
		b, _ := msgpack.Marshal(x)
		f.Add(b)
	}
	f.Add([]byte("\xdb\xff\xff\xff\xff"))
	f.Add([]byte("\xdf\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkMsgpack(data); err != nil {
			return
		}
		r := bytes.NewReader(data)
		if err := msgpack.NewDecoder(r).Skip(); err != nil || r.Len() != 0 {
			t.Fatalf("checkMsgpack accepted %x, msgpack skips it with %v and %d bytes left", data, err, r.Len())
		}
		v, err := readMsgpack(msgpack.NewDecoder(bytes.NewReader(data)))
		if errors.Is(err, errNoJSON) {
			return
		}
		if err != nil {
			t.Fatalf("readMsgpack(%x): %v", data, err)
		}
		if out := appendJSON(nil, &v); !json.Valid(out) {
			t.Fatalf("%x read as %q: not JSON", data, out)
		}
	})
}
