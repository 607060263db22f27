package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// ParseListen splits a listen address "host:port" into its parts. The
// host may be empty (all interfaces) or an IPv6 literal in brackets; the
// port is 1 to 65535, or -1 for a free port chosen at start.
func ParseListen(s string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", s)
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q in %q is not a number", p, s)
	}
	if port == 0 {
		return "", 0, fmt.Errorf("port 0 in %q is not allowed; use -1 for a free port", s)
	}
	if port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("port %d in %q is out of range (1-65535, or -1 for a free port)", port, s)
	}
	if strings.ContainsFunc(host, unicode.IsSpace) {
		return "", 0, fmt.Errorf("host %q in %q contains white space", host, s)
	}
	return host, port, nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
}

// ParseSize reads a byte count: a whole number with an optional unit,
// "1048576", "1MiB", "512KiB", "2GB" (KB, MB, GB, TB are powers of 1000;
// KiB, MiB, GiB, TiB and the bare K, M, G, T are powers of 1024). Units are
// case-insensitive.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size; write a whole number of bytes or one with a unit, e.g. 1048576 or \"1MiB\"", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > (1<<63-1)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// checkToken reports why s cannot be one token of a NATS subject (or a
// NATS name), or nil if it can.
func checkToken(s string) error {
	if s == "" {
		return fmt.Errorf("it is empty")
	}
	for _, r := range s {
		switch {
		case r == '.' || r == '*' || r == '>':
			return fmt.Errorf("%q contains %q, which NATS subjects reserve", s, r)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return fmt.Errorf("%q contains white space or a control character", s)
		}
	}
	return nil
}

// checkPrefix reports why s cannot be a subject prefix: one or more
// tokens joined by dots.
func checkPrefix(s string) error {
	for _, tok := range strings.Split(s, ".") {
		if err := checkToken(tok); err != nil {
			return fmt.Errorf("%q must be tokens joined by single dots, without a leading or trailing dot: %w", s, err)
		}
	}
	return nil
}

// checkURLs reports why s is not a comma-separated list of NATS URLs.
func checkURLs(s string, schemes ...string) error {
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a URL like %s://host:port", raw, schemes[0])
		}
		ok := false
		for _, sc := range schemes {
			ok = ok || strings.EqualFold(u.Scheme, sc)
		}
		if !ok {
			return fmt.Errorf("%q has scheme %q; want one of %s", raw, u.Scheme, strings.Join(schemes, ", "))
		}
	}
	return nil
}
