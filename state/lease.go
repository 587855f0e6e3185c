package state

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"sync"
	"time"
)

// Version is the regionctl version written into lock records. The CLI sets
// it at start-up.
var Version = "dev"

// DefaultLease is how long a lock lasts without renewal when
// LockOptions.Lease is zero. A run renews it every third of that.
const DefaultLease = 2 * time.Minute

// Bounds of the wait between attempts to take a held lock. Each wait doubles
// the last, between these, and is then jittered down by up to half.
const (
	MinLockBackoff = 250 * time.Millisecond
	MaxLockBackoff = 5 * time.Second
)

// releaseTimeout bounds the unlock in Release, which runs even when the
// run's context was cancelled.
const releaseTimeout = 30 * time.Second

// LockOptions say how Acquire waits for a lock and keeps it.
type LockOptions struct {
	// Timeout is how long to wait for a lock held by another run
	// (--lock-timeout); 0 fails at once.
	Timeout time.Duration
	// Lease is how long the lock lasts unless renewed; 0 means
	// DefaultLease. The lease is renewed every Lease/3 until Release.
	Lease time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then; nil
	// means a timer. Tests replace it (with Now) to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter turns a backoff step into the wait actually used; nil means a
	// uniformly random duration in [d/2, d].
	Jitter func(d time.Duration) time.Duration
	// OnWait, when set, is called before each wait for a held lock, so the
	// CLI can say who it is waiting for.
	OnWait func(holder LockInfo, wait time.Duration)
	// OnBreak, when set, is called after Acquire broke a stale lock to take
	// the region over, with the holder it removed and why it was stale, so
	// the CLI can say whose lock was broken.
	OnBreak func(holder LockInfo, reason string)
	// OnRenewError, when set, is told about renewals that failed for a
	// reason other than losing the lock (a network error of a remote
	// backend, say); the heartbeat tries again at its next beat.
	OnRenewError func(error)
}

