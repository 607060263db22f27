package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// jsResult is what bench.mjs prints.
type jsResult struct {
	Versions map[string]string `json:"versions"`
	Figures  map[string]struct {
		Values []float64 `json:"values"`
		Unit   string    `json:"unit"`
	} `json:"figures"`
}

// runJS runs the JavaScript anchors with node, installing their pinned
// packages first (npm ci) when node_modules is missing. Without node, or
// without bench/js, it says so and goes on: the ratios to JavaScript are
// then left out.
func runJS(ctx context.Context, b *bench) error {
	node, err := exec.LookPath("node")
	if err != nil {
		b.skip("js: node is not on PATH; the JavaScript anchors and the ratios to them are left out")
		return nil
	}
	dir, err := findJSDir(b.o.jsDir)
	if err != nil {
		b.skip("js: %v; the JavaScript anchors and the ratios to them are left out", err)
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); os.IsNotExist(err) {
		npm, err := exec.LookPath("npm")
		if err != nil {
			b.skip("js: %s/node_modules is missing and npm is not on PATH; the JavaScript anchors are left out", dir)
			return nil
		}
		b.progress("  npm ci in %s", dir)
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, b.stderr, b.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm ci in %s: %w", dir, err)
		}
	}
	args := []string{filepath.Join(dir, "bench.mjs"), "--runs", strconv.Itoa(b.o.runs)}
	if b.o.quick {
		args = append(args, "--quick")
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, b.stderr
	b.progress("  node %s", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("node bench.mjs: %w", err)
	}
	var res jsResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return fmt.Errorf("node bench.mjs printed no JSON: %w: %q", err, out.String())
	}
	names := make([]string, 0, len(res.Figures))
	for name := range res.Figures {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := res.Figures[name]
		for _, v := range f.Values {
			b.record(name, f.Unit, v)
		}
	}
	b.rep.Machine.Node = fmt.Sprintf("node %s, corestore %s, hypercore %s", res.Versions["node"], res.Versions["corestore"], res.Versions["hypercore"])
	return nil
}

// findJSDir returns the directory of bench.mjs: dir when given, else
// bench/js or js below the working directory (the module root, or bench/
// when run as a test).
func findJSDir(dir string) (string, error) {
	candidates := []string{"bench/js", "js"}
	if dir != "" {
		candidates = []string{dir}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "bench.mjs")); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("no bench.mjs in %s (run from the module root, or pass -js DIR)", strings.Join(candidates, " or "))
}

// skip reports a part of the bench that could not run, on stderr and in
// the report.
func (b *bench) skip(format string, args ...any) {
	b.progress("skipped: "+format, args...)
	b.rep.note(format, args...)
}
