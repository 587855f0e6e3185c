package statetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/state"
)

// Memory is an in-memory state.Backend for tests of code that uses state
// (the engine, the CLI). It keeps documents encoded with state.Encode, as a
// real backend would, so callers never share memory with it, and it passes
// Run. One Memory is one store: every goroutine holding it is a client of
// the same store.
type Memory struct {
	mu    sync.Mutex
	docs  map[string][]byte
	locks map[string]state.LockInfo
	// FailWrite, when set, is called with each state about to be written;
	// a non-nil error is returned by Write and nothing is stored. Tests use
	// it to simulate a backend failing part-way through an apply.
	FailWrite func(s *state.State) error

	writes int
}

var (
	_ state.Backend       = (*Memory)(nil)
	_ state.StaleUnlocker = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{docs: map[string][]byte{}, locks: map[string]state.LockInfo{}}
}

// Raw returns region's stored document, or nil.
func (m *Memory) Raw(region string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.docs[region])
}

// SetRaw replaces region's stored document with data, which need not be
// valid: tests use it to corrupt a document.
func (m *Memory) SetRaw(region string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs[region] = slices.Clone(data)
}

func (m *Memory) where(region string) string { return "memory:" + region }

// load decodes region's document under m.mu; nil, nil when there is none.
func (m *Memory) load(region string) (*state.State, error) {
	data, ok := m.docs[region]
	if !ok {
		return nil, nil
	}
	s, err := state.Decode(data)
	if err == nil && s.Region != region {
		err = fmt.Errorf("the document holds the state of region %q", s.Region)
	}
	if err != nil {
		return nil, &state.CorruptError{Region: region, Where: m.where(region), Err: err}
	}
	return s, nil
}

// Read implements state.Reader.
func (m *Memory) Read(ctx context.Context, region string) (*state.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := state.ValidateRegionName(region); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.load(region)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("region %s: %w", region, state.ErrNoState)
	}
	return s, nil
}

// Write implements state.Writer.
func (m *Memory) Write(ctx context.Context, s *state.State, prevSerial uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return errors.New("write state: nil state")
	}
	if err := state.ValidateRegionName(s.Region); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if s.Serial != prevSerial+1 {
		return fmt.Errorf("write state of region %s: serial %d does not follow %d", s.Region, s.Serial, prevSerial)
	}
	data, err := state.Encode(s)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.load(s.Region)
	if err != nil {
		return fmt.Errorf("write state of region %s: %w", s.Region, err)
	}
	switch {
	case cur == nil && prevSerial != 0:
		return &state.ConflictError{Region: s.Region, WantSerial: prevSerial, WantLineage: s.Lineage, GotLineage: s.Lineage}
	case cur != nil && (cur.Lineage != s.Lineage || cur.Serial != prevSerial):
		return &state.ConflictError{Region: s.Region, WantSerial: prevSerial, GotSerial: cur.Serial, WantLineage: s.Lineage, GotLineage: cur.Lineage}
	}
	if m.FailWrite != nil {
		if err := m.FailWrite(s.Clone()); err != nil {
			return fmt.Errorf("write state of region %s: %w", s.Region, err)
		}
	}
	m.docs[s.Region] = data
	m.writes++
	return nil
}

// Writes counts the writes that were stored, so a test can prove a run
// wrote nothing.
func (m *Memory) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// Regions implements state.Backend.
func (m *Memory) Regions(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []string{}
	for r := range m.docs {
		out = append(out, r)
	}
	slices.Sort(out)
	return out, nil
}

// Lock implements state.Locker.
func (m *Memory) Lock(ctx context.Context, region string, info state.LockInfo) (state.LockInfo, error) {
	if err := ctx.Err(); err != nil {
		return state.LockInfo{}, err
	}
	if err := state.ValidateRegionName(region); err != nil {
		return state.LockInfo{}, fmt.Errorf("lock: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.locks[region]; ok {
		return state.LockInfo{}, &state.LockError{Region: region, Holder: &h}
	}
	info.Region = region
	if info.ID == "" {
		info.ID = uuid.NewString()
	}
	m.locks[region] = info
	return info, nil
}

// held returns region's lock if it is held under id, under m.mu.
func (m *Memory) held(region, id, op string) (state.LockInfo, error) {
	h, ok := m.locks[region]
	if !ok {
		return h, &state.LockError{Region: region, Err: fmt.Errorf("cannot %s lock %s: region is not locked", op, id)}
	}
	if h.ID != id {
		return h, &state.LockError{Region: region, Holder: &h, Err: fmt.Errorf("cannot %s lock %s: the lock is held under another ID", op, id)}
	}
	return h, nil
}

// Renew implements state.Locker.
func (m *Memory) Renew(ctx context.Context, region, id string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h, err := m.held(region, id, "renew")
	if err != nil {
		return err
	}
	h.Expires = expires
	m.locks[region] = h
	return nil
}

// Unlock implements state.Locker.
func (m *Memory) Unlock(ctx context.Context, region, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.held(region, id, "unlock"); err != nil {
		return err
	}
	delete(m.locks, region)
	return nil
}

// UnlockStale implements state.StaleUnlocker.
func (m *Memory) UnlockStale(ctx context.Context, region, id string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h, err := m.held(region, id, "break")
	if err != nil {
		return err
	}
	if !h.Stale(now) {
		return &state.LockError{Region: region, Holder: &h, Err: errors.New("its lease was renewed: it is not stale")}
	}
	delete(m.locks, region)
	return nil
}

// Locks implements state.Locker.
func (m *Memory) Locks(ctx context.Context) ([]state.LockInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []state.LockInfo{}
	for _, h := range m.locks {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b state.LockInfo) int {
		switch {
		case a.Region < b.Region:
			return -1
		case a.Region > b.Region:
			return 1
		}
		return 0
	})
	return out, nil
}
