package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/encodings/encodingtest"
	"github.com/fxamacker/cbor/v2"
)

func mustCBOR(t testing.TB, x any) []byte {
	b, err := cbor.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func suite(t testing.TB) encodingtest.Suite {
	return encodingtest.Suite{
		Name: "cbor",
		Valid: []encodingtest.Value{
			{Format: "", Wire: mustCBOR(t, map[string]any{"a": 1, "b": []any{true, nil, 1.5}})},
			{Format: "cbor", Wire: mustCBOR(t, []byte{1, 2, 3})}, // a byte string: no JSON form
			// {"b":[1,-2],"a":"x"} as deterministic CBOR: map(2), "a", "x",
			// "b", array(2), 1, -2 (keys sorted).
			{
				Format: "json",
				Wire:   []byte(`{"b":[1,-2],"a":"x"}`),
				Stored: []byte("\xa2\x61a\x61x\x61b\x82\x01\x21"),
				Read:   []byte(`{"a":"x","b":[1,-2]}`),
			},
			// 1.5 is exact as a half-precision float: f9 3e00.
			{Format: "json", Wire: []byte(`1.5`), Stored: []byte("\xf9\x3e\x00"), Read: []byte(`1.5`)},
			{Format: "json", Wire: []byte(`"<&>"`), Stored: []byte("\x63<&>"), Read: []byte(`"<&>"`)},
		},
		Invalid: []encodingtest.Value{
			{Format: "cbor", Wire: []byte{}},
			{Format: "cbor", Wire: []byte("\x82\x01")},     // array of 2 with 1 item
			{Format: "cbor", Wire: []byte("\x01\x02")},     // two items
			{Format: "cbor", Wire: []byte("\x7b\xff\xff")}, // text claiming a huge length
			{Format: "json", Wire: []byte(`{"a":`)},
			{Format: "json", Wire: []byte(`1 2`)},
		},
		InvalidBlocks: [][]byte{{}, []byte("\x82\x01"), []byte("\xff")},
	}
}

// build compiles the plugin as a user would, into a fresh plugin directory.
func build(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the plugin with")
	}
	dir := t.TempDir()
	out, err := exec.Command(gobin, "build", "-o", filepath.Join(dir, "corebridge-encoding-cbor"), ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func TestConformance(t *testing.T) {
	s := suite(t)
	t.Run("direct", func(t *testing.T) {
		encodingtest.Run(t, func(*testing.T) encodings.Encoding { return newCBOR() }, s)
	})
	t.Run("grpc", func(t *testing.T) {
		encodingtest.Run(t, func(t *testing.T) encodings.Encoding { return encodingtest.GRPC(t, newCBOR()) }, s)
	})
	t.Run("process", func(t *testing.T) {
		cmd, err := plugins.ExternalCommand(build(t), plugins.KindEncoding, "cbor")
		if err != nil {
			t.Fatal(err)
		}
		e := encodingtest.Process(t, cmd)
		encodingtest.Run(t, func(*testing.T) encodings.Encoding { return e }, s)
	})
}

// TestOpenFromPluginDir opens the plugin the way the bridge does for a
// core with "valueEncoding": "cbor", and reads a CBOR value as JSON.
func TestOpenFromPluginDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, closer, err := encodings.Open(ctx, encodings.Spec{Builtins: encodings.Builtins(), Name: "cbor", Dir: build(t)}, encodingtest.TestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	blocks, err := e.Encode(ctx, "json", [][]byte{[]byte(`{"temperature": 21.5, "unit": "C"}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Decode(ctx, "json", blocks)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"temperature":21.5,"unit":"C"}`; string(got[0]) != want {
		t.Errorf("read back %s, want %s", got[0], want)
	}
	_, err = e.Decode(ctx, "json", [][]byte{mustCBOR(t, []byte("raw"))})
	if !errors.Is(err, encodings.ErrNotRepresentable) {
		t.Errorf("byte string read as JSON: %v, want ErrNotRepresentable", err)
	}
}
