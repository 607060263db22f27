// Package encodingtest is the conformance suite of corebridge encodings.
// Every encoding, builtin or external, runs it, in each way it can be run:
//
//	func TestConformance(t *testing.T) {
//		encodingtest.Run(t, func(t *testing.T) encodings.Encoding { return myEncoding{} }, suite)
//		encodingtest.Run(t, func(t *testing.T) encodings.Encoding { return encodingtest.GRPC(t, myEncoding{}) }, suite)
//		encodingtest.Run(t, func(t *testing.T) encodings.Encoding { return encodingtest.Process(t, cmd) }, suite)
//	}
//
// The suite checks the contract of encodings.Encoding: Info, the default
// format, unsupported formats, empty batches, exact stored bytes where the
// Suite gives them, round trips through every format, batches that match
// single calls, errors that name the bad value and match the sentinels,
// cancellation and concurrent use.
package encodingtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Value is a value as a client sends it, and what the encoding must make
// of it.
type Value struct {
	Format encodings.Format // the wire format Wire is in; empty: the default
	Wire   []byte
	// Stored, when non-nil, is the exact block Encode must produce.
	Stored []byte
	// Read, when non-nil, is the exact value Decode must return for the
	// block in Format.
	Read []byte
}

func (v Value) String() string {
	w := string(v.Wire)
	if len(w) > 40 {
		w = w[:40] + "…"
	}
	return fmt.Sprintf("%s %q", formatName(v.Format), w)
}

func formatName(f encodings.Format) string {
	if f == encodings.FormatDefault {
		return "(default)"
	}
	return string(f)
}

// Suite is what Run needs to know about one encoding.
type Suite struct {
	// Name is the name the encoding must report in Info.
	Name string
	// Valid values must encode; their blocks must decode in the value's
	// format and encode again to the same block, and decode in every
	// other format the encoding supports (or fail as ErrNotRepresentable)
	// to a value whose trips through that format are stable. At least
	// one is needed.
	Valid []Value
	// Invalid values must fail Encode with ErrInvalidValue.
	Invalid []Value
	// InvalidBlocks must fail Decode with ErrInvalidBlock in every format.
	InvalidBlocks [][]byte
	// Big, when set, is a large valid value (a megabyte or so) that must
	// survive a round trip.
	Big *Value
}

var equal = cmpopts.EquateEmpty()

