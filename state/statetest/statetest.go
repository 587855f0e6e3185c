// Package statetest is the conformance suite for state backends. A backend
// passes it by describing how to make an empty store, a second client on the
// same store, and how to corrupt and read back a stored document:
//
//	func TestConformance(t *testing.T) {
//		statetest.Run(t, statetest.Harness{
//			New:  func(t *testing.T) state.Backend { return mybackend.New(t.TempDir()) },
//			Open: func(t *testing.T, b state.Backend) state.Backend { return mybackend.New(b.(*mybackend.Backend).Dir()) },
//			Corrupt: func(t *testing.T, b state.Backend, region string) { /* overwrite the stored object with garbage */ },
//			Raw:     func(t *testing.T, b state.Backend, region string) []byte { /* the stored object's bytes */ },
//		})
//	}
//
// The suite checks the contracts in package state: ErrNoState, deep
// round-trips, compare-and-swap on serial and lineage, exclusive leased locks
// with holder records, stale-lock breaking and taking over (a dead holder
// of this host is stale at once only on a state.HolderChecker; on any other
// backend only when its lease runs out), concurrent read-modify-write
// writers that all land, corrupt documents that are reported and never
// overwritten, and region listings.
package statetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/state"
)

// Harness tells Run how to reach the backend under test.
type Harness struct {
	// New returns a fresh, empty store. It is called once per subtest;
	// cleaning up (t.Cleanup, t.TempDir) is its business.
	New func(t *testing.T) state.Backend
	// Open returns another client on the same store as b, independent of b
	// the way a second regionctl process would be (for the local backend, a
	// second local.New on b's directory). Subtests about contention use it.
	// When nil, b itself is used, and contention is only tested within one
	// client.
	Open func(t *testing.T, b state.Backend) state.Backend
	// Corrupt makes the stored document of region in b's store
	// undecodable. When nil, the corrupt-document subtest is skipped.
	Corrupt func(t *testing.T, b state.Backend, region string)
	// Raw returns the stored bytes of region's document in b's store, so
	// the suite can check that a refused write changed nothing. When nil,
	// that check is skipped (and logged).
	Raw func(t *testing.T, b state.Backend, region string) []byte
	// Writers is how many goroutines the concurrent-writers subtest runs,
	// each through its own client; 0 means 8.
	Writers int
}

// Run runs the conformance suite against the backend h describes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("statetest.Harness.New is nil")
	}
	if h.Open == nil {
		t.Log("statetest: Harness.Open is nil: contention subtests use one client")
		h.Open = func(_ *testing.T, b state.Backend) state.Backend { return b }
	}
	if h.Writers <= 0 {
		h.Writers = 8
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"ReadMissing", testReadMissing},
		{"WriteReadBack", testWriteReadBack},
		{"ReadReturnsCopy", testReadReturnsCopy},
		{"SuccessiveWrites", testSuccessiveWrites},
		{"SerialMustFollow", testSerialMustFollow},
		{"StaleSerialConflict", testStaleSerial},
		{"CreateOverExistingConflict", testCreateOverExisting},
		{"WriteToMissingConflict", testWriteToMissing},
		{"LineageConflict", testLineageConflict},
		{"InvalidRegionNames", testInvalidRegionNames},
		{"Regions", testRegions},
		{"LockContention", testLockContention},
		{"LockID", testLockID},
		{"LocksArePerRegion", testLocksPerRegion},
		{"UnlockWrongID", testUnlockWrongID},
		{"UnlockNotLocked", testUnlockNotLocked},
		{"UnlockThenLock", testUnlockThenLock},
		{"Renew", testRenew},
		{"StaleLease", testStaleLease},
		{"BreakStaleRefusesFresh", testBreakStaleFresh},
		{"BreakStaleNotLocked", testBreakStaleNotLocked},
		{"AcquireTakesOverStaleLease", testTakeOverStaleLease},
		{"AcquireReportsStaleWithoutTimeout", testStaleWithoutTimeout},
		{"DeadHolderOnThisHost", testDeadHolder},
		{"LocksAcrossRegions", testLocksAcrossRegions},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CorruptDocument", testCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

