package plugins

import "time"

// backoff spaces out restarts of a plugin that keeps dying: the first
// restart waits min, each next one twice as long up to max, and a process
// that stayed up for healthy resets the delay to min.
type backoff struct {
	min, max, healthy time.Duration
	next              time.Duration
}

func defaultBackoff() backoff {
	return backoff{min: 50 * time.Millisecond, max: 5 * time.Second, healthy: 30 * time.Second}
}

// delay returns how long to wait before the next start, given how long the
// process that just ended was up (0 when it failed to start).
func (b *backoff) delay(uptime time.Duration) time.Duration {
	if b.next == 0 || uptime >= b.healthy {
		b.next = b.min
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}
