package nats

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// Parsers of client bytes: append batches, block requests and store.get
// requests. The fuzz targets' seeds are in testdata/fuzz/Fuzz*, which a
// plain go test replays; run one with
//
//	go test ./nats -run '^$' -fuzz FuzzSplitBatch -fuzztime 2m

// maxErrorMessage bounds what an error echoes of a request: error
// messages travel in a reply header.
const maxErrorMessage = 512

// checkRequestError checks that err is an [*Error] with one of codes and a
// message of bounded size.
func checkRequestError(t *testing.T, err error, codes ...int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if !slices.Contains(codes, e.Code) {
		t.Fatalf("error %q has code %d, want one of %v", e.Message, e.Code, codes)
	}
	if len(e.Message) > maxErrorMessage {
		t.Fatalf("error message is %d bytes, over %d: %.200q...", len(e.Message), maxErrorMessage, e.Message)
	}
	if e.Message == "" || !utf8.ValidString(e.Message) {
		t.Fatalf("error message %q is empty or not UTF-8", e.Message)
	}
}

func TestSplitBatch(t *testing.T) {
	frames := func(vs ...string) []byte {
		var b [][]byte
		for _, v := range vs {
			b = append(b, []byte(v))
		}
		return AppendFrames(nil, b...)
	}
	tests := []struct {
		framing string
		body    []byte
		max     int
		want    []string
		code    int
		phrase  string
	}{
		{"", []byte("one value"), 100, []string{"one value"}, 0, ""},
		{"", nil, 100, []string{""}, 0, ""},
		{"", []byte("[1, 2]"), 100, []string{"[1, 2]"}, 0, ""}, // no header: one value
		{"", []byte("12345"), 4, nil, 413, "value is 5 bytes, over the limit of 4"},
		{BatchFrames, frames("a", "", "ccc"), 3, []string{"a", "", "ccc"}, 0, ""},
		{BatchFrames, frames(""), 0, []string{""}, 0, ""},
		{BatchFrames, frames("a", "bbbb"), 3, nil, 413, "batch value 1 is 4 bytes"},
		{BatchFrames, nil, 3, nil, 400, "batch has no values"},
		{BatchFrames, []byte{0, 0, 0}, 3, nil, 400, "frame 0: 3 bytes left, too few"},
		{BatchFrames, append(frames("a"), 0, 0, 0, 2, 'x'), 3, nil, 400, "frame 1 says 2 bytes but 1 are left"},
		{BatchFrames, []byte{0xff, 0xff, 0xff, 0xff}, 1 << 20, nil, 413, "batch value 0 is 4294967295 bytes"},
		{BatchJSON, []byte(` [1, "two", {"three": [3]}, null] `), 100, []string{`1`, `"two"`, `{"three": [3]}`, `null`}, 0, ""},
		{BatchJSON, []byte(`[]`), 100, nil, 400, "batch has no values"},
		{BatchJSON, []byte(`null`), 100, nil, 400, "batch has no values"},
		{BatchJSON, []byte(`{"a": 1}`), 100, nil, 400, "not a JSON array"},
		{BatchJSON, []byte(`[1, 2`), 100, nil, 400, "not a JSON array"},
		{BatchJSON, []byte(`[1] [2]`), 100, nil, 400, "not a JSON array"},
		{BatchJSON, []byte(`["abcdef"]`), 5, nil, 413, "batch value 0 is 8 bytes"},
		{"json ", []byte(`[1]`), 100, nil, 400, `"json " is not a known framing; use "json" or "frames"`},
		{"Frames", frames("a"), 100, nil, 400, "not a known framing"},
	}
	for _, tt := range tests {
		got, err := splitBatch(tt.framing, tt.body, tt.max)
		if tt.code != 0 {
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.phrase) {
				t.Errorf("splitBatch(%q, %q, %d) = %q, %v; want %d ...%s...", tt.framing, tt.body, tt.max, got, err, tt.code, tt.phrase)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitBatch(%q, %q, %d): %v", tt.framing, tt.body, tt.max, err)
			continue
		}
		var gotS []string
		for _, v := range got {
			gotS = append(gotS, string(v))
		}
		if diff := cmp.Diff(tt.want, gotS); diff != "" {
			t.Errorf("splitBatch(%q, %q, %d) (-want +got):\n%s", tt.framing, tt.body, tt.max, diff)
		}
	}
}

func TestSplitBatchLimitsValueCount(t *testing.T) {
	body := bytes.Repeat([]byte{0, 0, 0, 0}, maxBatchValues)
	if v, err := splitBatch(BatchFrames, body, 10); err != nil || len(v) != maxBatchValues {
		t.Errorf("%d empty frames: %d values, %v", maxBatchValues, len(v), err)
	}
	_, err := splitBatch(BatchFrames, append(body, 0, 0, 0, 0), 10)
	checkRequestError(t, err, CodeTooLarge)
	arr := "[" + strings.Repeat("0,", maxBatchValues) + "0]"
	_, err = splitBatch(BatchJSON, []byte(arr), 10)
	checkRequestError(t, err, CodeTooLarge)
}