func (o LockOptions) withDefaults() LockOptions {
	if o.Timeout < 0 {
		o.Timeout = 0
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Jitter == nil {
		o.Jitter = jitter
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// jitter returns a random duration in [d/2, d], so runs that found a lock
// held at the same moment do not retry in step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// StaleUnlocker is an optional interface of a Locker that can remove a lock
// only if it is stale at now (see StaleReason), checking and removing in one
// step, so a holder renewing at that moment keeps its lock. BreakStale and
// Acquire use it when the Locker has it, and Unlock otherwise.
type StaleUnlocker interface {
	UnlockStale(ctx context.Context, region, id string, now time.Time) error
}

// HolderChecker is an optional interface of a Locker that can tell, before
// its lease runs out, that a lock's holder is gone. The local backend does:
// a holder record naming this host and a process that no longer exists is
// stale at once. Remote backends do not implement it — a pid of another
// machine says nothing — so their locks go stale by lease only.
type HolderChecker interface {
	// HolderGone says why h's holder is known to be gone, or "" when it
	// may be alive.
	HolderGone(h LockInfo) string
}

// StaleReason says why the lock h held in l is stale at now — its lease
// ran out, or (when l is a HolderChecker) its holder is gone — or returns
// "" when it is not stale.
func StaleReason(l Locker, h LockInfo, now time.Time) string {
	if h.Stale(now) {
		return fmt.Sprintf("its lease ran out at %s", h.Expires.UTC().Format(time.RFC3339))
	}
	if hc, ok := l.(HolderChecker); ok {
		return hc.HolderGone(h)
	}
	return ""
}

// Lease is a lock held for one run, renewed in the background until
// Release.
type Lease struct {
	locker Locker
	region string
	opts   LockOptions

	mu   sync.Mutex
	info LockInfo
	lost error

	lostCh  chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	release sync.Once
	relErr  error
}

// Acquire takes region's lock for info's holder, waiting up to opts.Timeout
// while another run holds it: it retries with exponential backoff from
// MinLockBackoff to MaxLockBackoff, jittered, and stops early when ctx is
// done. Errors other than *LockError (a backend that cannot be reached, a
// corrupt lock record) are returned at once.
//
// A stale lock (see StaleReason: its lease ran out, or its holder is known
// to be gone) is taken over when opts.Timeout allows waiting at all: Acquire
// breaks it (atomically through StaleUnlocker when l has it), tells
// opts.OnBreak, and takes the lock. With no timeout it is reported instead.
//
// When it gives up it returns a *LockError naming the holder and saying
// what to do: wait, raise --lock-timeout, or break the lock with `regionctl
// state unlock --stale` when it is stale (`regionctl state unlock ID`
// otherwise).
//
// On success the lease deadline (info.Expires) is now+opts.Lease and a
// heartbeat renews it every Lease/3 until Release, which the caller must
// call (it keeps running when ctx is cancelled, so a run that is winding
// down keeps its lock).
func Acquire(ctx context.Context, l Locker, region string, info LockInfo, opts LockOptions) (*Lease, error) {
	opts = opts.withDefaults()
	deadline := opts.Now().Add(opts.Timeout)
	backoff := MinLockBackoff
	info.Region = region
	broken := map[string]bool{} // holder IDs already broken once
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lock region %s: %w", region, err)
		}
		now := opts.Now()
		if info.Created.IsZero() {
			info.Created = now
		}
		info.Expires = now.Add(opts.Lease)
		got, err := l.Lock(ctx, region, info)
		if err == nil {
			return startLease(ctx, l, region, got, opts), nil
		}
		var held *LockError
		if !errors.As(err, &held) || held.Holder == nil {
			return nil, err
		}
		now = opts.Now()
		h := *held.Holder
		if reason := StaleReason(l, h, now); reason != "" && opts.Timeout > 0 && !broken[h.ID] {
			broken[h.ID] = true
			err := unlockStale(ctx, l, region, h.ID, now)
			if err == nil {
				if opts.OnBreak != nil {
					opts.OnBreak(h, reason)
				}
				continue // take it at once
			}
			var lerr *LockError
			if !errors.As(err, &lerr) {
				return nil, fmt.Errorf("take over the stale lock of region %s: %w", region, err)
			}
			// Renewed or replaced since: wait as for any held lock.
		}
		remaining := deadline.Sub(now)
		if remaining <= 0 {
			return nil, giveUp(held, l, now, opts.Timeout, nil)
		}
		wait := min(opts.Jitter(backoff), remaining)
		if opts.OnWait != nil {
			opts.OnWait(*held.Holder, wait)
		}
		if err := opts.Sleep(ctx, wait); err != nil {
			return nil, giveUp(held, l, opts.Now(), opts.Timeout, err)
		}
		backoff = min(backoff*2, MaxLockBackoff)
	}
}

// giveUp builds the error Acquire returns when it stops waiting for a held
// lock, cause being why it stopped early (nil at the timeout).
func giveUp(held *LockError, l Locker, now time.Time, timeout time.Duration, cause error) *LockError {
	var msg string
	switch {
	case cause != nil:
		msg = "stopped waiting for it"
	case timeout == 0:
		msg = "not waiting for it (set --lock-timeout to wait)"
	default:
		msg = fmt.Sprintf("waited %s (--lock-timeout)", timeout)
	}
	msg += "; " + UnlockHint(*held.Holder, StaleReason(l, *held.Holder, now))
	err := errors.New(msg)
	if cause != nil {
		err = fmt.Errorf("%s: %w", msg, cause)
	}
	if held.Err != nil {
		err = fmt.Errorf("%w; %w", held.Err, err)
	}
	return &LockError{Region: held.Region, Holder: held.Holder, Err: err}
}

// UnlockHint tells a user what to do about a lock held by h, given why it
// is stale ("" when it is not; see StaleReason).
func UnlockHint(h LockInfo, staleReason string) string {
	if staleReason != "" {
		return fmt.Sprintf("%s, so the run holding it has died: run again with --lock-timeout (say --lock-timeout 1m) to take the lock over, or, if no run is using the region, break it with `regionctl state unlock --stale`",
			staleReason)
	}
	return fmt.Sprintf("its lease runs until %s and is renewed while that run is alive: wait for it, or, if you know the run is dead, remove the lock with `regionctl state unlock %s`",
		h.Expires.UTC().Format(time.RFC3339), h.ID)
}

func startLease(ctx context.Context, l Locker, region string, info LockInfo, opts LockOptions) *Lease {
	hbCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	le := &Lease{
		locker: l, region: region, opts: opts, info: info,
		lostCh: make(chan struct{}), cancel: cancel, done: make(chan struct{}),
	}
	go le.heartbeat(hbCtx)
	return le
}

func (le *Lease) heartbeat(ctx context.Context) {
	defer close(le.done)
	interval := le.opts.Lease / 3
	id := le.Info().ID
	for {
		if err := le.opts.Sleep(ctx, interval); err != nil {
			return
		}
		expires := le.opts.Now().Add(le.opts.Lease)
		err := le.locker.Renew(ctx, le.region, id, expires)
		switch {
		case err == nil:
			le.mu.Lock()
			le.info.Expires = expires
			le.mu.Unlock()
			continue
		case ctx.Err() != nil:
			return // Release is under way
		}
		var lerr *LockError
		if errors.As(err, &lerr) {
			le.mu.Lock()
			le.lost = fmt.Errorf("lost the lock on region %s: %w", le.region, err)
			le.mu.Unlock()
			close(le.lostCh)
			return
		}
		if le.opts.OnRenewError != nil {
			le.opts.OnRenewError(fmt.Errorf("renew lock on region %s: %w", le.region, err))
		}
	}
}

// Info returns the lock record as last written (Expires moves with each
// renewal).
func (le *Lease) Info() LockInfo {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.info
}

// Lost is closed when a renewal found the lock gone or held under another ID
// (someone broke it); Err then says why. The caller should stop changing the
// region: its state writes are still protected by compare-and-swap.
func (le *Lease) Lost() <-chan struct{} { return le.lostCh }

// Err returns why the lease was lost, or nil.
func (le *Lease) Err() error {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.lost
}

// Release stops the heartbeat and unlocks. It unlocks even when ctx is
// already cancelled (within a bounded time), so an interrupted run does not
// leave its lock behind. Calling it again returns the first result.
func (le *Lease) Release(ctx context.Context) error {
	le.release.Do(func() {
		le.cancel()
		<-le.done
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := le.locker.Unlock(uctx, le.region, le.Info().ID); err != nil {
			le.relErr = fmt.Errorf("release lock on region %s: %w", le.region, err)
		}
	})
	return le.relErr
}

// BreakStale removes region's lock if it is stale at now (its lease ran
// out, or its holder is known to be gone; see StaleReason), for `regionctl
// state unlock --stale`, and returns the record it removed. A lock that is
// not stale is left alone and reported as a *LockError naming its holder;
// so is a region that is not locked.
func BreakStale(ctx context.Context, l Locker, region string, now time.Time) (LockInfo, error) {
	locks, err := l.Locks(ctx)
	if err != nil {
		return LockInfo{}, fmt.Errorf("break stale lock on region %s: %w", region, err)
	}
	for _, h := range locks {
		if h.Region != region {
			continue
		}
		if StaleReason(l, h, now) == "" {
			return LockInfo{}, &LockError{Region: region, Holder: &h, Err: fmt.Errorf("the lock is not stale: %s", UnlockHint(h, ""))}
		}
		if err := unlockStale(ctx, l, region, h.ID, now); err != nil {
			return LockInfo{}, fmt.Errorf("break stale lock on region %s: %w", region, err)
		}
		return h, nil
	}
	return LockInfo{}, &LockError{Region: region, Err: errors.New("it is not locked")}
}

// unlockStale removes region's lock held under id, through StaleUnlocker
// (which checks it is still stale) when l has it.
func unlockStale(ctx context.Context, l Locker, region, id string, now time.Time) error {
	if su, ok := l.(StaleUnlocker); ok {
		return su.UnlockStale(ctx, region, id, now)
	}
	return l.Unlock(ctx, region, id)
}

// NewLockInfo describes this process as a lock holder for operation (plan,
// apply, destroy, state rm) on region: user@host, PID, the time, Version,
// and the CI job when run from GitHub Actions ($GITHUB_SERVER_URL,
// $GITHUB_REPOSITORY, $GITHUB_RUN_ID), GitLab ($CI_JOB_URL) or Jenkins and
// others ($BUILD_URL). ID and Expires are left for Lock and Acquire.
func NewLockInfo(region, operation string) LockInfo {
	return newLockInfo(region, operation, os.Getenv, time.Now(), whoami(os.Getenv), os.Getpid())
}

func newLockInfo(region, operation string, getenv func(string) string, now time.Time, who string, pid int) LockInfo {
	return LockInfo{
		Region:       region,
		Operation:    operation,
		Who:          who,
		PID:          pid,
		Version:      Version,
		Created:      now.UTC(),
		CIJobURL:     ciJobURL(getenv),
		PIDNamespace: PIDNamespace(),
	}
}

// PIDNamespace names this process's process ID namespace (on Linux, the
// target of /proc/self/ns/pid, like "pid:[4026531836]"), or "" where there
// is none to read.
func PIDNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}

func whoami(getenv func(string) string) string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	for _, k := range []string{"USER", "USERNAME"} {
		if name == "" {
			name = getenv(k)
		}
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

func ciJobURL(getenv func(string) string) string {
	if server, repo, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); server != "" && repo != "" && run != "" {
		return server + "/" + repo + "/actions/runs/" + run
	}
	if u := getenv("CI_JOB_URL"); u != "" {
		return u
	}
	return getenv("BUILD_URL")
}
