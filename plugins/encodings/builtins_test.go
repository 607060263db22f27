package encodings_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/encodings/encodingtest"
	"github.com/vmihailenco/msgpack/v5"
)

// runThreeWays runs the conformance suite against a builtin directly,
// through the gRPC shims in this process, and as a plugin process.
func runThreeWays(t *testing.T, name string, s encodingtest.Suite) {
	newImpl, ok := encodings.Builtins().Lookup(name)
	if !ok {
		t.Fatalf("no builtin %q", name)
	}
	t.Run("direct", func(t *testing.T) {
		encodingtest.Run(t, func(*testing.T) encodings.Encoding { return newImpl() }, s)
	})
	t.Run("grpc", func(t *testing.T) {
		encodingtest.Run(t, func(t *testing.T) encodings.Encoding { return encodingtest.GRPC(t, newImpl()) }, s)
	})
	t.Run("process", func(t *testing.T) {
		// One process for the whole suite: starting one per subtest would
		// only test start-up again and again.
		e := encodingtest.Process(t, plugins.TestCommand(plugins.KindEncoding, name))
		encodingtest.Run(t, func(*testing.T) encodings.Encoding { return e }, s)
	})
}

func v(f encodings.Format, wire, stored string) encodingtest.Value {
	val := encodingtest.Value{Format: f, Wire: []byte(wire)}
	if stored != "" {
		val.Stored = []byte(stored)
	}
	return val
}

var jsonSuite = encodingtest.Suite{
	Name: "json",
	Valid: []encodingtest.Value{
		v("", `{"hello":"world"}`, `{"hello":"world"}`),
		v("json", " {\n \"b\" : 1,\t\"a\" : [1.0, 2e0, -0, 0.5e-6] }\r\n", `{"b":1,"a":[1,2,0,5e-7]}`),
		v("json", `"<script>&\u2028\u2029"`, "\"<script>&\u2028\u2029\""),
		v("json", `1e21`, `1e+21`),
		v("json", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`),
		v("json", `{"b":0,"10":1,"2":2,"01":3}`, `{"2":2,"10":1,"b":0,"01":3}`),
		v("json", `"\ud800 \uD83D\uDE00 \u0000 \/"`, "\"\\ud800 \U0001F600 \\u0000 /\""),
		v("json", `[]`, `[]`),
		v("json", `{}`, `{}`),
		v("json", `null`, `null`),
		v("json", `true`, `true`),
		v("json", `12345678901234567890`, `12345678901234567000`),
		v("json", `1e400`, `null`),
	},
	Invalid: []encodingtest.Value{
		v("json", ``, ""),
		v("json", `{`, ""),
		v("json", `nul`, ""),
		v("json", `1 2`, ""),
		v("json", `[1,]`, ""),
		v("json", `{'a':1}`, ""),
		v("json", `01`, ""),
		v("json", `.5`, ""),
		v("json", `NaN`, ""),
		v("json", "\"a\x01\"", ""),
		v("json", "\"\xff\"", ""),
		v("json", "\u00a01", ""),
	},
	InvalidBlocks: [][]byte{[]byte(`{`), []byte(`nope`)},
	Big: &encodingtest.Value{
		Format: "json",
		Wire:   []byte(`"` + strings.Repeat(`a\n<é>`, 200_000) + `"`),
		Stored: []byte(`"` + strings.Repeat(`a\n<é>`, 200_000) + `"`),
	},
}

func TestJSONConformance(t *testing.T) { runThreeWays(t, "json", jsonSuite) }

var allBytes = func() string {
	var b []byte
	for i := range 256 {
		b = append(b, byte(i))
	}
	return string(b)
}()

var binarySuite = encodingtest.Suite{
	Name: "binary",
	Valid: []encodingtest.Value{
		v("", "hello", "hello"),
		v("binary", allBytes, allBytes),
		{Format: "binary", Wire: []byte{}, Stored: []byte{}},
	},
	Big: &encodingtest.Value{Format: "binary", Wire: bytes.Repeat([]byte(allBytes), 4096)},
}

func TestBinaryConformance(t *testing.T) { runThreeWays(t, "binary", binarySuite) }

func mp(t testing.TB, x any) string {
	b, err := msgpack.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func msgpackSuite(t testing.TB) encodingtest.Suite {
	return encodingtest.Suite{
		Name: "msgpack",
		Valid: []encodingtest.Value{
			v("", mp(t, []any{int8(1), "two", nil, true, 1.5}), ""),
			v("msgpack", mp(t, map[string]any{"a": []byte{1, 2, 3}}), ""), // bin: no JSON form
			v("msgpack", "\xc0", "\xc0"),
			// {"a":1,"b":[true,null,1.5,"x"]}: fixmap 2, fixstr "a", 1,
			// fixstr "b", fixarray 4, true, nil, float64 1.5, fixstr "x".
			{
				Format: "json",
				Wire:   []byte(`{"a":1,"b":[true,null,1.5,"x"]}`),
				Stored: []byte("\x82\xa1a\x01\xa1b\x94\xc3\xc0\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa1x"),
				Read:   []byte(`{"a":1,"b":[true,null,1.5,"x"]}`),
			},
			// 2^53+1 parses to 2^53, beyond the safe integers: float64.
			{Format: "json", Wire: []byte(`9007199254740993`), Stored: []byte("\xcb\x43\x40\x00\x00\x00\x00\x00\x00"), Read: []byte(`9007199254740992`)},
			{Format: "json", Wire: []byte(`-1`), Stored: []byte("\xff"), Read: []byte(`-1`)},
			{Format: "json", Wire: []byte(`-0`), Stored: []byte("\x00"), Read: []byte(`0`)},
			{Format: "json", Wire: []byte(`{"b":1,"1":2}`), Stored: []byte("\x82\xa11\x02\xa1b\x01"), Read: []byte(`{"1":2,"b":1}`)},
			{Format: "json", Wire: []byte(`"<&>\u2028"`), Stored: []byte("\xa6<&>\u2028"), Read: []byte("\"<&>\u2028\"")},
		},
		Invalid: []encodingtest.Value{
			v("msgpack", "\xc1", ""),
			v("msgpack", "\x92\x01", ""),
			v("msgpack", "\x01\x02", ""),
			v("msgpack", "\xd9\x05ab", ""),
			v("msgpack", "\xdb\xff\xff\xff\xff", ""), // claims a 4 GiB string
			v("msgpack", "", ""),
			v("json", "{", ""),
		},
		InvalidBlocks: [][]byte{[]byte("\xc1"), []byte("\x93\x01"), {}},
		Big:           &encodingtest.Value{Format: "json", Wire: []byte(`"` + strings.Repeat("abcdefgh", 128<<10) + `"`)},
	}
}

func TestMsgpackConformance(t *testing.T) { runThreeWays(t, "msgpack", msgpackSuite(t)) }
