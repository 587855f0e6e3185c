package sandbox

import (
	"fmt"
	"sync"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// saver writes one emulator's state file with group commit: a request that
// changed the state waits until a write that started after its change is
// on disk, and one write covers every change made before it started. Under
// a fleet's load (thousands of changing requests) the emulators' state is
// then written once per burst of changes rather than once per request,
// each write still before the replies it covers are sent.
type saver struct {
	mu      sync.Mutex
	cond    *sync.Cond
	changes uint64 // changes made (counted by the requests that made them)
	saved   uint64 // changes known to be on disk
	saving  bool
	err     error // of the last write
}

func newSaver() *saver {
	s := &saver{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// commit returns once the change the caller just made is on disk (or the
// write that should have covered it failed).
func (sv *saver) commit(write func() error) error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.changes++
	mine := sv.changes
	for {
		if sv.saved >= mine {
			return sv.err
		}
		if !sv.saving {
			break
		}
		sv.cond.Wait() // a write is running; it may not cover our change
	}
	sv.saving = true
	upto := sv.changes // every change made so far is in the state write() reads
	sv.mu.Unlock()
	err := write()
	sv.mu.Lock()
	sv.saving = false
	sv.saved, sv.err = upto, err
	sv.cond.Broadcast()
	return err
}

// savers holds one saver per emulator (by cloud).
type savers struct {
	mu sync.Mutex
	m  map[string]*saver
}

func (ss *savers) of(e emu.Emulator) *saver {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*saver{}
	}
	sv := ss.m[e.Cloud()]
	if sv == nil {
		sv = newSaver()
		ss.m[e.Cloud()] = sv
	}
	return sv
}

// save writes e's state to its file (after a change: see saver).
func (s *Sandbox) save(e emu.Emulator) error {
	return s.savers.of(e).commit(func() error {
		data, err := e.Save()
		if err != nil {
			return fmt.Errorf("sandbox: encode %s state: %w", e.Cloud(), err)
		}
		if err := writeAtomic(stateFile(s.dir, e), data); err != nil {
			return fmt.Errorf("sandbox: save %s state: %w", e.Cloud(), err)
		}
		return nil
	})
}
