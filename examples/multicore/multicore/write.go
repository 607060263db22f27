package multicore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// Names of the cores the writer keeps in its store.
const (
	Core1 = "core-1" // the index: block 0 names the other two
	Core2 = "core-2" // short lines
	Core3 = "core-3" // long lines
)

// ShortLine is the length, in characters, from which a line is long: a
// line of fewer characters goes to core-2, any other to core-3.
const ShortLine = 20

// maxLine is the longest input line Write reads: a bridge's default
// largest value (limits.max_value_size).
const maxLine = 1 << 20

// Cores are the keys of the writer's three cores, as lowercase hex.
type Cores struct {
	Core1, Core2, Core3 string
}

// Setup makes sure store's bridge holds the three cores: it creates core-2
// and core-3 (JSON values), then core-1, and appends core-1's block 0,
// {"otherKeys": [<core-2 key>, <core-3 key>]}, only if core-1 is empty.
// Running it again finds the same cores (the bridge derives their keys from
// its primary key and the names) and appends nothing. Two writers must not
// set up the same store at the same time: both could find core-1 empty.
func Setup(ctx context.Context, nc *nats.Conn, store string) (Cores, error) {
	var cs Cores
	for _, c := range []struct {
		name string
		key  *string
	}{{Core2, &cs.Core2}, {Core3, &cs.Core3}, {Core1, &cs.Core1}} {
		info, err := getCore(ctx, nc, store, c.name, "")
		if err != nil {
			return cs, err
		}
		if !info.Writable {
			return cs, fmt.Errorf("store %q holds %s but cannot write it", store, c.name)
		}
		*c.key = info.Key
		if c.name == Core1 && info.Length == 0 {
			body, err := json.Marshal(index{OtherKeys: []string{cs.Core2, cs.Core3}})
			if err != nil {
				return cs, err
			}
			if _, err := appendValue(ctx, nc, cs.Core1, body); err != nil {
				return cs, fmt.Errorf("write block 0 of %s: %w", Core1, err)
			}
		}
	}
	// core-1 was there already, or was just written: check what it says.
	// It waits, in case a bridge that follows core-1 but has not got block 0
	// yet is the one that answers.
	m, err := request(ctx, nc, coreSubject(cs.Core1, "block"), []byte(`{"index": 0, "wait": true, "timeout": "5s"}`), requestTimeout)
	if err != nil {
		return cs, fmt.Errorf("read block 0 of %s: %w", Core1, err)
	}
	var idx index
	if err := json.Unmarshal(m.Data, &idx); err != nil || !slices.Equal(idx.OtherKeys, []string{cs.Core2, cs.Core3}) {
		return cs, fmt.Errorf("%s %s already holds a block 0 that does not name %s and %s: %.200s; use another store (data_dir)",
			Core1, cs.Core1, Core2, Core3, m.Data)
	}
	return cs, nil
}

// Write sets store's cores up (see [Setup]), logs core-1's key, then
// appends each line it reads from lines, one block per line, short ones to
// core-2 and long ones to core-3, and logs where each went ("core-2 #0:
// hello"). It returns core-1's key when lines end. A line is stored as a
// JSON string, without its line ending.
//
// When ctx ends, Write returns at once with ctx's error; if it was blocked
// reading lines, one goroutine stays blocked in lines.Read until that
// returns.
func Write(ctx context.Context, nc *nats.Conn, store string, lines io.Reader, log io.Writer) (core1Key string, err error) {
	cs, err := Setup(ctx, nc, store)
	if err != nil {
		return cs.Core1, err
	}
	fmt.Fprintf(log, "%s key: %s (give it to the reader)\n", Core1, cs.Core1)

	in := make(chan string)
	stop := make(chan struct{})
	defer close(stop)
	var scanErr error // set before in is closed
	go func() {
		defer close(in)
		sc := bufio.NewScanner(lines)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		for sc.Scan() {
			select {
			case in <- strings.TrimSuffix(sc.Text(), "\r"):
			case <-stop:
				return
			}
		}
		scanErr = sc.Err()
	}()
	for n := 1; ; n++ {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return cs.Core1, ctx.Err()
		case line, ok = <-in:
		}
		if !ok {
			if scanErr != nil {
				return cs.Core1, fmt.Errorf("read input line %d: %w", n, scanErr)
			}
			return cs.Core1, nil
		}
		name, key := Core3, cs.Core3
		if utf8.RuneCountInString(line) < ShortLine {
			name, key = Core2, cs.Core2
		}
		value, err := json.Marshal(line)
		if err != nil {
			return cs.Core1, err
		}
		length, err := appendValue(ctx, nc, key, value)
		if err != nil {
			return cs.Core1, fmt.Errorf("append input line %d to %s: %w", n, name, err)
		}
		fmt.Fprintf(log, "%s #%d: %s\n", name, length-1, line)
	}
}

// appendValue appends one value and returns the core's length after it,
// which is the value's index plus one.
func appendValue(ctx context.Context, nc *nats.Conn, key string, value []byte) (length uint64, err error) {
	m, err := request(ctx, nc, coreSubject(key, "append"), value, requestTimeout)
	if err != nil {
		return 0, err
	}
	var reply struct {
		Length uint64 `json:"length"`
	}
	if err := json.Unmarshal(m.Data, &reply); err != nil || reply.Length == 0 {
		return 0, fmt.Errorf("append reply %.100q is not {\"length\": ...}", m.Data)
	}
	return reply.Length, nil
}
