// Package objstore is the part of regionctl's remote state backends that does
// not depend on the cloud: a state.Backend built on a small Store interface
// of conditional object operations (read with a version, create-only write,
// write-if-version, delete-if-version, list). state/s3, state/gcs and
// state/azblob each implement Store on their cloud's SDK; the algorithms
// (compare-and-swap on serial and lineage, lock records, stale-lock
// breaking, corrupt-document handling) live here once.
//
// Keys: with prefix p, region r's document is "p/r.json" and its lock
// record "p/r.lock" (no "p/" when the prefix is empty).
//
// Every change is a conditional write; nothing relies on a conditional
// delete, which not every store honours (fake-gcs-server ignores
// ifGenerationMatch on DELETE, and S3 offers If-Match on DeleteObject only
// recently). So unlocking overwrites the lock record with an empty object,
// conditioned on the version of the record it checked, and an empty lock
// object means "not locked": Lock then takes it over with a write
// conditioned on the empty object's version.
package objstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/state"
)

// Errors a Store returns, possibly wrapped.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrPrecondition: the object's version is not the one the call was
	// conditioned on (or it exists when it had to be absent).
	ErrPrecondition = errors.New("precondition failed")
)

// Version identifies one stored version of an object: an ETag or a
// generation number, opaque to this package. The empty Version means "the
// object must not exist" in Put.
type Version string

// Store is conditional object storage, as each cloud offers it.
type Store interface {
	// Get returns the object's bytes and version, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, Version, error)
	// Put stores data at key if the stored version is ifVersion, or, when
	// ifVersion is empty, if the key does not exist; otherwise it returns
	// an error wrapping ErrPrecondition and stores nothing.
	Put(ctx context.Context, key string, data []byte, ifVersion Version) error
	// List returns the names (without prefix) of the objects directly
	// under prefix (which ends in "/" or is empty); "folders" are not
	// descended into.
	List(ctx context.Context, prefix string) ([]string, error)
	// URL names key for messages (s3://bucket/key).
	URL(key string) string
	// Previous names where the version of key before the current one can
	// be found (a bucket version, a generation), or "" when the store
	// keeps none. Best effort: errors give "".
	Previous(ctx context.Context, key string) string
}

// File name suffixes of a region's objects.
const (
	StateSuffix = ".json"
	LockSuffix  = ".lock"
)

// maxRetries bounds loops that retry when an object changed between a read
// and a conditional write that depends on it.
const maxRetries = 10

// Backend is a state.Backend over a Store.
type Backend struct {
	store  Store
	prefix string // "" or ends in "/"
}

var (
	_ state.Backend       = (*Backend)(nil)
	_ state.StaleUnlocker = (*Backend)(nil)
)

// New returns a backend keeping its objects in store under prefix (a
// "folder" name; leading and trailing slashes are ignored).
func New(store Store, prefix string) *Backend {
	return &Backend{store: store, prefix: NormalizePrefix(prefix)}
}

// NormalizePrefix turns a user's prefix into "" or "a/b/".
func NormalizePrefix(prefix string) string {
	p := strings.Trim(prefix, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// Prefix returns the normalized prefix ("" or ending in "/").
func (b *Backend) Prefix() string { return b.prefix }

// Store returns the backend's store.
func (b *Backend) Store() Store { return b.store }

// StateKey returns the key of region's state document.
func (b *Backend) StateKey(region string) string { return b.prefix + region + StateSuffix }

// LockKey returns the key of region's lock record.
func (b *Backend) LockKey(region string) string { return b.prefix + region + LockSuffix }

// Read returns region's state, an error wrapping state.ErrNoState when there
// is none, or a *state.CorruptError when the stored document cannot be used.
func (b *Backend) Read(ctx context.Context, region string) (*state.State, error) {
	if err := state.ValidateRegionName(region); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	s, _, err := b.load(ctx, region)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("region %s (%s): %w", region, b.store.URL(b.StateKey(region)), state.ErrNoState)
	}
	return s, nil
}

// load reads region's document: (nil, "", nil) when there is none.
func (b *Backend) load(ctx context.Context, region string) (*state.State, Version, error) {
	key := b.StateKey(region)
	data, v, err := b.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read state of region %s from %s: %w", region, b.store.URL(key), err)
	}
	s, err := state.Decode(data)
	if err == nil && s.Region != region {
		err = fmt.Errorf("the object holds the state of region %q", s.Region)
	}
	if err != nil {
		return nil, v, &state.CorruptError{Region: region, Where: b.store.URL(key), Backup: b.store.Previous(ctx, key), Err: err}
	}
	return s, v, nil
}

