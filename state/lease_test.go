package state_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/local"
	"github.com/regionctl/regionctl/state/statetest"
)

// stepClock is a fake clock whose Sleep returns at once after moving the
// time on, except for sleeps of the heartbeat interval, which block until
// the test ticks.
type stepClock struct {
	mu        sync.Mutex
	now       time.Time
	waits     []time.Duration
	afterWait func(n int) // called after the n-th backoff wait
	beat      time.Duration
	beats     chan struct{} // a heartbeat reached its Sleep
	tick      chan struct{} // lets one heartbeat Sleep return
}

func newStepClock(beat time.Duration) *stepClock {
	return &stepClock{
		now:  time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		beat: beat, beats: make(chan struct{}), tick: make(chan struct{}),
	}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return len(c.waits)
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if d == c.beat {
		select {
		case c.beats <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-c.tick:
			c.advance(d)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	n := c.advance(d)
	if c.afterWait != nil {
		c.afterWait(n)
	}
	return ctx.Err()
}

func (c *stepClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

const testLease = 90 * time.Second

func (c *stepClock) options(timeout time.Duration) state.LockOptions {
	return state.LockOptions{
		Timeout: timeout, Lease: testLease, Now: c.Now, Sleep: c.Sleep,
		Jitter: func(d time.Duration) time.Duration { return d },
	}
}

func info(who string, pid int) state.LockInfo {
	return state.LockInfo{Operation: "apply", Who: who + "@host", PID: pid, Version: "test"}
}

// lockedBy takes region's lock in b for another holder whose lease ends at expires.
func lockedBy(t *testing.T, b state.Locker, region string, expires time.Time) state.LockInfo {
	t.Helper()
	i := info("other", 4242)
	i.Expires = expires
	got, err := b.Lock(context.Background(), region, i)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func acquire(t *testing.T, l state.Locker, opts state.LockOptions) (*state.Lease, error) {
	t.Helper()
	le, err := state.Acquire(context.Background(), l, "r1", info("me", 1), opts)
	if le != nil {
		t.Cleanup(func() { le.Release(context.Background()) })
	}
	return le, err
}

func ms(n ...int) []time.Duration {
	var out []time.Duration
	for _, v := range n {
		out = append(out, time.Duration(v)*time.Millisecond)
	}
	return out
}

func TestAcquireFree(t *testing.T) {
	b := local.New(t.TempDir())
	c := newStepClock(testLease / 3)
	le, err := acquire(t, b, c.options(0))
	if err != nil {
		t.Fatalf("Acquire of a free lock: %v", err)
	}
	got := le.Info()
	if got.ID == "" || got.Region != "r1" || got.Who != "me@host" || !got.Expires.Equal(c.Now().Add(testLease)) || !got.Created.Equal(c.Now()) {
		t.Fatalf("Lease.Info() = %+v", got)
	}
	if len(c.Waits()) != 0 {
		t.Fatalf("waited %v for a free lock", c.Waits())
	}
	if err := le.Release(context.Background()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if locks, _ := b.Locks(context.Background()); len(locks) != 0 {
		t.Fatalf("locks after Release: %v", locks)
	}
	if err := le.Release(context.Background()); err != nil {
		t.Fatalf("second Release: %v", err)
	}
}

func TestAcquireWaitsForRelease(t *testing.T) {
	b := local.New(t.TempDir())
	c := newStepClock(testLease / 3)
	other := lockedBy(t, b, "r1", c.Now().Add(time.Hour))
	c.afterWait = func(n int) {
		if n == 7 { // the other run finishes during the 7th wait
			if err := b.Unlock(context.Background(), "r1", other.ID); err != nil {
				t.Error(err)
			}
		}
	}
	var seen []string
	opts := c.options(time.Minute)
	opts.OnWait = func(h state.LockInfo, d time.Duration) { seen = append(seen, fmt.Sprint(h.Who, " ", d)) }
	le, err := acquire(t, b, opts)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	want := ms(250, 500, 1000, 2000, 4000, 5000, 5000)
	if diff := cmp.Diff(want, c.Waits()); diff != "" {
		t.Fatalf("backoff waits (-want +got):\n%s", diff)
	}
	if len(seen) != 7 || seen[0] != "other@host 250ms" {
		t.Fatalf("OnWait calls = %q", seen)
	}
	locks, _ := b.Locks(context.Background())
	if len(locks) != 1 || locks[0].ID != le.Info().ID || locks[0].Who != "me@host" {
		t.Fatalf("locks after Acquire = %+v, want ours", locks)
	}
}

func TestAcquireGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		timeout   time.Duration
		expiresIn time.Duration // of the other holder's lease, from the start
		wantWaits []time.Duration
		wantMsg   []string
	}{
		{
			name: "no timeout fails at once", timeout: 0, expiresIn: time.Hour,
			wantMsg: []string{"other@host", "pid 4242", "for apply", "set --lock-timeout", "regionctl state unlock ID-OTHER"},
		},
		{
			name: "timeout cuts the last wait", timeout: 10 * time.Second, expiresIn: time.Hour,
			wantWaits: ms(250, 500, 1000, 2000, 4000, 2250),
			wantMsg:   []string{"waited 10s (--lock-timeout)", "lease runs until", "regionctl state unlock ID-OTHER"},
		},
		{
			name: "stale holder", timeout: 0, expiresIn: -time.Minute,
			wantMsg: []string{"lease ran out", "--lock-timeout", "regionctl state unlock --stale"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := local.New(t.TempDir())
			c := newStepClock(testLease / 3)
			i := info("other", 4242)
			i.ID = "ID-OTHER"
			i.Expires = c.Now().Add(tt.expiresIn)
			if _, err := b.Lock(context.Background(), "r1", i); err != nil {
				t.Fatal(err)
			}
			_, err := acquire(t, b, c.options(tt.timeout))
			var lerr *state.LockError
			if !errors.As(err, &lerr) || lerr.Holder == nil || lerr.Holder.ID != "ID-OTHER" {
				t.Fatalf("Acquire: err = %v, want *LockError naming ID-OTHER", err)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if diff := cmp.Diff(tt.wantWaits, c.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAcquireTakesOverStaleLock: when --lock-timeout allows waiting, a lock
// whose lease ran out — before or while waiting — or whose holder is a
// process of this host that no longer exists is broken and taken, and
// OnBreak says whose it was and why. Before, Acquire waited until its
// timeout and asked for `state unlock --stale`.
func TestAcquireTakesOverStaleLock(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		name      string
		holder    func(t *testing.T, now time.Time) state.LockInfo
		locker    func(b *local.Backend) state.Locker
		wantWaits []time.Duration
		wantWhy   string
	}{
		{
			name: "lease ran out",
			holder: func(t *testing.T, now time.Time) state.LockInfo {
				return expiring(info("other", 4242), now.Add(-time.Minute))
			},
			wantWhy: "its lease ran out at 2030-01-02T03:03:05Z",
		},
		{
			name: "lease runs out while waiting",
			holder: func(t *testing.T, now time.Time) state.LockInfo {
				return expiring(info("other", 4242), now.Add(2*time.Second))
			},
			wantWaits: ms(250, 500, 1000, 2000),
			wantWhy:   "its lease ran out at 2030-01-02T03:04:07Z",
		},
		{
			name:    "holder process gone",
			holder:  func(t *testing.T, now time.Time) state.LockInfo { return statetest.DeadHolder(t, now.Add(time.Hour)) },
			wantWhy: "is no longer running",
		},
		{
			name: "holder gone, through a backend without HolderChecker",
			holder: func(t *testing.T, now time.Time) state.LockInfo {
				return statetest.DeadHolder(t, now.Add(2*time.Second))
			},
			locker:    func(b *local.Backend) state.Locker { return plainLocker{b} },
			wantWaits: ms(250, 500, 1000, 2000),
			wantWhy:   "its lease ran out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := local.New(t.TempDir())
			c := newStepClock(testLease / 3)
			held, err := b.Lock(context.Background(), "r1", tt.holder(t, c.Now()))
			if err != nil {
				t.Fatal(err)
			}
			var l state.Locker = b
			if tt.locker != nil {
				l = tt.locker(b)
			}
			opts := c.options(10 * time.Second)
			var broke []string
			opts.OnBreak = func(h state.LockInfo, why string) { broke = append(broke, h.ID+" "+why) }
			le, err := acquire(t, l, opts)
			if err != nil {
				t.Fatalf("Acquire over a stale lock: %v", err)
			}
			if len(broke) != 1 || !strings.HasPrefix(broke[0], held.ID+" ") || !strings.Contains(broke[0], tt.wantWhy) {
				t.Errorf("OnBreak got %q; want one call for %s saying %q", broke, held.ID, tt.wantWhy)
			}
			if strings.Contains(tt.wantWhy, "no longer running") && !strings.Contains(broke[0], fmt.Sprintf("pid %d on this host (%s)", held.PID, host)) {
				t.Errorf("OnBreak %q does not name the dead pid and host", broke[0])
			}
			if diff := cmp.Diff(tt.wantWaits, c.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := le.Info(); got.Who != "me@host" {
				t.Errorf("the lock is held by %+v, want me", got)
			}
		})
	}
}

// TestHolderAliveIsNotStale: a holder on this host whose process is alive,
// one on another host, and one in another PID namespace are left to their
// lease.
func TestHolderAliveIsNotStale(t *testing.T) {
	b := local.New(t.TempDir())
	now := time.Now()
	alive := state.NewLockInfo("r1", "apply") // this very process
	alive.Expires = now.Add(time.Hour)
	elsewhere := statetest.DeadHolder(t, now.Add(time.Hour))
	elsewhere.Who = "ci@another-host"
	container := statetest.DeadHolder(t, now.Add(time.Hour)) // this host's name, its own pids
	container.PIDNamespace = "pid:[1]"
	for _, h := range []state.LockInfo{alive, elsewhere, container} {
		if why := state.StaleReason(b, h, now); why != "" {
			t.Errorf("StaleReason(%s pid %d) = %q, want not stale", h.Who, h.PID, why)
		}
	}
}

func expiring(i state.LockInfo, at time.Time) state.LockInfo {
	i.Expires = at
	return i
}

func TestAcquireStopsWhenCancelled(t *testing.T) {
	b := local.New(t.TempDir())
	c := newStepClock(testLease / 3)
	lockedBy(t, b, "r1", c.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	c.afterWait = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	_, err := state.Acquire(ctx, b, "r1", info("me", 1), c.options(time.Hour))
	var lerr *state.LockError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &lerr) || lerr.Holder == nil {
		t.Fatalf("Acquire cancelled while waiting: err = %v, want context.Canceled in a *LockError with the holder", err)
	}
	if got := len(c.Waits()); got != 2 {
		t.Fatalf("%d waits, want 2", got)
	}
}

// failingLocker fails every call with a backend error.
type failingLocker struct{ state.Locker }

var errBackend = errors.New("backend unreachable")

func (failingLocker) Lock(context.Context, string, state.LockInfo) (state.LockInfo, error) {
	return state.LockInfo{}, errBackend
}

func TestAcquireReturnsBackendErrorsAtOnce(t *testing.T) {
	c := newStepClock(testLease / 3)
	_, err := acquire(t, failingLocker{}, c.options(time.Hour))
	if !errors.Is(err, errBackend) {
		t.Fatalf("err = %v, want the backend's error", err)
	}
	if len(c.Waits()) != 0 {
		t.Fatalf("retried a backend error: waits %v", c.Waits())
	}
}

func TestHeartbeatRenewsUntilRelease(t *testing.T) {
	ctx := context.Background()
	b := local.New(t.TempDir())
	c := newStepClock(testLease / 3)
	le, err := acquire(t, b, c.options(0))
	if err != nil {
		t.Fatal(err)
	}
	<-c.beats // the heartbeat waits Lease/3
	for beat := 1; beat <= 3; beat++ {
		c.tick <- struct{}{} // the wait ends: the clock moves on and it renews
		<-c.beats            // renewed, it waits again
		wantExp := c.Now().Add(testLease)
		if got := le.Info().Expires; !got.Equal(wantExp) {
			t.Fatalf("beat %d: Lease.Info().Expires = %v, want %v", beat, got, wantExp)
		}
		locks, _ := b.Locks(ctx)
		if len(locks) != 1 || !locks[0].Expires.Equal(wantExp) {
			t.Fatalf("beat %d: stored lock %+v, want Expires %v", beat, locks, wantExp)
		}
	}
	if err := le.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if locks, _ := b.Locks(ctx); len(locks) != 0 {
		t.Fatalf("locks after Release: %v", locks)
	}
	select {
	case <-le.Lost():
		t.Fatal("lease reported lost after a clean run")
	default:
	}
}

func TestLeaseLostWhenBroken(t *testing.T) {
	ctx := context.Background()
	b := local.New(t.TempDir())
	c := newStepClock(testLease / 3)
	le, err := acquire(t, b, c.options(0))
	if err != nil {
		t.Fatal(err)
	}
	// Someone breaks our lock and another run takes it.
	if err := b.Unlock(ctx, "r1", le.Info().ID); err != nil {
		t.Fatal(err)
	}
	thief := lockedBy(t, b, "r1", c.Now().Add(time.Hour))
	<-c.beats
	c.tick <- struct{}{}
	<-le.Lost()
	if err := le.Err(); err == nil || !strings.Contains(err.Error(), "lost the lock") {
		t.Fatalf("Err() = %v, want a lost-lock error", err)
	}
	err = le.Release(ctx)
	var lerr *state.LockError
	if !errors.As(err, &lerr) {
		t.Fatalf("Release of a lost lease: err = %v, want *LockError", err)
	}
	locks, _ := b.Locks(ctx)
	if len(locks) != 1 || locks[0].ID != thief.ID {
		t.Fatalf("Release removed the new holder's lock: %+v", locks)
	}
}

func TestReleaseAfterCancel(t *testing.T) {
	b := local.New(t.TempDir())
	c := newStepClock(testLease / 3)
	ctx, cancel := context.WithCancel(context.Background())
	le, err := state.Acquire(ctx, b, "r1", info("me", 1), c.options(0))
	if err != nil {
		t.Fatal(err)
	}
	cancel() // Ctrl-C: the run's context is gone
	if err := le.Release(ctx); err != nil {
		t.Fatalf("Release with a cancelled context: %v", err)
	}
	if locks, _ := b.Locks(context.Background()); len(locks) != 0 {
		t.Fatalf("lock left behind: %v", locks)
	}
}

// plainLocker hides the backend's StaleUnlocker, as a minimal backend would.
type plainLocker struct{ state.Locker }

// TestBreakStaleDeadHolder: `state unlock --stale` breaks a lock whose
// holder process on this host is gone, its lease still running.
func TestBreakStaleDeadHolder(t *testing.T) {
	b := local.New(t.TempDir())
	now := time.Now()
	dead, err := b.Lock(context.Background(), "r1", statetest.DeadHolder(t, now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := state.BreakStale(context.Background(), b, "r1", now); err != nil || got.ID != dead.ID {
		t.Fatalf("BreakStale = %+v, %v; want %s", got, err, dead.ID)
	}
}

func TestBreakStaleWithPlainLocker(t *testing.T) {
	ctx := context.Background()
	b := local.New(t.TempDir())
	now := time.Now()
	dead := lockedBy(t, b, "r1", now.Add(-time.Minute))
	lockedBy(t, b, "r2", now.Add(time.Hour))
	got, err := state.BreakStale(ctx, plainLocker{b}, "r1", now)
	if err != nil || got.ID != dead.ID {
		t.Fatalf("BreakStale = %+v, %v; want %s", got, err, dead.ID)
	}
	if _, err := state.BreakStale(ctx, plainLocker{b}, "r2", now); err == nil || !strings.Contains(err.Error(), "not stale") {
		t.Fatalf("BreakStale of a live lock: err = %v", err)
	}
}

func TestNewLockInfo(t *testing.T) {
	state.Version = "v9.9.9"
	t.Cleanup(func() { state.Version = "dev" })
	t.Setenv("GITHUB_SERVER_URL", "")
	t.Setenv("CI_JOB_URL", "")
	t.Setenv("BUILD_URL", "https://jenkins.example/job/7/")
	i := state.NewLockInfo("r1", "destroy")
	host, _ := os.Hostname()
	if i.Region != "r1" || i.Operation != "destroy" || i.PID != os.Getpid() || i.Version != "v9.9.9" ||
		!strings.HasSuffix(i.Who, "@"+host) || strings.HasPrefix(i.Who, "@") || i.Created.IsZero() ||
		i.CIJobURL != "https://jenkins.example/job/7/" || i.ID != "" || !i.Expires.IsZero() {
		t.Fatalf("NewLockInfo = %+v", i)
	}
	if _, err := os.Stat("/proc/self/ns/pid"); err == nil && !strings.HasPrefix(i.PIDNamespace, "pid:[") {
		t.Errorf("NewLockInfo.PIDNamespace = %q, want this process's pid namespace", i.PIDNamespace)
	}
}