// Values a batch returns share the body's memory but cannot grow into the
// next value.
func TestSplitFramesCapsValues(t *testing.T) {
	body := AppendFrames(nil, []byte("ab"), []byte("cd"))
	v, err := splitBatch(BatchFrames, body, 10)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(v[0], 'X')
	if string(v[1]) != "cd" {
		t.Errorf("appending to value 0 changed value 1 to %q", v[1])
	}
}

func TestAppendFrames(t *testing.T) {
	got := AppendFrames([]byte("prefix"), []byte("a"), nil, []byte("xyz"))
	want := []byte("prefix\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x03xyz")
	if !bytes.Equal(got, want) {
		t.Errorf("AppendFrames = %q, want %q", got, want)
	}
	if got := AppendFrames(nil); len(got) != 0 {
		t.Errorf("AppendFrames() = %q", got)
	}
}

func TestParseBlockRequest(t *testing.T) {
	tests := []struct {
		in     string
		want   blockRequest
		phrase string // non-empty: a 400 with this phrase
	}{
		{in: "0", want: blockRequest{Index: 0}},
		{in: " 42\r\n", want: blockRequest{Index: 42}},
		{in: "18446744073709551615", want: blockRequest{Index: 1<<64 - 1}},
		{in: "007", want: blockRequest{Index: 7}},
		{in: `{"index": 5}`, want: blockRequest{Index: 5}},
		{in: `{"index": 5, "wait": false}`, want: blockRequest{Index: 5}},
		{in: `{"index": 5, "wait": true}`, want: blockRequest{Index: 5, Wait: true, Timeout: defaultBlockWait}},
		{in: ` {"timeout": "1.5s", "wait": true, "index": 0} `, want: blockRequest{Wait: true, Timeout: 1500 * time.Millisecond}},
		{in: `{"index": 1, "wait": true, "timeout": "10m"}`, want: blockRequest{Index: 1, Wait: true, Timeout: maxBlockWait}},
		{in: `{"index": 1, "wait": true, "timeout": ""}`, want: blockRequest{Index: 1, Wait: true, Timeout: defaultBlockWait}},
		{in: "", phrase: "block request is empty"},
		{in: " \n", phrase: "block request is empty"},
		{in: "x", phrase: `block index "x" is not a non-negative decimal number`},
		{in: "1 2", phrase: "not a non-negative decimal"},
		{in: "0x10", phrase: "not a non-negative decimal"},
		{in: "18446744073709551616", phrase: "not a non-negative decimal"},
		{in: strings.Repeat("9", 1000), phrase: `"` + strings.Repeat("9", 40) + `..."`},
		{in: "[5]", phrase: "not a non-negative decimal"},
		{in: `{}`, phrase: `has no "index"`},
		{in: `{"index": null}`, phrase: `has no "index"`},
		{in: `{"index": "5"}`, phrase: "not valid JSON"},
		{in: `{"index": 1e2}`, phrase: "not valid JSON"},
		{in: `{"index": 5, "extra": 1}`, phrase: `unknown field "extra"`},
		{in: `{"index": 5}}`, phrase: "data after its JSON object"},
		{in: `{"index": 5}]`, phrase: "data after its JSON object"},
		{in: `{"index": 5} {}`, phrase: "data after its JSON object"},
		{in: `{"index": 5, "wait": "yes"}`, phrase: "not valid JSON"},
		{in: `{"index": 5, "timeout": "1s"}`, phrase: `"timeout" but not "wait": true`},
		{in: `{"index": 5, "wait": true, "timeout": "0s"}`, phrase: "not a positive duration"},
		{in: `{"index": 5, "wait": true, "timeout": 5}`, phrase: "not valid JSON"},
		{in: `{"index": 5, "wait": true, "timeout": "10m1s"}`, phrase: "over the limit of 10m0s"},
	}
	for _, tt := range tests {
		got, err := parseBlockRequest([]byte(tt.in))
		if tt.phrase != "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeBadRequest || !strings.Contains(e.Message, tt.phrase) {
				t.Errorf("parseBlockRequest(%.60q) = %+v, %v; want 400 ...%s...", tt.in, got, err, tt.phrase)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseBlockRequest(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseGetRequest(t *testing.T) {
	key := strings.Repeat("ab", 32)
	tests := []struct {
		in     string
		want   getRequest
		phrase string // non-empty: a 400 with this phrase
	}{
		{in: `{"name": "core-1"}`, want: getRequest{Name: "core-1"}},
		{in: `{"name": "core-1", "namespace": ["app", "v2"], "valueEncoding": "json"}`, want: getRequest{Name: "core-1", Namespace: []string{"app", "v2"}, ValueEncoding: "json"}},
		{in: `{"name": "c", "namespace": []}`, want: getRequest{Name: "c", Namespace: []string{}}},
		{in: `{"name": "c", "namespace": null}`, want: getRequest{Name: "c"}},
		{in: `{"key": "` + key + `"}`, want: getRequest{Key: key}},
		{in: "\n{\"name\": \"ключ 🔑\"}\n", want: getRequest{Name: "ключ 🔑"}},
		{in: ``, phrase: "must be JSON"},
		{in: `name`, phrase: "must be JSON"},
		{in: `"core-1"`, phrase: "must be JSON"},
		{in: `{"name": "x"`, phrase: "must be JSON"},
		{in: `{"name": "x"} {}`, phrase: "data after its JSON object"},
		{in: `{"name": "x"}}`, phrase: "data after its JSON object"},
		{in: `{"name": "x"}]`, phrase: "data after its JSON object"},
		{in: `{"name": "x", "encoding": "json"}`, phrase: `unknown field "encoding"`},
		{in: `{"name": "x", "namespace": "app"}`, phrase: "must be JSON"},
		{in: `{"name": "x", "namespace": ["app", ""]}`, phrase: "namespace element 1 is empty"},
		{in: `{"name": "a\u0000"}`, phrase: "NUL"},
		{in: `{}`, phrase: `needs a "name"`},
		{in: `{"name": ""}`, phrase: `needs a "name"`},
		{in: `{"valueEncoding": "json"}`, phrase: `needs a "name"`},
		{in: `{"name": "x", "key": "` + key + `"}`, phrase: `both "name" and "key"`},
		{in: `{"key": "` + key + `", "namespace": ["a"]}`, phrase: `takes no "namespace"`},
		{in: `{"key": "` + key + `", "valueEncoding": "json"}`, phrase: `takes no "namespace" or "valueEncoding"`},
		{in: `{"` + strings.Repeat("f", 10000) + `": 1}`, phrase: "unknown field"},
	}
	for _, tt := range tests {
		got, err := parseGetRequest([]byte(tt.in))
		if tt.phrase != "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeBadRequest || !strings.Contains(e.Message, tt.phrase) {
				t.Errorf("parseGetRequest(%.60q) = %+v, %v; want 400 ...%s...", tt.in, got, err, tt.phrase)
				continue
			}
			checkRequestError(t, err, CodeBadRequest)
			continue
		}
		if err != nil {
			t.Errorf("parseGetRequest(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseGetRequest(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzSplitBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, framing string, body []byte, max uint32) {
		maxValue := int(max % (1 << 21))
		values, err := splitBatch(framing, body, maxValue)
		if err != nil {
			checkRequestError(t, err, CodeBadRequest, CodeTooLarge)
			if values != nil {
				t.Fatalf("values %q with error %v", values, err)
			}
			return
		}
		if len(values) == 0 || len(values) > maxBatchValues {
			t.Fatalf("%d values", len(values))
		}
		for i, v := range values {
			if len(v) > maxValue {
				t.Fatalf("value %d is %d bytes, over %d", i, len(v), maxValue)
			}
		}
		switch framing {
		case "":
			if len(values) != 1 || !bytes.Equal(values[0], body) {
				t.Fatalf("one value: %q", values)
			}
		case BatchFrames:
			if again := AppendFrames(nil, values...); !bytes.Equal(again, body) {
				t.Fatalf("frames %q framed again are %q", body, again)
			}
		case BatchJSON:
			var all []json.RawMessage
			if err := json.Unmarshal(body, &all); err != nil || len(all) != len(values) {
				t.Fatalf("%d values from a body that is %d values (%v)", len(values), len(all), err)
			}
			for i, v := range values {
				if !json.Valid(v) || !bytes.Equal(v, all[i]) {
					t.Fatalf("value %d %q, want %q", i, v, all[i])
				}
			}
		default:
			t.Fatalf("framing %q accepted", framing)
		}
	})
}

func FuzzParseBlockRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseBlockRequest(body)
		if err != nil {
			checkRequestError(t, err, CodeBadRequest)
			return
		}
		switch {
		case !r.Wait && r.Timeout != 0:
			t.Fatalf("%+v: a timeout without wait", r)
		case r.Wait && (r.Timeout <= 0 || r.Timeout > maxBlockWait):
			t.Fatalf("%+v: timeout out of bounds", r)
		}
		if text := bytes.TrimSpace(body); text[0] != '{' {
			if n, err := strconv.ParseUint(string(text), 10, 64); err != nil || n != r.Index || r.Wait {
				t.Fatalf("%q read as %+v", body, r)
			}
		}
	})
}

func FuzzParseGetRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseGetRequest(body)
		if err != nil {
			checkRequestError(t, err, CodeBadRequest)
			return
		}
		if (r.Name == "") == (r.Key == "") {
			t.Fatalf("%+v: not exactly one of name and key", r)
		}
		if r.Key != "" && (len(r.Namespace) > 0 || r.ValueEncoding != "") {
			t.Fatalf("%+v: a key with a namespace or an encoding", r)
		}
		for i, ns := range r.Namespace {
			if ns == "" {
				t.Fatalf("%+v: namespace element %d is empty", r, i)
			}
		}
		if strings.ContainsRune(r.Name, 0) {
			t.Fatalf("%+v: NUL in the name", r)
		}
	})
}
