package objstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/statetest"
)

// memStore is a Store in memory, to test the algorithms of this package
// apart from any cloud. The cloud backends run the same suite against real
// servers.
type memStore struct {
	mu   sync.Mutex
	objs map[string]memObj
	gen  int
	// beforePut, when set, runs before each Put's condition is checked
	// (outside the mutex), so a test can slip a concurrent change in. It
	// is not synchronised: only single-goroutine tests set it.
	beforePut func(key string)
}

type memObj struct {
	data []byte
	v    Version
}

func newMemStore() *memStore { return &memStore{objs: map[string]memObj{}} }

func (m *memStore) Get(_ context.Context, key string) ([]byte, Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		return nil, "", fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return slices.Clone(o.data), o.v, nil
}

func (m *memStore) Put(_ context.Context, key string, data []byte, ifVersion Version) error {
	if m.beforePut != nil {
		m.beforePut(key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if (ifVersion == "" && ok) || (ifVersion != "" && (!ok || o.v != ifVersion)) {
		return fmt.Errorf("put %s: %w", key, ErrPrecondition)
	}
	m.gen++
	m.objs[key] = memObj{data: slices.Clone(data), v: Version(fmt.Sprint(m.gen))}
	return nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objs {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "/") {
			out = append(out, rest)
		}
	}
	return out, nil
}

func (m *memStore) URL(key string) string                   { return "mem://" + key }
func (m *memStore) Previous(context.Context, string) string { return "" }
func (m *memStore) set(key string, data []byte) {
	m.mu.Lock()
	m.gen++
	m.objs[key] = memObj{data, Version(fmt.Sprint(m.gen))}
	m.mu.Unlock()
}
func (m *memStore) raw(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.objs[key].data)
}
func backendOf(b state.Backend) (*Backend, *memStore) {
	ob := b.(*Backend)
	return ob, ob.store.(*memStore)
}
func keyOf(b state.Backend, region string) (*memStore, string) {
	ob, s := backendOf(b)
	return s, ob.StateKey(region)
}
func newBackend(prefix string) *Backend         { return New(newMemStore(), prefix) }
func openBackend(b state.Backend) state.Backend { ob, s := backendOf(b); return New(s, ob.Prefix()) }
func corrupt(t *testing.T, b state.Backend, region string) {
	s, k := keyOf(b, region)
	s.set(k, []byte(`{"version": 1, "resou`))
}
func rawOf(t *testing.T, b state.Backend, region string) []byte {
	s, k := keyOf(b, region)
	return s.raw(k)
}
func harness(prefix string) statetest.Harness {
	return statetest.Harness{
		New:     func(*testing.T) state.Backend { return newBackend(prefix) },
		Open:    func(_ *testing.T, b state.Backend) state.Backend { return openBackend(b) },
		Corrupt: corrupt,
		Raw:     rawOf,
	}
}

func TestConformance(t *testing.T) {
	for _, prefix := range []string{"", "team/prod", "/lead/and/trail/"} {
		t.Run(fmt.Sprintf("prefix=%q", prefix), func(t *testing.T) { statetest.Run(t, harness(prefix)) })
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		prefix, wantState, wantLock string
	}{
		{"", "eu-1.json", "eu-1.lock"},
		{"a", "a/eu-1.json", "a/eu-1.lock"},
		{"/a/b/", "a/b/eu-1.json", "a/b/eu-1.lock"},
	}
	for _, tt := range tests {
		b := newBackend(tt.prefix)
		if got := b.StateKey("eu-1"); got != tt.wantState {
			t.Errorf("prefix %q: StateKey = %q, want %q", tt.prefix, got, tt.wantState)
		}
		if got := b.LockKey("eu-1"); got != tt.wantLock {
			t.Errorf("prefix %q: LockKey = %q, want %q", tt.prefix, got, tt.wantLock)
		}
	}
}

// TestListingStaysInPrefix checks that objects in nested folders and other
// prefixes are not taken for regions.
func TestListingStaysInPrefix(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	m.set("team/eu-1.json", nil)
	m.set("team/nested/eu-2.json", nil)
	m.set("teamx/eu-3.json", nil)
	m.set("team/notes.txt", nil)
	m.set("team/Bad_Name.json", nil)
	got, err := New(m, "team").Regions(ctx)
	if err != nil || !slices.Equal(got, []string{"eu-1"}) {
		t.Fatalf("Regions = %v, %v; want [eu-1]", got, err)
	}
}

// TestWriteRaceReportsConflict slips a write in between Write's read and its
// conditional put: the put's failed condition must become a ConflictError
// naming the serial the other writer stored.
func TestWriteRaceReportsConflict(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	b := New(m, "")
	s1 := statetest.Sample("eu-1", "L", 1)
	if err := b.Write(ctx, s1, 0); err != nil {
		t.Fatal(err)
	}
	s2 := s1.Clone()
	s2.Serial = 2
	raced := s2.Clone()
	raced.Provider = "raced"
	m.beforePut = func(string) {
		m.beforePut = nil // the racing write's own put goes through
		if err := New(m, "").Write(ctx, raced, 1); err != nil {
			t.Errorf("racing write: %v", err)
		}
	}
	err := b.Write(ctx, s2, 1)
	var c *state.ConflictError
	if !errors.As(err, &c) || c.GotSerial != 2 {
		t.Fatalf("Write that lost a race: err = %v, want ConflictError at serial 2", err)
	}
	got, err := b.Read(ctx, "eu-1")
	if err != nil || got.Provider != "raced" {
		t.Fatalf("after the race, provider = %v (%v), want the racing writer's", got, err)
	}
}

// TestRenewDoesNotClobberRetakenLock breaks and retakes a lock between a
// renewal's read and its conditional write: the renewal must fail with the
// new holder, and the new holder's record must be intact.
func TestRenewDoesNotClobberRetakenLock(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	b := New(m, "")
	now := time.Now()
	old, err := b.Lock(ctx, "r", state.LockInfo{Who: "old", Expires: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var retaken state.LockInfo
	m.beforePut = func(string) {
		m.beforePut = nil // the retaking Lock's own put goes through
		other := New(m, "")
		if err := other.UnlockStale(ctx, "r", old.ID, now); err != nil {
			t.Errorf("break: %v", err)
		}
		var err error
		if retaken, err = other.Lock(ctx, "r", state.LockInfo{Who: "new", Expires: now.Add(time.Hour)}); err != nil {
			t.Errorf("retake: %v", err)
		}
	}
	err = b.Renew(ctx, "r", old.ID, now.Add(time.Hour))
	var lerr *state.LockError
	if !errors.As(err, &lerr) || lerr.Holder == nil || lerr.Holder.ID != retaken.ID {
		t.Fatalf("Renew of a lock broken and retaken: err = %v, want LockError naming %s", err, retaken.ID)
	}
	locks, _ := b.Locks(ctx)
	if len(locks) != 1 || locks[0].Who != "new" {
		t.Fatalf("Locks = %+v, want only the new holder", locks)
	}
}

func TestUnreadableLockRecord(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	b := New(m, "p")
	m.set("p/r.lock", []byte("{not json"))
	_, err := b.Lock(ctx, "r", state.LockInfo{Who: "x"})
	var lerr *state.LockError
	if !errors.As(err, &lerr) || !strings.Contains(err.Error(), "mem://p/r.lock") || !strings.Contains(err.Error(), "delete the object") {
		t.Fatalf("Lock over an unreadable record: err = %v, want a LockError naming the object and the fix", err)
	}
	if _, err := b.Locks(ctx); err == nil {
		t.Fatal("Locks with an unreadable record succeeded")
	}
}
