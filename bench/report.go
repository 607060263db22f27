package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Figure is one measured quantity over the runs.
type Figure struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"` // one per run, in order
}

// Target is a goal a figure or ratio is held to (not an assertion).
type Target struct {
	Of    string  `json:"of"`   // the figure or ratio
	Op    string  `json:"op"`   // ">=" or "<"
	Want  float64 `json:"want"` // the bound
	Value float64 `json:"value"`
	Met   bool    `json:"met"`
}

// report is what the command prints.
type report struct {
	Figures map[string]*Figure `json:"figures"`
	Ratios  map[string]float64 `json:"ratios"`
	Targets map[string]Target  `json:"targets"`
	Machine Machine            `json:"machine"`
	// Load is how busy the machine was during each group.
	Load      map[string]Load `json:"load"`
	Notes     []string        `json:"notes,omitempty"`
	order     []string        // figure names in the order measured
	loadOrder []string        // groups in the order run
}

func newReport() *report {
	return &report{Figures: map[string]*Figure{}, Ratios: map[string]float64{}, Targets: map[string]Target{}, Load: map[string]Load{}}
}

func (r *report) add(name, unit string, v float64) {
	f, ok := r.Figures[name]
	if !ok {
		f = &Figure{Unit: unit}
		r.Figures[name] = f
		r.order = append(r.order, name)
	}
	f.Values = append(f.Values, v)
}

// note keeps a remark for the reader of the report (a skipped group).
func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// ratio is a quotient of two figures' medians.
type ratio struct {
	name, num, den string
}

// cpuRatio is the quotient of two throughputs as their CPU cost per
// operation predicts it, den's cost over num's: what the throughput ratio
// would be if both were bound by CPU alone. Neighbours on a shared machine
// move it much less than the throughput ratio.
func cpuRatio(name, num, den string) ratio {
	return ratio{name: name + "_by_cpu", num: den + "_cpu", den: num + "_cpu"}
}

// ratios are every quotient the report gives when both figures ran: to the
// raw NATS ceiling, to JavaScript, and between variants of the bridge.
var ratios = []ratio{
	{"appends64_vs_js_single", "append64_core1", "js_append"},
	{"appends64_vs_nats64", "append64_core1", "nats_req64"},
	{"appends1_vs_js_single", "append1_core1", "js_append"},
	{"appends1_vs_nats1", "append1_core1", "nats_req1"},
	{"appends64_cores100_vs_nats64", "append64_cores100", "nats_req64"},
	{"batch100_vs_js_batch100", "batch100", "js_batch100"},
	{"batch100x64_vs_js_batch100", "batch100_64", "js_batch100"},
	{"reads64_vs_nats64", "read64", "nats_req64"},
	{"reads1_vs_nats1", "read1", "nats_req1"},
	{"reads64_vs_js_get", "read64", "js_get"},
	{"catchup_vs_js_replication", "catchup", "js_replication"},
	{"plugin_vs_inprocess", "plugin_append64", "inproc_append64"},
	{"plugin_vs_inprocess_append1", "plugin_append1", "inproc_append1"},
	{"plugin_vs_inprocess_read64", "plugin_read64", "inproc_read64"},
	{"plugin_storage_vs_inprocess", "encinproc_append64", "inproc_append64"},
	{"plugin_storage_vs_inprocess_read64", "encinproc_read64", "inproc_read64"},
	{"cores10k_vs_1_append_p50", "cores10k_append_p50", "cores1_append_p50"},
	cpuRatio("appends64_vs_nats64", "append64_core1", "nats_req64"),
	cpuRatio("appends64_cores100_vs_nats64", "append64_cores100", "nats_req64"),
	cpuRatio("batch100x64_vs_nats64", "batch100_64", "nats_req64"),
	cpuRatio("reads64_vs_nats64", "read64", "nats_req64"),
	cpuRatio("plugin_vs_inprocess", "plugin_append64", "inproc_append64"),
	cpuRatio("plugin_vs_inprocess_read64", "plugin_read64", "inproc_read64"),
	cpuRatio("plugin_storage_vs_inprocess", "encinproc_append64", "inproc_append64"),
	cpuRatio("plugin_storage_vs_inprocess_read64", "encinproc_read64", "inproc_read64"),
}

