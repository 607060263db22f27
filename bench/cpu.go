package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Load is how busy the machine was while a group ran, in cores (2.0 is
// two cores fully busy): the bench's own process tree, everything else,
// and time the hypervisor gave to other guests (steal). On a shared
// machine the foreign load explains most of the spread between runs.
type Load struct {
	OwnCores     float64 `json:"ownCores"`
	ForeignCores float64 `json:"foreignCores"`
	StealCores   float64 `json:"stealCores"`
	Seconds      float64 `json:"seconds"`
}

// cpuSample is a reading of the machine's and this process tree's CPU
// time, in clock ticks.
type cpuSample struct {
	at          time.Time
	busy, steal uint64
	own         uint64
	ok          bool
}

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// the bench runs on.
const clockTicks = 100

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	var v [8]uint64
	for i := range v {
		v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
	}
	// user nice system idle iowait irq softirq steal
	s.busy = v[0] + v[1] + v[2] + v[5] + v[6]
	s.steal = v[7]
	pid := os.Getpid()
	s.own = procTicks(pid, true)
	for _, c := range descendants(pid) {
		s.own += procTicks(c, false)
	}
	s.ok = true
	return s
}

// procTicks reads a process's user and system time, with its waited-for
// children's when withChildren.
func procTicks(pid int, withChildren bool) uint64 {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	// After "(comm)": state ppid ... utime is field 14 of the line, the
	// 12th after the comm.
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return 0
	}
	var n uint64
	last := 13 // utime, stime
	if withChildren {
		last = 15 // cutime, cstime
	}
	for _, s := range f[11:last] {
		v, _ := strconv.ParseUint(s, 10, 64)
		n += v
	}
	return n
}

// loadBetween is the load from a to b.
func loadBetween(a, b cpuSample) Load {
	secs := b.at.Sub(a.at).Seconds()
	if !a.ok || !b.ok || secs <= 0 {
		return Load{Seconds: secs}
	}
	cores := func(ticks uint64) float64 { return float64(ticks) / clockTicks / secs }
	busy := sub(b.busy, a.busy)
	own := sub(b.own, a.own)
	return Load{
		OwnCores:     cores(own),
		ForeignCores: cores(sub(busy, own)),
		StealCores:   cores(sub(b.steal, a.steal)),
		Seconds:      secs,
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
