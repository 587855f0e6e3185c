package memcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/state"
)

// StateStore is an in-memory state.Backend for tests: documents are kept
// JSON-encoded, so a caller can never alias what is stored, and writes
// compare-and-swap on serial and lineage like a real backend.
type StateStore struct {
	mu     sync.Mutex
	docs   map[string][]byte
	locks  map[string]state.LockInfo
	writes int
	// BeforeWrite, when set, is called with each document before it is
	// stored; an error fails the write (to simulate a broken backend).
	BeforeWrite func(s *state.State) error
}

var _ state.Backend = (*StateStore)(nil)

// NewStateStore returns an empty store.
func NewStateStore() *StateStore {
	return &StateStore{docs: map[string][]byte{}, locks: map[string]state.LockInfo{}}
}

// Read returns the region's state or state.ErrNoState.
func (s *StateStore) Read(ctx context.Context, region string) (*state.State, error) {
	s.mu.Lock()
	data, ok := s.docs[region]
	s.mu.Unlock()
	if !ok {
		return nil, state.ErrNoState
	}
	var st state.State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decode state of %s: %w", region, err)
	}
	return &st, nil
}

// Write stores st if the stored serial and lineage match.
func (s *StateStore) Write(ctx context.Context, st *state.State, prevSerial uint64) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("write state of %s: %w", st.Region, err)
	}
	if st.Serial != prevSerial+1 {
		return fmt.Errorf("write state of %s: serial %d does not follow %d", st.Region, st.Serial, prevSerial)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state of %s: %w", st.Region, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur state.State
	if old, ok := s.docs[st.Region]; ok {
		if err := json.Unmarshal(old, &cur); err != nil {
			return err
		}
	} else {
		cur.Lineage = st.Lineage
	}
	if cur.Serial != prevSerial || cur.Lineage != st.Lineage {
		return &state.ConflictError{Region: st.Region, WantSerial: prevSerial, GotSerial: cur.Serial, WantLineage: st.Lineage, GotLineage: cur.Lineage}
	}
	if s.BeforeWrite != nil {
		if err := s.BeforeWrite(st); err != nil {
			return err
		}
	}
	s.docs[st.Region] = data
	s.writes++
	return nil
}

// Writes counts successful writes.
func (s *StateStore) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Lock takes the region's lock unless another holder has it.
func (s *StateStore) Lock(ctx context.Context, region string, info state.LockInfo) (state.LockInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held, ok := s.locks[region]; ok && !held.Stale(time.Now()) {
		return state.LockInfo{}, &state.LockError{Region: region, Holder: &held}
	}
	if info.ID == "" {
		info.ID = uuid.NewString()
	}
	info.Region = region
	s.locks[region] = info
	return info, nil
}

// Renew moves a held lock's deadline.
func (s *StateStore) Renew(ctx context.Context, region, id string, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.locks[region]
	if !ok || held.ID != id {
		return &state.LockError{Region: region, Err: fmt.Errorf("lock %s is not held", id)}
	}
	held.Expires = expires
	s.locks[region] = held
	return nil
}

// Unlock releases a held lock.
func (s *StateStore) Unlock(ctx context.Context, region, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.locks[region]
	if !ok || held.ID != id {
		return &state.LockError{Region: region, Err: fmt.Errorf("lock %s is not held", id)}
	}
	delete(s.locks, region)
	return nil
}

// Locks lists held locks.
func (s *StateStore) Locks(ctx context.Context) ([]state.LockInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []state.LockInfo
	for _, l := range s.locks {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b state.LockInfo) int {
		if a.Region < b.Region {
			return -1
		}
		if a.Region > b.Region {
			return 1
		}
		return 0
	})
	return out, nil
}

// Regions lists regions with state.
func (s *StateStore) Regions(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for r := range s.docs {
		out = append(out, r)
	}
	slices.Sort(out)
	return out, nil
}