// Write stores s if the stored document is at serial prevSerial with s's
// lineage (or absent and prevSerial is 0), conditioned on the version read,
// so a writer that raced in between makes it a *state.ConflictError. A
// stored document that cannot be decoded is never overwritten.
func (b *Backend) Write(ctx context.Context, s *state.State, prevSerial uint64) error {
	if s == nil {
		return errors.New("write state: nil state")
	}
	region := s.Region
	if err := state.ValidateRegionName(region); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if s.Serial != prevSerial+1 {
		return fmt.Errorf("write state of region %s: serial %d does not follow %d", region, s.Serial, prevSerial)
	}
	data, err := state.Encode(s)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	for range maxRetries {
		cur, v, err := b.load(ctx, region)
		if err != nil {
			return fmt.Errorf("write state of region %s: %w", region, err)
		}
		if cerr := conflict(region, cur, s, prevSerial); cerr != nil {
			return cerr
		}
		err = b.store.Put(ctx, b.StateKey(region), data, v)
		if errors.Is(err, ErrPrecondition) {
			// Another writer got in between our read and our write:
			// read again to report what it wrote.
			continue
		}
		if err != nil {
			return fmt.Errorf("write state of region %s to %s: %w", region, b.store.URL(b.StateKey(region)), err)
		}
		return nil
	}
	return fmt.Errorf("write state of region %s: the document kept changing under %d attempts", region, maxRetries)
}

// conflict returns the *state.ConflictError of writing s over cur (nil when
// absent) from prevSerial, or nil when the write may go ahead.
func conflict(region string, cur, s *state.State, prevSerial uint64) error {
	if cur == nil {
		if prevSerial != 0 {
			return &state.ConflictError{Region: region, WantSerial: prevSerial, GotSerial: 0, WantLineage: s.Lineage, GotLineage: s.Lineage}
		}
		return nil
	}
	if cur.Lineage != s.Lineage || cur.Serial != prevSerial {
		return &state.ConflictError{Region: region, WantSerial: prevSerial, GotSerial: cur.Serial, WantLineage: s.Lineage, GotLineage: cur.Lineage}
	}
	return nil
}

// Regions lists the regions that have a state document, sorted.
func (b *Backend) Regions(ctx context.Context) ([]string, error) {
	regions, err := b.ListRegions(ctx, StateSuffix)
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return regions, nil
}

