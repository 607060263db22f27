package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/corebridge/corebridge/plugins/builtin"
)

// TestMain serves a builtin plugin when a bridge of the bench started this
// test binary as one, as main does for the bench binary.
func TestMain(m *testing.M) { builtin.TestMain(m) }

// TestQuickJSON runs the bench quickly on a few groups and checks the shape
// of its JSON: every figure expected, positive, with median between min and
// max, and the ratios between them. It asserts nothing about speed.
func TestQuickJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"-quick", "-runs", "2", "-json", "-only", "nats,read,repl", "-duration", "100ms"}
	if code := run(t.Context(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("bench %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	var got struct {
		Figures map[string]struct {
			Median, Min, Max *float64
			Unit             string
			Values           []float64
		} `json:"figures"`
		Ratios  map[string]float64 `json:"ratios"`
		Targets map[string]struct {
			Op   string
			Want float64
			Met  bool
		} `json:"targets"`
		Machine struct {
			CPU   string
			Cores int
		} `json:"machine"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not the report's JSON: %v\n%s", err, stdout.String())
	}
	var top map[string]json.RawMessage
	json.Unmarshal(stdout.Bytes(), &top)
	for _, k := range []string{"figures", "ratios", "targets", "machine"} {
		if _, ok := top[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, stdout.String())
		}
	}
	want := []string{
		"nats_req1", "nats_req1_cpu", "nats_req64", "nats_req64_cpu",
		"read1", "read1_cpu", "read64", "read64_cpu", "read1_nocache", "read1_nocache_cpu",
		"read64_nocache", "read64_nocache_cpu",
		"catchup", "lag_p50", "lag_p99", "lag_rate",
	}
	for _, name := range want {
		f, ok := got.Figures[name]
		if !ok {
			t.Errorf("figure %s missing; have %v", name, keys(got.Figures))
			continue
		}
		if f.Median == nil || f.Min == nil || f.Max == nil || f.Unit == "" {
			t.Errorf("figure %s = %+v: want median, min, max and unit", name, f)
			continue
		}
		if len(f.Values) != 2 {
			t.Errorf("figure %s has %d values, want one per run (2)", name, len(f.Values))
		}
		if *f.Min > *f.Median || *f.Median > *f.Max {
			t.Errorf("figure %s: min %v, median %v, max %v out of order", name, *f.Min, *f.Median, *f.Max)
		}
		// A lag may round to 0, and a short loop may take less CPU time
		// than the kernel's 10 ms tick can show.
		mayBeZero := strings.HasPrefix(name, "lag_") || strings.HasSuffix(name, "_cpu")
		if *f.Min < 0 || *f.Min == 0 && !mayBeZero {
			t.Errorf("figure %s: min %v, want > 0", name, *f.Min)
		}
	}
	if len(got.Figures) != len(want) {
		t.Errorf("figures %v, want exactly %v", keys(got.Figures), want)
	}
	for _, name := range []string{"reads64_vs_nats64", "reads1_vs_nats1"} {
		if r, ok := got.Ratios[name]; !ok || r <= 0 {
			t.Errorf("ratio %s = %v, %v; want > 0", name, r, ok)
		}
	}
	if _, ok := got.Ratios["appends64_vs_nats64"]; ok {
		t.Errorf("ratio appends64_vs_nats64 given without the append group")
	}
	for _, name := range []string{"reads64_vs_nats64", "lag_p99"} {
		if tg, ok := got.Targets[name]; !ok || tg.Op == "" || tg.Want == 0 {
			t.Errorf("target %s = %+v, %v", name, tg, ok)
		}
	}
	if got.Machine.Cores <= 0 || got.Machine.CPU == "" {
		t.Errorf("machine = %+v", got.Machine)
	}
	if !strings.Contains(stderr.String(), "bench: nats:") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

// TestTable checks the table for people names every figure and ratio.
func TestTable(t *testing.T) {
	r := newReport()
	for i, v := range []float64{3, 1, 2} {
		r.add("nats_req64", "requests/s", v*1000)
		r.add("read64", "reads/s", float64(i+1)*100)
	}
	r.finish()
	if f := r.Figures["nats_req64"]; f.Median != 2000 || f.Min != 1000 || f.Max != 3000 {
		t.Errorf("nats_req64 = %+v", f)
	}
	if got := r.Ratios["reads64_vs_nats64"]; got != 0.1 {
		t.Errorf("reads64_vs_nats64 = %v, want 0.1", got)
	}
	if tg := r.Targets["reads64_vs_nats64"]; tg.Met || tg.Want != 0.6 {
		t.Errorf("target = %+v, want missed against 0.6", tg)
	}
	var out bytes.Buffer
	if err := r.writeTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"nats_req64", "read64", "reads64_vs_nats64", "MISSED", "requests/s"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, out.String())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-only", "nope"}, {"-runs", "0"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("bench %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