// Sample returns a state for region exercising every field: statuses
// created, pending, tainted and deposed (one address with a current and a
// deposed object), nested inputs and outputs, dependencies. Numbers are
// float64, as JSON decodes them.
func Sample(region, lineage string, serial uint64) *state.State {
	s := state.New(region, "aws", lineage)
	s.Serial = serial
	s.Protect = true
	vpc := region + "/aws_vpc.main"
	s.Put(state.Resource{
		Address: vpc, Type: "aws_vpc", ID: "vpc-0a1b2c", Status: state.StatusCreated,
		IdempotencyKey: "create-vpc-1",
		Inputs: map[string]any{
			"cidr":  "10.20.0.0/16",
			"tags":  map[string]any{"regionctl/region": region, "team": "<platform & infra>"},
			"zones": float64(3),
			"list":  []any{"a", float64(1.5), true, nil, map[string]any{"k": "v"}},
		},
		Outputs:  map[string]any{"arn": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0a1b2c"},
		Stateful: true,
	})
	s.Put(state.Resource{
		Address: region + "/aws_eks_cluster.main", Type: "aws_eks_cluster", Status: state.StatusPending,
		IdempotencyKey: "create-cluster-1", Dependencies: []string{vpc},
		Inputs: map[string]any{"version": "1.33"},
	})
	s.Put(state.Resource{
		Address: region + "/aws_subnet.a", Type: "aws_subnet", ID: "subnet-1", Status: state.StatusTainted,
		Dependencies: []string{vpc},
	})
	ng := region + "/aws_eks_node_group.general"
	s.Put(state.Resource{Address: ng, Type: "aws_eks_node_group", ID: "ng-new", Status: state.StatusCreated})
	s.Put(state.Resource{Address: ng, Type: "aws_eks_node_group", ID: "ng-old", Status: state.StatusDeposed})
	return s
}

var cmpState = cmpopts.EquateEmpty()

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func newLineage() string { return uuid.NewString() }

func mustWrite(t *testing.T, b state.Backend, s *state.State, prev uint64) {
	t.Helper()
	if err := b.Write(ctxT(t), s, prev); err != nil {
		t.Fatalf("Write(%s serial %d, prev %d): %v", s.Region, s.Serial, prev, err)
	}
}

func mustRead(t *testing.T, b state.Backend, region string) *state.State {
	t.Helper()
	s, err := b.Read(ctxT(t), region)
	if err != nil {
		t.Fatalf("Read(%s): %v", region, err)
	}
	return s
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	var c *state.ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("Write error = %v (%T), want *state.ConflictError", err, err)
	}
}

func wantUnchanged(t *testing.T, b state.Backend, want *state.State) {
	t.Helper()
	got := mustRead(t, b, want.Region)
	if diff := cmp.Diff(want, got, cmpState); diff != "" {
		t.Fatalf("stored state changed by a refused write (-want +got):\n%s", diff)
	}
}

func testReadMissing(t *testing.T, h Harness) {
	b := h.New(t)
	_, err := b.Read(ctxT(t), "never-written")
	if !errors.Is(err, state.ErrNoState) {
		t.Fatalf("Read of a region never written: err = %v, want ErrNoState", err)
	}
}

func testWriteReadBack(t *testing.T, h Harness) {
	b := h.New(t)
	want := Sample("eu-1", newLineage(), 1)
	mustWrite(t, b, want, 0)
	for name, c := range map[string]state.Backend{"same client": b, "second client": h.Open(t, b)} {
		got := mustRead(t, c, "eu-1")
		if diff := cmp.Diff(want, got, cmpState); diff != "" {
			t.Errorf("%s: read back differs (-wrote +read):\n%s", name, diff)
		}
	}
	empty := state.New("empty", "gcp", newLineage())
	empty.Serial = 1
	mustWrite(t, b, empty, 0)
	if diff := cmp.Diff(empty, mustRead(t, b, "empty"), cmpState); diff != "" {
		t.Errorf("state with no resources read back differs (-wrote +read):\n%s", diff)
	}
}