// ListRegions returns the sorted region names of the objects named
// <prefix><region><suffix>.
func (b *Backend) ListRegions(ctx context.Context, suffix string) ([]string, error) {
	names, err := b.store.List(ctx, b.prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", b.store.URL(b.prefix), err)
	}
	out := []string{}
	for _, name := range names {
		region, ok := strings.CutSuffix(name, suffix)
		if ok && state.ValidateRegionName(region) == nil {
			out = append(out, region)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// EncodeLock renders a lock record.
func EncodeLock(info state.LockInfo) ([]byte, error) {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode lock record: %w", err)
	}
	return append(data, '\n'), nil
}

// DecodeLock parses region's lock record stored at where, or returns a
// *state.LockError saying the record is unreadable and how to clear it.
func DecodeLock(region, where string, data []byte) (*state.LockInfo, error) {
	var h state.LockInfo
	err := json.Unmarshal(data, &h)
	if err == nil && h.ID == "" {
		err = errors.New("it has no lock ID")
	}
	if err != nil {
		return nil, &state.LockError{Region: region, Err: fmt.Errorf(
			"lock record %s is unreadable (%v): if no regionctl run is using region %s, delete the object", where, err, region)}
	}
	h.Region = region
	return &h, nil
}

// NewLockID returns info.ID, or a new random ID when it is empty.
func NewLockID(info state.LockInfo) string {
	if info.ID != "" {
		return info.ID
	}
	return uuid.NewString()
}

// readLock returns region's lock record and the lock object's version, or a
// nil record when the region is not locked: no lock object ("" version) or
// an empty one (its version).
func (b *Backend) readLock(ctx context.Context, region string) (*state.LockInfo, Version, error) {
	key := b.LockKey(region)
	data, v, err := b.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read lock of region %s from %s: %w", region, b.store.URL(key), err)
	}
	if len(data) == 0 {
		return nil, v, nil // released
	}
	h, err := DecodeLock(region, b.store.URL(key), data)
	return h, v, err
}

// Lock writes region's lock record with a conditional write: a create-only
// write when there is no lock object, a write conditioned on the version of
// an empty (released) one otherwise. Of two runs racing, the store lets
// exactly one write, and the other reads the winner's record for its
// *state.LockError.
func (b *Backend) Lock(ctx context.Context, region string, info state.LockInfo) (state.LockInfo, error) {
	if err := state.ValidateRegionName(region); err != nil {
		return state.LockInfo{}, fmt.Errorf("lock: %w", err)
	}
	info.Region = region
	info.ID = NewLockID(info)
	data, err := EncodeLock(info)
	if err != nil {
		return state.LockInfo{}, err
	}
	key := b.LockKey(region)
	for range maxRetries {
		h, v, err := b.readLock(ctx, region)
		if err != nil {
			return state.LockInfo{}, err
		}
		if h != nil {
			return state.LockInfo{}, &state.LockError{Region: region, Holder: h}
		}
		err = b.store.Put(ctx, key, data, v)
		if err == nil {
			return info, nil
		}
		if !errors.Is(err, ErrPrecondition) {
			return state.LockInfo{}, fmt.Errorf("lock region %s (%s): %w", region, b.store.URL(key), err)
		}
		// Someone else wrote the lock object since we read it: look again.
	}
	return state.LockInfo{}, &state.LockError{Region: region, Err: fmt.Errorf("the lock kept changing hands under %d attempts", maxRetries)}
}

// Renew moves the lease deadline of the lock held under id, rewriting the
// record conditioned on the version read, so a lock broken and retaken in
// between is never overwritten.
func (b *Backend) Renew(ctx context.Context, region, id string, expires time.Time) error {
	return b.modifyLock(ctx, region, id, "renew", func(h *state.LockInfo, v Version) error {
		h.Expires = expires
		data, err := EncodeLock(*h)
		if err != nil {
			return err
		}
		return b.store.Put(ctx, b.LockKey(region), data, v)
	})
}

// Unlock empties the lock object held under id, conditioned on the version
// read.
func (b *Backend) Unlock(ctx context.Context, region, id string) error {
	return b.modifyLock(ctx, region, id, "unlock", func(_ *state.LockInfo, v Version) error {
		return b.store.Put(ctx, b.LockKey(region), nil, v)
	})
}

// UnlockStale empties region's lock object if it is held under id and its
// lease has run out at now. The write is conditioned on the version whose
// deadline was checked, so a holder renewing at that moment keeps its lock.
func (b *Backend) UnlockStale(ctx context.Context, region, id string, now time.Time) error {
	return b.modifyLock(ctx, region, id, "break", func(h *state.LockInfo, v Version) error {
		if !h.Stale(now) {
			return &state.LockError{Region: region, Holder: h, Err: errors.New("its lease was renewed: it is not stale")}
		}
		return b.store.Put(ctx, b.LockKey(region), nil, v)
	})
}

// modifyLock runs fn on region's lock record and version when it is held
// under id, and returns a *state.LockError otherwise. When fn's conditional
// operation finds the record changed, it reads it again and retries.
func (b *Backend) modifyLock(ctx context.Context, region, id, op string, fn func(*state.LockInfo, Version) error) error {
	if err := state.ValidateRegionName(region); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for range maxRetries {
		h, v, err := b.readLock(ctx, region)
		if err != nil {
			return err
		}
		if h == nil {
			return &state.LockError{Region: region, Err: fmt.Errorf("cannot %s lock %s: region is not locked", op, id)}
		}
		if h.ID != id {
			return &state.LockError{Region: region, Holder: h, Err: fmt.Errorf("cannot %s lock %s: the lock is held under another ID", op, id)}
		}
		err = fn(h, v)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrPrecondition), errors.Is(err, ErrNotFound):
			continue // changed since we read it: look again
		}
		var lerr *state.LockError
		if errors.As(err, &lerr) {
			return err
		}
		return fmt.Errorf("%s lock of region %s (%s): %w", op, region, b.store.URL(b.LockKey(region)), err)
	}
	return &state.LockError{Region: region, Err: fmt.Errorf("cannot %s lock %s: the record kept changing under %d attempts", op, id, maxRetries)}
}

// Locks lists the lock records, sorted by region.
func (b *Backend) Locks(ctx context.Context) ([]state.LockInfo, error) {
	regions, err := b.ListRegions(ctx, LockSuffix)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	out := []state.LockInfo{}
	for _, region := range regions {
		h, _, err := b.readLock(ctx, region)
		if err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		if h != nil { // unlocked since the listing
			out = append(out, *h)
		}
	}
	return out, nil
}
