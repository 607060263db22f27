package encodings_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/google/go-cmp/cmp"
)

func TestBuiltins(t *testing.T) {
	if diff := cmp.Diff([]string{"binary", "json", "msgpack"}, encodings.Builtins().Names()); diff != "" {
		t.Errorf("builtins (-want +got):\n%s", diff)
	}
	for _, name := range encodings.Builtins().Names() {
		f, _ := encodings.Builtins().Lookup(name)
		info, err := f().Info(context.Background())
		if err != nil || info.Name != name {
			t.Errorf("builtin %q reports Info %+v, %v", name, info, err)
		}
	}
}

func TestNewRegistryCopies(t *testing.T) {
	m := map[string]func() encodings.Encoding{"json": encodings.JSON}
	r := encodings.NewRegistry(m)
	delete(m, "json")
	m["binary"] = encodings.Binary
	if diff := cmp.Diff([]string{"json"}, r.Names()); diff != "" {
		t.Errorf("registry changed with the map it was made from (-want +got):\n%s", diff)
	}
}

// TestOpenInProcessAndProcessAgree opens json both ways: results and error
// messages must be the same.
func TestOpenInProcessAndProcessAgree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inproc, closer, err := encodings.Open(ctx, encodings.Spec{Builtins: encodings.Builtins(), Name: "json", InProcess: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if pid := encodings.Pid(inproc); pid != 0 {
		t.Errorf("in-process encoding has pid %d", pid)
	}
	proc := openProcess(t, ctx, "json")
	if pid := encodings.Pid(proc); pid == 0 || pid == os.Getpid() {
		t.Errorf("process encoding has pid %d", pid)
	}

	values := [][]byte{[]byte(`{"z":1,"a":[0.5]}`), []byte(`"x"`)}
	a, err := inproc.Encode(ctx, "", values)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proc.Encode(ctx, "", values)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("in process and process store differently (-in +out):\n%s", diff)
	}

	bad := [][]byte{[]byte(`1`), []byte(`{"a" 1}`)}
	_, errIn := inproc.Encode(ctx, "", bad)
	_, errOut := proc.Encode(ctx, "", bad)
	want := `encoding plugin "json": value 1: invalid value: not JSON: unexpected '1', want ':' at byte 5`
	for _, err := range []error{errIn, errOut} {
		if !errors.Is(err, encodings.ErrInvalidValue) {
			t.Errorf("error %v does not match ErrInvalidValue", err)
		}
		if err == nil || err.Error() != want {
			t.Errorf("error\n\t%v\nwant\n\t%s", err, want)
		}
	}
	_, errIn = inproc.Decode(ctx, "msgpack", values)
	_, errOut = proc.Decode(ctx, "msgpack", values)
	for _, err := range []error{errIn, errOut} {
		if !errors.Is(err, encodings.ErrUnsupportedFormat) || !strings.Contains(err.Error(), `format "msgpack"`) {
			t.Errorf("Decode(msgpack) on json: %v, want ErrUnsupportedFormat naming the format", err)
		}
	}
}

func TestOpenNotFound(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, _, err := encodings.Open(ctx, encodings.Spec{Builtins: encodings.Builtins(), Name: "cbor", Dir: dir}, nil)
	if !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("external plugin that is not there: %v, want plugins.ErrNotFound", err)
	}
	for _, w := range []string{"corebridge-encoding-cbor", dir, "builtins: [binary json msgpack]"} {
		if err != nil && !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	_, _, err = encodings.Open(ctx, encodings.Spec{Builtins: encodings.Builtins(), Name: "cbor", InProcess: true}, nil)
	if !errors.Is(err, plugins.ErrNotFound) || !strings.Contains(err.Error(), "in_process") {
		t.Errorf("in_process for a non-builtin: %v, want plugins.ErrNotFound that mentions in_process", err)
	}
	if err := encodings.Builtins().Serve("cbor"); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("Serve(cbor): %v, want plugins.ErrNotFound", err)
	}
	// A file that is there but not executable.
	if err := os.WriteFile(filepath.Join(dir, "corebridge-encoding-cbor"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = encodings.Open(ctx, encodings.Spec{Builtins: encodings.Builtins(), Name: "cbor", Dir: dir}, nil)
	if !errors.Is(err, plugins.ErrNotFound) || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("non-executable plugin: %v, want plugins.ErrNotFound saying it is not executable", err)
	}
}

// TestVerbatimFormatsSkipThePlugin checks that the host makes no call to a
// plugin process in a format the encoding declares verbatim, and still
// makes every other call. The "upper" test encoding breaks its own
// declaration on purpose, so the bytes show whether the call was made.
func TestVerbatimFormatsSkipThePlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := openProcess(t, ctx, "upper")
	in := [][]byte{[]byte("abc"), {}, []byte("x")}
	for _, tc := range []struct {
		format encodings.Format
		want   string
	}{
		{"", "abc||x"}, // the default format is as-is, declared verbatim
		{"as-is", "abc||x"},
		{"shout", "ABC||X"},
		{"unknown", "ABC||X"}, // not declared: the plugin decides
	} {
		enc, err := e.Encode(ctx, tc.format, in)
		if err != nil {
			t.Fatalf("Encode(%q): %v", tc.format, err)
		}
		dec, err := e.Decode(ctx, tc.format, in)
		if err != nil {
			t.Fatalf("Decode(%q): %v", tc.format, err)
		}
		for what, got := range map[string][][]byte{"Encode": enc, "Decode": dec} {
			if s := string(bytes.Join(got, []byte("|"))); s != tc.want {
				t.Errorf("%s(%q) = %q, want %q", what, tc.format, s, tc.want)
			}
		}
	}
	canceled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if _, err := e.Encode(canceled, "as-is", in); !errors.Is(err, context.Canceled) {
		t.Errorf("verbatim Encode with a canceled context: %v, want context.Canceled", err)
	}
}
