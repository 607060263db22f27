package encodings_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/corebridge/corebridge/plugins/encodings"
)

// jsonVector is one block of a vector file written with valueEncoding json.
type jsonVector struct {
	where   string
	value   json.RawMessage // the JavaScript value, as JSON in the file
	encoded []byte          // the bytes Hypercore stored
}

// vectorFiles are the vector sets the JSON encoding must match: the ones in
// testdata, and any named in HYPERCORE_VECTORS (colon-separated).
func vectorFiles(t *testing.T) []string {
	files := []string{"../../testdata/public-v6.json", "../../testdata/public-v7.json"}
	if extra := os.Getenv("HYPERCORE_VECTORS"); extra != "" {
		for _, f := range filepath.SplitList(extra) {
			if f != "" {
				files = append(files, f)
			}
		}
	}
	return files
}

func readJSONVectors(t *testing.T, file string) []jsonVector {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []jsonVector
	var walk func(where string, raw json.RawMessage)
	walk = func(where string, raw json.RawMessage) {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '{':
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var enc, hexText string
			_ = json.Unmarshal(obj["valueEncoding"], &enc)
			_ = json.Unmarshal(obj["encoded"], &hexText)
			if enc == "json" && obj["value"] != nil && hexText != "" {
				b, err := hex.DecodeString(hexText)
				if err != nil {
					t.Fatalf("%s: encoded: %v", where, err)
				}
				out = append(out, jsonVector{where: where, value: obj["value"], encoded: b})
			}
			for k, v := range obj {
				walk(where+"."+k, v)
			}
		case len(raw) > 0 && raw[0] == '[':
			var arr []json.RawMessage
			if err := json.Unmarshal(raw, &arr); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			for i, v := range arr {
				walk(where+"["+strconv.Itoa(i)+"]", v)
			}
		}
	}
	walk(filepath.Base(file), data)
	return out
}

// TestJSONVectors re-encodes every json block of the vector files and
// expects exactly the bytes JavaScript Hypercore stored.
func TestJSONVectors(t *testing.T) {
	ctx := context.Background()
	e := encodings.JSON()
	for _, file := range vectorFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			vecs := readJSONVectors(t, file)
			if len(vecs) == 0 {
				t.Fatalf("no json blocks in %s", file)
			}
			values := make([][]byte, len(vecs))
			for i, v := range vecs {
				values[i] = v.value
			}
			got, err := e.Encode(ctx, encodings.FormatJSON, values)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vecs {
				if !bytes.Equal(got[i], v.encoded) {
					t.Errorf("%s: value %s stored as %q, JavaScript stored %q", v.where, v.value, got[i], v.encoded)
				}
			}
			t.Logf("%d json blocks match", len(vecs))
		})
	}
}

// nodeCases are inputs whose JSON.stringify(JSON.parse(input)) the test
// asks node for.
var nodeCases = []string{
	`{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967294":6,"4294967295":7,"-1":8}`,
	`{"a":1,"b":2,"a":3}`,
	`{"1":1,"1":2, "0":3}`,
	`"\ud800x\udc00\ud83d\ude00\udbff"`,
	`"\u2028\u2029<>&\u007f\u0001\/\b\f\n\r\t\"\\"`,
	`[1e400,-1e400,1e-400,-0,-0.0,1.0,1E2,0.5e-6,12345678901234567890]`,
	`[0.1,0.2,0.30000000000000004,1e21,1e-7,123e-20,5e-324,1.7976931348623157e308]`,
	`[9007199254740993,4.35,100,1.5e300,-1.5e-300,0.000001,1e-6,123456789.123456789]`,
	`{"__proto__":1,"constructor":2}`,
	"  \n {\"é\":\"ü\u00e9\"} \t",
	`[[[[]]],{},{"":""}]`,
}

// TestJSONMatchesNode compares the json encoding with what node writes.
func TestJSONMatchesNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: cannot compare with V8")
	}
	inputs, _ := json.Marshal(nodeCases)
	script := `const inputs = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(inputs.map(s => JSON.stringify(JSON.parse(s)))));`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(inputs)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	e := encodings.JSON()
	for i, in := range nodeCases {
		got, err := e.Encode(context.Background(), encodings.FormatJSON, [][]byte{[]byte(in)})
		if err != nil {
			t.Errorf("Encode(%s): %v", in, err)
			continue
		}
		// node's output went through JSON.stringify once more, which
		// escapes lone surrogates the same way; compare as JSON strings.
		if string(got[0]) != want[i] {
			t.Errorf("Encode(%s) = %s, node writes %s", in, got[0], want[i])
		}
	}
}

func TestJSONErrorsSayWhere(t *testing.T) {
	e := encodings.JSON()
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,}`, `value 1: invalid value: not JSON: unexpected '}', want a string key at byte 7`},
		{`[1 2]`, `value 1: invalid value: not JSON: unexpected '2', want ',' or ']' at byte 3`},
		{"\"\xff\"", `value 1: invalid value: not JSON: invalid UTF-8 byte 0xff at byte 1`},
		{``, `value 1: invalid value: not JSON: empty`},
		{`tru`, `value 1: invalid value: not JSON: invalid literal, want true at byte 0`},
		{`1.`, `value 1: invalid value: not JSON: unexpected end of input, want a digit after the decimal point at byte 2`},
	} {
		_, err := e.Encode(context.Background(), encodings.FormatJSON, [][]byte{[]byte(`1`), []byte(tc.in)})
		if !errors.Is(err, encodings.ErrInvalidValue) {
			t.Errorf("Encode(%q): %v, want ErrInvalidValue", tc.in, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Encode(%q) error\n\t%s\nwant\n\t%s", tc.in, err, tc.want)
		}
	}
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	if _, err := e.Encode(context.Background(), encodings.FormatJSON, [][]byte{[]byte(deep)}); !errors.Is(err, encodings.ErrInvalidValue) {
		t.Errorf("10001 nested arrays: %v, want ErrInvalidValue", err)
	}
}
