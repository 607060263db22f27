package encodingtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/encodings/encodingtest"
)

// brokenEnv names the broken encoding TestBrokenHelper runs the suite on.
const brokenEnv = "ENCODINGTEST_BROKEN"

var suite = encodingtest.Suite{
	Name: "json",
	Valid: []encodingtest.Value{
		{Wire: []byte(`{"b":1,"a":2}`), Stored: []byte(`{"b":1,"a":2}`)},
		{Wire: []byte(`[1.0]`), Stored: []byte(`[1]`)},
	},
	Invalid:       []encodingtest.Value{{Wire: []byte(`{`)}},
	InvalidBlocks: [][]byte{[]byte(`{`)},
}

// broken wraps the json builtin and breaks one rule of the contract.
type broken struct {
	encodings.Encoding
	how string
}

func (b broken) Info(ctx context.Context) (encodings.Info, error) {
	info, err := b.Encoding.Info(ctx)
	switch b.how {
	case "wrong-name":
		info.Name = "jsn"
	case "false-verbatim": // json rewrites what it stores: not verbatim
		info.Verbatim = []encodings.Format{encodings.FormatJSON}
	case "stray-verbatim":
		info.Verbatim = []encodings.Format{"raw"}
	}
	return info, err
}

func (b broken) Encode(ctx context.Context, f encodings.Format, values [][]byte) ([][]byte, error) {
	if b.how == "ignores-ctx" {
		ctx = context.Background()
	}
	out, err := b.Encoding.Encode(ctx, f, values)
	switch {
	case b.how == "reversed-batch" && err == nil:
		slices.Reverse(out)
	case b.how == "plain-errors" && err != nil:
		err = errors.New(err.Error())
	case b.how == "no-index" && err != nil && errors.Is(err, encodings.ErrInvalidValue):
		err = fmt.Errorf("bad value: %w", encodings.ErrInvalidValue)
	}
	return out, err
}

// TestBrokenHelper is run by TestSuiteCatchesBrokenEncodings, in a process
// of its own, to fail.
func TestBrokenHelper(t *testing.T) {
	how := os.Getenv(brokenEnv)
	if how == "" {
		t.Skip("run by TestSuiteCatchesBrokenEncodings")
	}
	encodingtest.Run(t, func(*testing.T) encodings.Encoding { return broken{encodings.JSON(), how} }, suite)
}

func TestSuitePassesJSON(t *testing.T) {
	encodingtest.Run(t, func(*testing.T) encodings.Encoding { return encodings.JSON() }, suite)
}

// TestSuiteCatchesBrokenEncodings runs the suite on encodings that each
// break one rule, and expects it to fail and say why.
func TestSuiteCatchesBrokenEncodings(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for how, want := range map[string]string{
		"reversed-batch": "of a batch differs from one call per value",
		"plain-errors":   `want one that matches "invalid value"`,
		"ignores-ctx":    "Encode with a canceled context",
		"wrong-name":     `Info().Name = "jsn", want "json"`,
		"no-index":       `does not mention "value 1"`,
		"false-verbatim": `Encode in verbatim format "json"`,
		"stray-verbatim": `Info().Verbatim lists "raw", which is not among Formats`,
	} {
		t.Run(how, func(t *testing.T) {
			cmd := exec.Command(exe, "-test.run=^TestBrokenHelper$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+how)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an encoding that %s:\n%s", how, out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("the suite failed an encoding that %s without saying %q:\n%s", how, want, out)
			}
		})
	}
}
