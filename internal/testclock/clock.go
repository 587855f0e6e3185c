// Package testclock is a manual clock for tests that step the sandbox's
// asynchronous states (sandbox.Options.Clock) instead of waiting for them.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when Advance is called. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock set to the current time.
func New() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// AdvanceWhen waits until ready reports true, then advances the clock by
// d and returns true; it returns false if stop is closed first. Tests use
// it to let an operation that waits for the clock observe the unchanged
// state first (ready: it has polled), then move on.
func (c *Clock) AdvanceWhen(d time.Duration, ready func() bool, stop <-chan struct{}) bool {
	if !When(ready, stop) {
		return false
	}
	c.Advance(d)
	return true
}

// When polls ready every two milliseconds until it reports true (then it
// returns true) or stop is closed (false); a nil stop never closes.
func When(ready func() bool, stop <-chan struct{}) bool {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return false
		case <-tick.C:
			if ready() {
				return true
			}
		}
	}
}
