package plugins

import (
	"sync"

	"github.com/hashicorp/go-plugin"
)

// live holds every Process that is not closed, so that CleanupAll can stop
// their supervisors before it kills their processes. Plugin processes are a
// resource of the whole host program, which is why this one registry is
// package state.
var live struct {
	sync.Mutex
	procs map[interface{ Close() error }]struct{}
}

func register(p interface{ Close() error }) {
	live.Lock()
	defer live.Unlock()
	if live.procs == nil {
		live.procs = make(map[interface{ Close() error }]struct{})
	}
	live.procs[p] = struct{}{}
}

func unregister(p interface{ Close() error }) {
	live.Lock()
	defer live.Unlock()
	delete(live.procs, p)
}

// CleanupAll closes every Process (so none restarts) and then kills any
// plugin process go-plugin still manages. A host calls it on every way out:
// cmd/bridge defers it in main and calls it before os.Exit and on signals.
// It is safe to call more than once and concurrently with Close.
func CleanupAll() {
	live.Lock()
	procs := make([]interface{ Close() error }, 0, len(live.procs))
	for p := range live.procs {
		procs = append(procs, p)
	}
	live.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Close()
		}()
	}
	wg.Wait()
	plugin.CleanupClients()
}
