package core

// afterChange is one callback registered with AfterChange. Its identity is
// its pointer: stop finds it by that in state.afters.
type afterChange struct{ f func() }

// AfterChange arranges for f to run once, in a goroutine of its own, at the
// next change of length or fork (the moment Changed's channel closes), or
// when the core's last session closes, whichever comes first. On a core
// whose last session has already closed, f starts at once.
//
// Until then nothing runs and no goroutine waits: a caller that has nothing
// to do until the core changes, such as the bridge's replication publisher
// of an idle core, holds no goroutine while it waits. f must look at the
// core again to learn what happened: it may be a change, or the close.
//
// stop unregisters f. It reports whether it stopped f from running; false
// means f has been started, or stop was called before. A change that came
// between reading the core and registering is not seen by f: a caller that
// must not miss one takes Changed's channel before reading, registers, then
// checks that channel and, if it is closed, calls stop and looks again.
func (c *Core) AfterChange(f func()) (stop func() bool) {
	s := c.c
	a := &afterChange{f: f}
	s.mu.Lock()
	if s.sessions == 0 {
		s.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	s.afters = append(s.afters, a)
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, b := range s.afters {
			if b == a {
				last := len(s.afters) - 1
				s.afters[i] = s.afters[last]
				s.afters[last] = nil
				s.afters = s.afters[:last]
				if last == 0 {
					s.afters = nil // an idle core keeps no empty array
				}
				return true
			}
		}
		return false
	}
}

// takeAfters removes every registered AfterChange callback, for the caller
// to start with runAfters once it has released s.mu. Callers hold s.mu.
func (s *state) takeAfters() []*afterChange {
	fs := s.afters
	s.afters = nil
	return fs
}

// runAfters starts each callback in a goroutine of its own.
func runAfters(fs []*afterChange) {
	for _, a := range fs {
		go a.f()
	}
}