func testReadReturnsCopy(t *testing.T, h Harness) {
	b := h.New(t)
	want := Sample("eu-1", newLineage(), 1)
	mustWrite(t, b, want.Clone(), 0)
	got := mustRead(t, b, "eu-1")
	got.Resources[0].Inputs["cidr"] = "changed"
	got.Resources = got.Resources[:1]
	got.Serial = 99
	wantUnchanged(t, b, want)
}

func testSuccessiveWrites(t *testing.T, h Harness) {
	b := h.New(t)
	s := Sample("us-1", newLineage(), 1)
	mustWrite(t, b, s, 0)
	for serial := uint64(2); serial <= 5; serial++ {
		s = s.Clone()
		s.Serial = serial
		s.Put(state.Resource{Address: fmt.Sprintf("us-1/x.r%d", serial), Type: "x", ID: fmt.Sprint(serial), Status: state.StatusCreated})
		mustWrite(t, b, s, serial-1)
		if diff := cmp.Diff(s, mustRead(t, b, "us-1"), cmpState); diff != "" {
			t.Fatalf("after write of serial %d (-wrote +read):\n%s", serial, diff)
		}
	}
}

func testSerialMustFollow(t *testing.T, h Harness) {
	b := h.New(t)
	s := Sample("us-1", newLineage(), 1)
	mustWrite(t, b, s, 0)
	bad := s.Clone()
	bad.Serial = 3
	if err := b.Write(ctxT(t), bad, 1); err == nil {
		t.Fatal("Write with serial 3 over prevSerial 1 succeeded, want an error")
	}
	wantUnchanged(t, b, s)
}

func testStaleSerial(t *testing.T, h Harness) {
	b := h.New(t)
	lineage := newLineage()
	s1 := Sample("us-1", lineage, 1)
	mustWrite(t, b, s1, 0)
	s2 := s1.Clone()
	s2.Serial = 2
	s2.Provider = "second"
	mustWrite(t, b, s2, 1)
	// A run that read serial 1 and writes now raced the second write.
	late := s1.Clone()
	late.Serial = 2
	late.Provider = "late"
	err := h.Open(t, b).Write(ctxT(t), late, 1)
	wantConflict(t, err)
	var c *state.ConflictError
	errors.As(err, &c)
	if c.GotSerial != 2 || c.WantSerial != 1 {
		t.Errorf("ConflictError serials: want %d got %d, expected want 1 got 2", c.WantSerial, c.GotSerial)
	}
	wantUnchanged(t, b, s2)
}

func testCreateOverExisting(t *testing.T, h Harness) {
	b := h.New(t)
	s := Sample("us-1", newLineage(), 1)
	mustWrite(t, b, s, 0)
	again := Sample("us-1", s.Lineage, 1)
	again.Provider = "again"
	wantConflict(t, b.Write(ctxT(t), again, 0))
	wantUnchanged(t, b, s)
}

func testWriteToMissing(t *testing.T, h Harness) {
	b := h.New(t)
	s := Sample("us-1", newLineage(), 4)
	wantConflict(t, b.Write(ctxT(t), s, 3))
	if _, err := b.Read(ctxT(t), "us-1"); !errors.Is(err, state.ErrNoState) {
		t.Fatalf("after a refused write, Read err = %v, want ErrNoState", err)
	}
}

func testLineageConflict(t *testing.T, h Harness) {
	b := h.New(t)
	s := Sample("us-1", newLineage(), 1)
	mustWrite(t, b, s, 0)
	other := Sample("us-1", newLineage(), 2)
	err := b.Write(ctxT(t), other, 1)
	wantConflict(t, err)
	var c *state.ConflictError
	errors.As(err, &c)
	if c.GotLineage != s.Lineage || c.WantLineage != other.Lineage {
		t.Errorf("ConflictError lineages: want %q got %q, expected want %q got %q", c.WantLineage, c.GotLineage, other.Lineage, s.Lineage)
	}
	wantUnchanged(t, b, s)
}

