package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reader reads a region's state.
type Reader interface {
	// Read returns the region's state, or ErrNoState when none was written.
	// A document that cannot be decoded is an error naming where it is; it
	// is never treated as empty.
	Read(ctx context.Context, region string) (*State, error)
}

// Writer writes a region's state with compare-and-swap on the serial.
type Writer interface {
	// Write stores s if the stored serial equals prevSerial (0 when no state
	// exists yet) and the stored lineage equals s.Lineage; otherwise it
	// returns a *ConflictError and stores nothing. s.Serial must be
	// prevSerial+1. Writes are atomic: a reader sees the old document or the
	// new one, never a mix.
	Write(ctx context.Context, s *State, prevSerial uint64) error
}

// Locker holds leased locks on regions, so two runs never change one region
// at once and a lock whose holder died is reported stale rather than
// blocking forever.
type Locker interface {
	// Lock takes the region's lock for info's holder until info.Expires.
	// When another holder has it, Lock returns a *LockError describing them
	// and takes nothing. It fills info.ID when empty.
	Lock(ctx context.Context, region string, info LockInfo) (LockInfo, error)
	// Renew moves the lease deadline of a lock the caller holds.
	Renew(ctx context.Context, region, id string, expires time.Time) error
	// Unlock releases the lock with the given ID; releasing a lock that is
	// not held (or held under another ID) returns a *LockError.
	Unlock(ctx context.Context, region, id string) error
	// Locks lists the locks currently held, across regions.
	Locks(ctx context.Context) ([]LockInfo, error)
}

// Backend is a complete state store.
type Backend interface {
	Reader
	Writer
	Locker
	// Regions lists the regions that have state, sorted.
	Regions(ctx context.Context) ([]string, error)
}

// ErrNoState is returned by Read when a region has no state yet.
var ErrNoState = errors.New("no state")

// LockInfo describes who holds a lock, for a user who finds it taken.
type LockInfo struct {
	ID        string    `json:"id"`
	Region    string    `json:"region"`
	Operation string    `json:"operation"` // plan, apply, destroy, state rm
	Who       string    `json:"who"`       // user@host
	PID       int       `json:"pid"`
	Version   string    `json:"version"` // regionctl version
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"` // lease deadline, moved by Renew
	// CIJobURL is the CI job that holds the lock, when run from CI.
	CIJobURL string `json:"ciJobURL,omitempty"`
	// PIDNamespace identifies the process ID namespace PID belongs to
	// (Linux: the target of /proc/self/ns/pid), so a container sharing the
	// host's name but not its processes never judges PID from outside.
	PIDNamespace string `json:"pidNamespace,omitempty"`
}

// Stale reports whether the lease has run out at time now. (StaleReason
// also knows holders that are gone before their lease runs out.)
func (l LockInfo) Stale(now time.Time) bool { return !l.Expires.IsZero() && now.After(l.Expires) }

// Host is the machine named in Who ("user@host"), or "" when Who names none.
func (l LockInfo) Host() string {
	i := strings.LastIndex(l.Who, "@")
	if i < 0 {
		return ""
	}
	return l.Who[i+1:]
}

// String describes the holder on one line.
func (l LockInfo) String() string {
	s := fmt.Sprintf("lock %s on %s held by %s (pid %d) for %s since %s, lease until %s",
		l.ID, l.Region, l.Who, l.PID, l.Operation, l.Created.UTC().Format(time.RFC3339), l.Expires.UTC().Format(time.RFC3339))
	if l.CIJobURL != "" {
		s += ", CI job " + l.CIJobURL
	}
	return s
}

// LockError is returned when a lock is held by someone else (Holder set),
// or when unlocking a lock that is not held as asked.
type LockError struct {
	Region string
	Holder *LockInfo
	Err    error
}

func (e *LockError) Error() string {
	switch {
	case e.Holder != nil && e.Err != nil:
		return fmt.Sprintf("region %s is locked: %s: %v", e.Region, e.Holder, e.Err)
	case e.Holder != nil:
		return fmt.Sprintf("region %s is locked: %s", e.Region, e.Holder)
	case e.Err != nil:
		return fmt.Sprintf("lock on region %s: %v", e.Region, e.Err)
	default:
		return fmt.Sprintf("lock on region %s", e.Region)
	}
}

func (e *LockError) Unwrap() error { return e.Err }

// ConflictError is returned by Write when the stored state moved on (another
// writer raced this one) or belongs to another lineage.
type ConflictError struct {
	Region                  string
	WantSerial, GotSerial   uint64
	WantLineage, GotLineage string
}

func (e *ConflictError) Error() string {
	if e.WantLineage != e.GotLineage {
		return fmt.Sprintf("state of region %s has lineage %s, not %s: it was replaced by another history", e.Region, e.GotLineage, e.WantLineage)
	}
	return fmt.Sprintf("state of region %s is at serial %d, not %d: another run wrote it since", e.Region, e.GotSerial, e.WantSerial)
}