// Run runs the suite against encodings made by newEncoding, one per
// subtest.
func Run(t *testing.T, newEncoding func(t *testing.T) encodings.Encoding, s Suite) {
	t.Helper()
	if len(s.Valid) == 0 {
		t.Fatal("encodingtest: Suite.Valid is empty")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, e encodings.Encoding, s Suite)
	}{
		{"Info", testInfo},
		{"Verbatim", testVerbatim},
		{"DefaultFormat", testDefaultFormat},
		{"UnsupportedFormat", testUnsupportedFormat},
		{"EmptyBatch", testEmptyBatch},
		{"Valid", testValid},
		{"Batch", testBatch},
		{"Invalid", testInvalid},
		{"InvalidBlocks", testInvalidBlocks},
		{"Canceled", testCanceled},
		{"Concurrent", testConcurrent},
		{"Big", testBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newEncoding(t), s)
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func info(t *testing.T, ctx context.Context, e encodings.Encoding) encodings.Info {
	t.Helper()
	in, err := e.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return in
}

func testInfo(t *testing.T, e encodings.Encoding, s Suite) {
	in := info(t, testContext(t), e)
	if in.Name != s.Name {
		t.Errorf("Info().Name = %q, want %q", in.Name, s.Name)
	}
	if len(in.Formats) == 0 {
		t.Fatalf("Info().Formats is empty")
	}
	seen := map[encodings.Format]bool{}
	for _, f := range in.Formats {
		if f == encodings.FormatDefault || seen[f] {
			t.Errorf("Info().Formats = %q: formats must be named and distinct", in.Formats)
		}
		seen[f] = true
	}
}

// testVerbatim checks that every format the encoding declares verbatim is
// one of its formats and that Encode and Decode in it return their input
// unchanged, for the suite's values and for arbitrary bytes: the bridge
// skips those calls, so an encoding that breaks its word would store and
// serve something other than it says.
func testVerbatim(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	in := info(t, ctx, e)
	inputs := [][]byte{{}, []byte("plain"), {0, 0xff, 0x80, '"', '{'}, []byte(`{"a":1}`)}
	for _, v := range s.Valid {
		inputs = append(inputs, v.Wire)
	}
	for _, f := range in.Verbatim {
		if !slices.Contains(in.Formats, f) {
			t.Errorf("Info().Verbatim lists %q, which is not among Formats %q", f, in.Formats)
			continue
		}
		for what, call := range map[string]func(context.Context, encodings.Format, [][]byte) ([][]byte, error){"Encode": e.Encode, "Decode": e.Decode} {
			out, err := call(ctx, f, inputs)
			if err != nil {
				t.Errorf("%s in verbatim format %q: %v", what, f, err)
				continue
			}
			if diff := cmp.Diff(inputs, out, equal); diff != "" {
				t.Errorf("%s in verbatim format %q changed its input (-in +out):\n%s", what, f, diff)
			}
		}
	}
}

// encode1 encodes one value and fails the test on error.
func encode1(t *testing.T, ctx context.Context, e encodings.Encoding, f encodings.Format, v []byte) []byte {
	t.Helper()
	out, err := e.Encode(ctx, f, [][]byte{v})
	if err != nil {
		t.Fatalf("Encode(%s, %q): %v", formatName(f), v, err)
	}
	if len(out) != 1 {
		t.Fatalf("Encode of 1 value returned %d blocks", len(out))
	}
	return out[0]
}

func testDefaultFormat(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	in := info(t, ctx, e)
	for _, v := range s.Valid {
		f := v.Format
		if f == encodings.FormatDefault {
			f = in.Formats[0]
		}
		if f != in.Formats[0] {
			continue
		}
		a := encode1(t, ctx, e, encodings.FormatDefault, v.Wire)
		b := encode1(t, ctx, e, in.Formats[0], v.Wire)
		if !bytes.Equal(a, b) {
			t.Errorf("%v: default format stores %x, %s stores %x", v, a, in.Formats[0], b)
		}
		da, err := e.Decode(ctx, encodings.FormatDefault, [][]byte{a})
		if err != nil {
			t.Fatalf("Decode(default): %v", err)
		}
		db, err := e.Decode(ctx, in.Formats[0], [][]byte{a})
		if err != nil {
			t.Fatalf("Decode(%s): %v", in.Formats[0], err)
		}
		if diff := cmp.Diff(db, da, equal); diff != "" {
			t.Errorf("%v: Decode(default) differs from Decode(%s) (-%s +default):\n%s", v, in.Formats[0], in.Formats[0], diff)
		}
	}
}

func testUnsupportedFormat(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	const bogus encodings.Format = "no-such-format"
	_, err := e.Encode(ctx, bogus, [][]byte{s.Valid[0].Wire})
	checkErr(t, "Encode(no-such-format)", err, encodings.ErrUnsupportedFormat, string(bogus))
	stored := encode1(t, ctx, e, s.Valid[0].Format, s.Valid[0].Wire)
	_, err = e.Decode(ctx, bogus, [][]byte{stored})
	checkErr(t, "Decode(no-such-format)", err, encodings.ErrUnsupportedFormat, string(bogus))
}

// checkErr checks that err matches target and that its message contains
// each of words.
func checkErr(t *testing.T, what string, err, target error, words ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one that matches %q", what, err, target)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

func testEmptyBatch(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	for _, f := range info(t, ctx, e).Formats {
		for _, batch := range [][][]byte{nil, {}} {
			out, err := e.Encode(ctx, f, batch)
			if err != nil || len(out) != 0 {
				t.Errorf("Encode(%s, %#v) = %q, %v; want no blocks, no error", f, batch, out, err)
			}
			out, err = e.Decode(ctx, f, batch)
			if err != nil || len(out) != 0 {
				t.Errorf("Decode(%s, %#v) = %q, %v; want no values, no error", f, batch, out, err)
			}
		}
	}
}

func testValid(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	in := info(t, ctx, e)
	for _, v := range s.Valid {
		stored := encode1(t, ctx, e, v.Format, v.Wire)
		if v.Stored != nil && !bytes.Equal(stored, v.Stored) {
			t.Errorf("%v: stored\n\t%q (%x), want\n\t%q (%x)", v, stored, stored, v.Stored, v.Stored)
		}
		if v.Read != nil {
			got, err := e.Decode(ctx, v.Format, [][]byte{stored})
			if err != nil {
				t.Errorf("%v: Decode: %v", v, err)
			} else if !bytes.Equal(got[0], v.Read) {
				t.Errorf("%v: read back %q, want %q", v, got[0], v.Read)
			}
		}
		// Reading the block in the value's own format and writing it back
		// gives the same block. In other formats, the first trip may
		// normalize the value (say, to the form JSON gives it), but a
		// second trip must change nothing.
		for _, f := range in.Formats {
			got, err := e.Decode(ctx, f, [][]byte{stored})
			if errors.Is(err, encodings.ErrNotRepresentable) {
				continue
			}
			if err != nil {
				t.Errorf("%v: Decode(%s): %v", v, f, err)
				continue
			}
			again := encode1(t, ctx, e, f, got[0])
			own := f == v.Format || (v.Format == encodings.FormatDefault && f == in.Formats[0])
			if own {
				if !bytes.Equal(again, stored) {
					t.Errorf("%v: read back (%q) and written again, stored %x, first stored %x", v, got[0], again, stored)
				}
				continue
			}
			got2, err := e.Decode(ctx, f, [][]byte{again})
			if err != nil {
				t.Errorf("%v: Decode(%s) of its %s form: %v", v, f, f, err)
				continue
			}
			if third := encode1(t, ctx, e, f, got2[0]); !bytes.Equal(third, again) {
				t.Errorf("%v: through %s twice stored %x, once stored %x", v, f, third, again)
			}
		}
	}
}

func testBatch(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	byFormat := map[encodings.Format][]Value{}
	for _, v := range s.Valid {
		byFormat[v.Format] = append(byFormat[v.Format], v)
	}
	for f, vs := range byFormat {
		var batch, want [][]byte
		for range 3 { // repeats, in case an encoding reuses buffers across a batch
			for _, v := range vs {
				batch = append(batch, v.Wire)
				want = append(want, encode1(t, ctx, e, f, v.Wire))
			}
		}
		got, err := e.Encode(ctx, f, batch)
		if err != nil {
			t.Fatalf("Encode(%s) of a batch of %d: %v", formatName(f), len(batch), err)
		}
		if diff := cmp.Diff(want, got, equal); diff != "" {
			t.Errorf("Encode(%s) of a batch differs from one call per value (-single +batch):\n%s", formatName(f), diff)
		}
		var wantRead [][]byte
		for _, b := range want {
			r, err := e.Decode(ctx, f, [][]byte{b})
			if err != nil {
				t.Fatalf("Decode(%s, %q): %v", formatName(f), b, err)
			}
			wantRead = append(wantRead, r[0])
		}
		gotRead, err := e.Decode(ctx, f, got)
		if err != nil {
			t.Fatalf("Decode(%s) of a batch: %v", formatName(f), err)
		}
		if diff := cmp.Diff(wantRead, gotRead, equal); diff != "" {
			t.Errorf("Decode(%s) of a batch differs from one call per block (-single +batch):\n%s", formatName(f), diff)
		}
	}
}

func testInvalid(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	for _, v := range s.Invalid {
		// The bad value is second in its batch, so the error must say 1.
		batch := [][]byte{firstValid(s, v.Format), v.Wire, firstValid(s, v.Format)}
		out, err := e.Encode(ctx, v.Format, batch)
		if out != nil && err != nil {
			t.Errorf("%v: Encode returned blocks with its error", v)
		}
		checkErr(t, fmt.Sprintf("Encode %v", v), err, encodings.ErrInvalidValue, "value 1")
	}
}

// firstValid returns a valid value in format f, for batches that need one.
func firstValid(s Suite, f encodings.Format) []byte {
	for _, v := range s.Valid {
		if v.Format == f {
			return v.Wire
		}
	}
	return s.Valid[0].Wire
}

func testInvalidBlocks(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	good := encode1(t, ctx, e, s.Valid[0].Format, s.Valid[0].Wire)
	for _, f := range info(t, ctx, e).Formats {
		for _, b := range s.InvalidBlocks {
			out, err := e.Decode(ctx, f, [][]byte{good, b})
			if out != nil && err != nil {
				t.Errorf("Decode(%s, %q) returned values with its error", f, b)
			}
			checkErr(t, fmt.Sprintf("Decode(%s, %q)", f, b), err, encodings.ErrInvalidBlock, "block 1")
		}
	}
}

func testCanceled(t *testing.T, e encodings.Encoding, s Suite) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := s.Valid[0]
	_, err := e.Info(ctx)
	checkErr(t, "Info with a canceled context", err, context.Canceled)
	_, err = e.Encode(ctx, v.Format, [][]byte{v.Wire})
	checkErr(t, "Encode with a canceled context", err, context.Canceled)
	_, err = e.Decode(ctx, v.Format, [][]byte{v.Wire})
	checkErr(t, "Decode with a canceled context", err, context.Canceled)
}

func testConcurrent(t *testing.T, e encodings.Encoding, s Suite) {
	ctx := testContext(t)
	want := make([][]byte, len(s.Valid))
	for i, v := range s.Valid {
		want[i] = encode1(t, ctx, e, v.Format, v.Wire)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, v := range s.Valid {
				got, err := e.Encode(ctx, v.Format, [][]byte{v.Wire})
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got[0], want[i]) {
					errs <- fmt.Errorf("%v: concurrent Encode stored %x, want %x", v, got[0], want[i])
					return
				}
				if _, err := e.Decode(ctx, v.Format, got); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testBig(t *testing.T, e encodings.Encoding, s Suite) {
	if s.Big == nil {
		t.Skip("Suite.Big not set")
	}
	ctx := testContext(t)
	v := *s.Big
	stored := encode1(t, ctx, e, v.Format, v.Wire)
	if v.Stored != nil && !bytes.Equal(stored, v.Stored) {
		t.Errorf("big value: stored %d bytes that differ from the %d expected", len(stored), len(v.Stored))
	}
	got, err := e.Decode(ctx, v.Format, [][]byte{stored})
	if err != nil {
		t.Fatalf("big value: Decode: %v", err)
	}
	if !bytes.Equal(encode1(t, ctx, e, v.Format, got[0]), stored) {
		t.Errorf("big value: read back and written again, it is stored differently")
	}
}