func testInvalidRegionNames(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	for _, name := range []string{"", "../escape", "a/b", ".", "..", "UPPER", "a\x00b", `a\b`, "-lead"} {
		if _, err := b.Read(ctx, name); err == nil || errors.Is(err, state.ErrNoState) {
			t.Errorf("Read(%q): err = %v, want an invalid-name error", name, err)
		}
		s := Sample("ok", newLineage(), 1)
		s.Region = name
		if err := b.Write(ctx, s, 0); err == nil {
			t.Errorf("Write(region %q) succeeded, want an invalid-name error", name)
		}
		if _, err := b.Lock(ctx, name, holder("x", 1, time.Now().Add(time.Hour))); err == nil {
			t.Errorf("Lock(%q) succeeded, want an invalid-name error", name)
		}
	}
	regions, err := b.Regions(ctx)
	if err != nil || len(regions) != 0 {
		t.Errorf("Regions after invalid writes = %v, %v; want none", regions, err)
	}
}

func testRegions(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	got, err := b.Regions(ctx)
	if err != nil {
		t.Fatalf("Regions of an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Regions of an empty store = %v, want none", got)
	}
	for _, r := range []string{"zeta", "alpha", "mid-1", "alpha.eu"} {
		mustWrite(t, b, Sample(r, newLineage(), 1), 0)
	}
	if _, err := b.Lock(ctx, "locked-only", holder("x", 1, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	got, err = h.Open(t, b).Regions(ctx)
	if err != nil {
		t.Fatalf("Regions: %v", err)
	}
	want := []string{"alpha", "alpha.eu", "mid-1", "zeta"}
	if !slices.Equal(got, want) {
		t.Fatalf("Regions = %v, want %v (sorted; a region that is only locked has no state)", got, want)
	}
}

// holder returns a lock record for a made-up process.
func holder(who string, pid int, expires time.Time) state.LockInfo {
	now := time.Now().UTC().Truncate(time.Second)
	return state.LockInfo{
		Operation: "apply-by-" + who, Who: who + "@host-" + who, PID: pid, Version: "test",
		Created: now, Expires: expires.UTC().Truncate(time.Second), CIJobURL: "https://ci.example/" + who,
	}
}

func testLockContention(t *testing.T, h Harness) {
	b := h.New(t)
	clients := []state.Backend{b, h.Open(t, b)}
	infos := []state.LockInfo{holder("alice", 101, time.Now().Add(time.Hour)), holder("bob", 202, time.Now().Add(time.Hour))}
	type result struct {
		info state.LockInfo
		err  error
	}
	results := make([]result, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-start
			got, err := clients[i].Lock(ctxT(t), "contended", infos[i])
			results[i] = result{got, err}
		})
	}
	close(start)
	wg.Wait()
	var winners []int
	for i, r := range results {
		if r.err == nil {
			winners = append(winners, i)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d of 2 clients got the lock (errors %v, %v), want exactly 1", len(winners), results[0].err, results[1].err)
	}
	w, l := winners[0], 1-winners[0]
	var lerr *state.LockError
	if !errors.As(results[l].err, &lerr) || lerr.Holder == nil {
		t.Fatalf("loser's error = %v (%T), want *state.LockError with Holder", results[l].err, results[l].err)
	}
	got, want := *lerr.Holder, infos[w]
	if got.Who != want.Who || got.Operation != want.Operation || got.PID != want.PID || got.ID != results[w].info.ID || got.Region != "contended" {
		t.Fatalf("loser's LockError holder = %+v, want the winner %+v (ID %s)", got, want, results[w].info.ID)
	}
	for _, part := range []string{want.Who, want.Operation, fmt.Sprint(want.PID)} {
		if !strings.Contains(lerr.Error(), part) {
			t.Errorf("LockError message %q does not mention %q", lerr.Error(), part)
		}
	}
}

func testLockID(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	got, err := b.Lock(ctx, "r1", holder("a", 1, time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got.ID == "" || got.Region != "r1" {
		t.Fatalf("Lock returned ID %q region %q: want a generated ID and region r1", got.ID, got.Region)
	}
	info := holder("b", 2, time.Now().Add(time.Hour))
	info.ID = "chosen-id"
	got, err = b.Lock(ctx, "r2", info)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got.ID != "chosen-id" {
		t.Fatalf("Lock with ID chosen-id returned ID %q", got.ID)
	}
	if err := b.Unlock(ctx, "r2", "chosen-id"); err != nil {
		t.Fatalf("Unlock by the chosen ID: %v", err)
	}
}

func testLocksPerRegion(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	if _, err := b.Lock(ctx, "r1", holder("a", 1, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("Lock r1: %v", err)
	}
	if _, err := h.Open(t, b).Lock(ctx, "r2", holder("b", 2, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("Lock r2 while r1 is locked: %v", err)
	}
}

func wantHeld(t *testing.T, b state.Backend, region, id string) {
	t.Helper()
	_, err := b.Lock(ctxT(t), region, holder("prober", 9, time.Now().Add(time.Hour)))
	var lerr *state.LockError
	if !errors.As(err, &lerr) || lerr.Holder == nil || lerr.Holder.ID != id {
		t.Fatalf("Lock of %s: err = %v, want a *LockError naming holder %s", region, err, id)
	}
}

func testUnlockWrongID(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	got, err := b.Lock(ctx, "r1", holder("a", 1, time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	err = h.Open(t, b).Unlock(ctx, "r1", "not-"+got.ID)
	var lerr *state.LockError
	if !errors.As(err, &lerr) {
		t.Fatalf("Unlock with a wrong ID: err = %v (%T), want *state.LockError", err, err)
	}
	wantHeld(t, h.Open(t, b), "r1", got.ID)
}

func testUnlockNotLocked(t *testing.T, h Harness) {
	b := h.New(t)
	err := b.Unlock(ctxT(t), "r1", "some-id")
	var lerr *state.LockError
	if !errors.As(err, &lerr) {
		t.Fatalf("Unlock of an unlocked region: err = %v (%T), want *state.LockError", err, err)
	}
}

func testUnlockThenLock(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	for i := range 3 {
		c := b
		if i%2 == 1 {
			c = h.Open(t, b)
		}
		got, err := c.Lock(ctx, "r1", holder(fmt.Sprint("p", i), i, time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatalf("Lock #%d after unlock: %v", i, err)
		}
		if err := c.Unlock(ctx, "r1", got.ID); err != nil {
			t.Fatalf("Unlock #%d: %v", i, err)
		}
	}
	locks, err := b.Locks(ctx)
	if err != nil || len(locks) != 0 {
		t.Fatalf("Locks after unlocking = %v, %v; want none", locks, err)
	}
}

func findLock(t *testing.T, b state.Backend, region string) state.LockInfo {
	t.Helper()
	locks, err := b.Locks(ctxT(t))
	if err != nil {
		t.Fatalf("Locks: %v", err)
	}
	for _, l := range locks {
		if l.Region == region {
			return l
		}
	}
	t.Fatalf("Locks = %v: no lock on %s", locks, region)
	return state.LockInfo{}
}

func testRenew(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	first := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	got, err := b.Lock(ctx, "r1", holder("a", 1, first))
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if l := findLock(t, b, "r1"); !l.Expires.Equal(first) {
		t.Fatalf("Locks reports Expires %v, want %v", l.Expires, first)
	}
	later := first.Add(10 * time.Minute)
	if err := b.Renew(ctx, "r1", got.ID, later); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	l := findLock(t, h.Open(t, b), "r1")
	if !l.Expires.Equal(later) {
		t.Fatalf("after Renew, Expires = %v, want %v", l.Expires, later)
	}
	if l.ID != got.ID || l.Who != got.Who || l.PID != got.PID {
		t.Fatalf("Renew changed the holder: %+v, was %+v", l, got)
	}
	var lerr *state.LockError
	if err := b.Renew(ctx, "r1", "not-"+got.ID, later.Add(time.Hour)); !errors.As(err, &lerr) {
		t.Fatalf("Renew with a wrong ID: err = %v, want *state.LockError", err)
	}
	if err := b.Renew(ctx, "unlocked", got.ID, later); !errors.As(err, &lerr) {
		t.Fatalf("Renew of an unlocked region: err = %v, want *state.LockError", err)
	}
	if l := findLock(t, b, "r1"); !l.Expires.Equal(later) {
		t.Fatalf("a refused Renew moved Expires to %v", l.Expires)
	}
}

func testStaleLease(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	now := time.Now()
	dead := holder("dead", 66, now.Add(-5*time.Minute))
	dead.Created = now.Add(-time.Hour).UTC().Truncate(time.Second)
	got, err := b.Lock(ctx, "r1", dead)
	if err != nil {
		t.Fatalf("Lock with a lease already run out: %v", err)
	}
	other := h.Open(t, b)
	l := findLock(t, other, "r1")
	if !l.Stale(now) {
		t.Fatalf("lock with Expires %v: Stale(%v) = false, want true", l.Expires, now)
	}
	// A stale lock still blocks Lock: only breaking it frees the region.
	wantHeld(t, other, "r1", got.ID)
	broken, err := state.BreakStale(ctx, other, "r1", now)
	if err != nil {
		t.Fatalf("BreakStale of a stale lock: %v", err)
	}
	if broken.ID != got.ID || broken.Who != dead.Who {
		t.Fatalf("BreakStale returned %+v, want the dead holder %+v", broken, got)
	}
	if _, err := other.Lock(ctx, "r1", holder("next", 7, now.Add(time.Hour))); err != nil {
		t.Fatalf("Lock after BreakStale: %v", err)
	}
}

func testBreakStaleFresh(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	now := time.Now()
	got, err := b.Lock(ctx, "r1", holder("alive", 42, now.Add(time.Hour)))
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	other := h.Open(t, b)
	_, err = state.BreakStale(ctx, other, "r1", now)
	var lerr *state.LockError
	if !errors.As(err, &lerr) || lerr.Holder == nil || lerr.Holder.ID != got.ID {
		t.Fatalf("BreakStale of a live lock: err = %v, want *state.LockError naming holder %s", err, got.ID)
	}
	if !strings.Contains(err.Error(), "alive@host-alive") {
		t.Errorf("BreakStale error %q does not name the holder", err)
	}
	wantHeld(t, other, "r1", got.ID)
}

func testBreakStaleNotLocked(t *testing.T, h Harness) {
	b := h.New(t)
	_, err := state.BreakStale(ctxT(t), b, "r1", time.Now())
	var lerr *state.LockError
	if !errors.As(err, &lerr) {
		t.Fatalf("BreakStale of an unlocked region: err = %v, want *state.LockError", err)
	}
}

func testLocksAcrossRegions(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	locks, err := b.Locks(ctx)
	if err != nil || len(locks) != 0 {
		t.Fatalf("Locks of an empty store = %v, %v; want none", locks, err)
	}
	want := map[string]string{}
	for i, r := range []string{"r2", "r1", "r3.eu"} {
		c := b
		if i%2 == 1 {
			c = h.Open(t, b)
		}
		got, err := c.Lock(ctx, r, holder(fmt.Sprint("p", i), i, time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatalf("Lock %s: %v", r, err)
		}
		want[r] = got.ID
	}
	mustWrite(t, b, Sample("written-only", newLineage(), 1), 0)
	locks, err = h.Open(t, b).Locks(ctx)
	if err != nil {
		t.Fatalf("Locks: %v", err)
	}
	got := map[string]string{}
	for _, l := range locks {
		got[l.Region] = l.ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Locks by region (-want +got):\n%s", diff)
	}
}

func testConcurrentWriters(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	const region = "busy"
	lineage := newLineage()
	n := h.Writers
	var wg sync.WaitGroup
	for i := range n {
		c := h.Open(t, b)
		wg.Go(func() {
			addr := fmt.Sprintf("%s/x.w%02d", region, i)
			for attempt := 0; attempt < 100*n; attempt++ {
				cur, err := c.Read(ctx, region)
				var prev uint64
				switch {
				case errors.Is(err, state.ErrNoState):
					cur = state.New(region, "aws", lineage)
				case err != nil:
					t.Errorf("writer %d: Read: %v", i, err)
					return
				default:
					prev = cur.Serial
				}
				next := cur.Clone()
				next.Serial = prev + 1
				next.Put(state.Resource{Address: addr, Type: "x", ID: fmt.Sprint(i), Status: state.StatusCreated})
				err = c.Write(ctx, next, prev)
				var conflict *state.ConflictError
				switch {
				case err == nil:
					return
				case errors.As(err, &conflict):
					continue
				default:
					t.Errorf("writer %d: Write: %v", i, err)
					return
				}
			}
			t.Errorf("writer %d: still conflicting after %d attempts", i, 100*n)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	s := mustRead(t, b, region)
	if s.Serial != uint64(n) {
		t.Errorf("after %d writers, serial = %d, want %d", n, s.Serial, n)
	}
	for i := range n {
		if _, ok := s.Find(fmt.Sprintf("%s/x.w%02d", region, i)); !ok {
			t.Errorf("writer %d's resource is missing: a write was lost", i)
		}
	}
}

func testCorrupt(t *testing.T, h Harness) {
	if h.Corrupt == nil {
		t.Skip("Harness.Corrupt is nil")
	}
	b := h.New(t)
	ctx := ctxT(t)
	const region = "broken-1"
	s := Sample(region, newLineage(), 1)
	mustWrite(t, b, s, 0)
	h.Corrupt(t, b, region)
	var before []byte
	if h.Raw != nil {
		before = h.Raw(t, b, region)
	}
	for name, c := range map[string]state.Backend{"same client": b, "second client": h.Open(t, b)} {
		_, err := c.Read(ctx, region)
		switch {
		case err == nil:
			t.Fatalf("%s: Read of a corrupt document succeeded", name)
		case errors.Is(err, state.ErrNoState):
			t.Fatalf("%s: Read of a corrupt document returned ErrNoState (%v): it must never look empty", name, err)
		case !strings.Contains(err.Error(), region):
			t.Errorf("%s: Read error %q does not name region %s", name, err, region)
		}
	}
	next := s.Clone()
	next.Serial = 2
	if err := b.Write(ctx, next, 1); err == nil {
		t.Fatal("Write over a corrupt document succeeded")
	}
	if err := b.Write(ctx, Sample(region, newLineage(), 1), 0); err == nil {
		t.Fatal("Write of a new state over a corrupt document succeeded")
	}
	if h.Raw == nil {
		t.Log("Harness.Raw is nil: not checking the corrupt bytes are unchanged")
		return
	}
	if after := h.Raw(t, b, region); !bytes.Equal(before, after) {
		t.Fatalf("a refused Write changed the corrupt document:\nbefore %q\nafter  %q", before, after)
	}
}

// DeadHolder returns a lock record naming this host and a process that has
// exited (it starts `true` and waits for it): the holder a kill -9 leaves
// behind. On a backend that is a state.HolderChecker the lock is stale at
// once; on any other it is stale only when its lease runs out.
func DeadHolder(t *testing.T, expires time.Time) state.LockInfo {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run a process to outlive: %v", err)
	}
	h := state.NewLockInfo("", "apply")
	h.PID = cmd.Process.Pid
	h.Expires = expires.UTC().Truncate(time.Second)
	return h
}

// fakeTime is a clock for Acquire whose Sleep moves time on at once,
// except the lease heartbeat's, which lasts until the lease is released.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	sleeps int // waits for a held lock
}

// fakeLease is the lease acquireOptions asks for; its heartbeat sleeps a
// third of it.
const fakeLease = time.Hour

func (c *fakeTime) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	if d == fakeLease/3 {
		<-ctx.Done()
		return ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps++
	return ctx.Err()
}

// acquireOptions waits up to timeout on a fake clock and records the locks
// Acquire breaks.
func acquireOptions(c *fakeTime, timeout time.Duration, broke *[]string) state.LockOptions {
	return state.LockOptions{
		Timeout: timeout, Lease: fakeLease, Now: c.Now, Sleep: c.Sleep,
		OnBreak: func(h state.LockInfo, reason string) { *broke = append(*broke, h.ID+": "+reason) },
	}
}

func releaseOnCleanup(t *testing.T, le *state.Lease) {
	if le != nil {
		t.Cleanup(func() { le.Release(context.Background()) })
	}
}

// takeover is what acquireOverExpired saw.
type takeover struct {
	b     state.Backend
	dead  state.LockInfo // the holder whose lease ran out
	lease *state.Lease   // Acquire's results
	err   error
	broke []string // OnBreak's calls
	clock *fakeTime
}

// acquireOverExpired locks r1 for a holder whose lease ran out a minute
// ago, then Acquires it through a second client with timeout.
func acquireOverExpired(t *testing.T, h Harness, timeout time.Duration) takeover {
	t.Helper()
	to := takeover{b: h.New(t), clock: &fakeTime{now: time.Now()}}
	ctx := ctxT(t)
	var err error
	if to.dead, err = to.b.Lock(ctx, "r1", holder("dead", 66, to.clock.now.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	to.lease, to.err = state.Acquire(ctx, h.Open(t, to.b), "r1", holder("next", 7, time.Time{}), acquireOptions(to.clock, timeout, &to.broke))
	releaseOnCleanup(t, to.lease)
	return to
}

// testTakeOverStaleLease: with a lock timeout, Acquire breaks a lock whose
// lease ran out (a run that died) at once, says whose, and takes the lock.
func testTakeOverStaleLease(t *testing.T, h Harness) {
	to := acquireOverExpired(t, h, time.Minute)
	b, dead, le, err, broke, c := to.b, to.dead, to.lease, to.err, to.broke, to.clock
	if err != nil {
		t.Fatalf("Acquire with a lock timeout over a lock whose lease ran out: %v", err)
	}
	if len(broke) != 1 || !strings.HasPrefix(broke[0], dead.ID+": its lease ran out") {
		t.Errorf("OnBreak got %q; want one call for %s saying its lease ran out", broke, dead.ID)
	}
	if c.sleeps != 0 {
		t.Errorf("Acquire waited %d times before taking over a stale lock; want none", c.sleeps)
	}
	wantHeld(t, b, "r1", le.Info().ID)
}

// testStaleWithoutTimeout: without a lock timeout a stale lock is reported,
// with both ways out, and left alone.
func testStaleWithoutTimeout(t *testing.T, h Harness) {
	to := acquireOverExpired(t, h, 0)
	b, dead, err, broke := to.b, to.dead, to.err, to.broke
	var lerr *state.LockError
	if !errors.As(err, &lerr) || lerr.Holder == nil || lerr.Holder.ID != dead.ID {
		t.Fatalf("Acquire without a timeout over a stale lock: err = %v, want *state.LockError naming %s", err, dead.ID)
	}
	for _, want := range []string{"lease ran out", "--lock-timeout", "regionctl state unlock --stale"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(broke) != 0 {
		t.Errorf("OnBreak got %q without a lock timeout", broke)
	}
	wantHeld(t, b, "r1", dead.ID)
}

// testDeadHolder: a lock whose record names this host and a process that no
// longer exists, its lease still running. A backend that is a
// state.HolderChecker (the local one) treats it as stale at once; any other
// (remote: a pid of another machine says nothing) only once its lease runs
// out.
func testDeadHolder(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := ctxT(t)
	c := &fakeTime{now: time.Now()}
	dead, err := b.Lock(ctx, "r1", DeadHolder(t, c.now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	other := h.Open(t, b)
	var broke []string
	le, err := state.Acquire(ctx, other, "r1", holder("next", 7, time.Time{}), acquireOptions(c, time.Minute, &broke))
	releaseOnCleanup(t, le)
	if _, ok := other.(state.HolderChecker); ok {
		if err != nil {
			t.Fatalf("Acquire over a lock whose holder process is gone: %v", err)
		}
		if len(broke) != 1 || !strings.Contains(broke[0], fmt.Sprintf("pid %d on this host", dead.PID)) || c.sleeps != 0 {
			t.Errorf("OnBreak got %q after %d waits; want one call at once naming pid %d on this host", broke, c.sleeps, dead.PID)
		}
		return
	}
	var lerr *state.LockError
	if !errors.As(err, &lerr) || lerr.Holder == nil || lerr.Holder.ID != dead.ID {
		t.Fatalf("Acquire over a live lease whose pid is gone here: err = %v, want *state.LockError naming %s (remote locks go stale by lease only)", err, dead.ID)
	}
	if len(broke) != 0 || state.StaleReason(other, dead, c.Now()) != "" {
		t.Errorf("a remote backend broke (%q) or called stale a lock whose lease runs for another hour", broke)
	}
	wantHeld(t, b, "r1", dead.ID)
}