// targets are the goals of the issue, on ratios or figures.
var targets = []Target{
	{Of: "appends64_vs_js_single", Op: ">=", Want: 5},
	{Of: "appends64_vs_nats64", Op: ">=", Want: 0.4},
	{Of: "batch100_vs_js_batch100", Op: ">=", Want: 1.5},
	{Of: "reads64_vs_nats64", Op: ">=", Want: 0.6},
	{Of: "catchup_vs_js_replication", Op: ">=", Want: 5},
	{Of: "lag_p99", Op: "<", Want: 20},
	{Of: "plugin_vs_inprocess", Op: ">=", Want: 0.85},
	{Of: "cores10k_rss", Op: "<", Want: 300},
}

// finish summarises the runs and computes ratios and targets.
func (r *report) finish() {
	for _, f := range r.Figures {
		s := append([]float64(nil), f.Values...)
		sort.Float64s(s)
		f.Min, f.Max, f.Median = s[0], s[len(s)-1], median(s)
	}
	for _, q := range ratios {
		n, okn := r.Figures[q.num]
		d, okd := r.Figures[q.den]
		if okn && okd && d.Median != 0 {
			r.Ratios[q.name] = n.Median / d.Median
		}
	}
	for _, t := range targets {
		v, ok := r.Ratios[t.Of]
		if !ok {
			f, okf := r.Figures[t.Of]
			if !okf {
				continue
			}
			v = f.Median
		}
		t.Value = v
		if t.Op == ">=" {
			t.Met = v >= t.Want
		} else {
			t.Met = v < t.Want
		}
		r.Targets[t.Of] = t
	}
}

// median of sorted values.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "figure\tmedian\tmin\tmax\tunit\t\n")
	for _, name := range r.order {
		f := r.Figures[name]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", name, formatValue(f.Median), formatValue(f.Min), formatValue(f.Max), f.Unit)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "ratio (of medians)\tvalue\ttarget\t\t\n")
		for _, q := range ratios {
			v, ok := r.Ratios[q.name]
			if !ok {
				continue
			}
			goal, verdict := "", ""
			if t, ok := r.Targets[q.name]; ok {
				goal, verdict = t.Op+" "+formatValue(t.Want), metWord(t.Met)
			}
			fmt.Fprintf(tw, "%s\t%.3f\t%s\t%s\t\n", q.name, v, goal, verdict)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	var figTargets []string
	for _, t := range targets {
		if _, isRatio := r.Ratios[t.Of]; isRatio {
			continue
		}
		if got, ok := r.Targets[t.Of]; ok {
			figTargets = append(figTargets, fmt.Sprintf("%s = %s, target %s %s: %s", t.Of, formatValue(got.Value), t.Op, formatValue(t.Want), metWord(got.Met)))
		}
	}
	if len(figTargets) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(figTargets, "\n"))
	}
	m := r.Machine
	fmt.Fprintf(w, "\nmachine: %s, %d cores (GOMAXPROCS %d), %s, load %s before, %s after\n", m.CPU, m.Cores, m.GOMAXPROCS, m.Go, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(w, "command: %s\n", m.Command)
	if m.Node != "" {
		fmt.Fprintf(w, "javascript: %s\n", m.Node)
	}
	if len(r.loadOrder) > 0 {
		fmt.Fprintf(w, "cores busy during each group (bench / other processes / steal):\n")
		for _, g := range r.loadOrder {
			l := r.Load[g]
			fmt.Fprintf(w, "  %-7s %.2f / %.2f / %.2f over %.0fs\n", g, l.OwnCores, l.ForeignCores, l.StealCores, l.Seconds)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

func metWord(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// formatValue prints a figure with about four significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
