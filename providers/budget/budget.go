// Package budget paces a driver's cloud API calls with token buckets
// modelled on the way each cloud meters them: one bucket per (cloud,
// account/project/subscription, region, kind of call), with the burst and
// refill rate the cloud publishes (Published; see docs/performance.md for
// the sources). A driver waits for a token before every API request
// (Budgets.Wait) and reports the cloud's throttling replies
// (Budgets.Throttled), which slow that bucket down until the cloud stops
// refusing (adaptive, additive recovery). The sandbox enforces the same
// buckets (Budgets.Take) when asked to throttle like the clouds.
package budget

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is one token bucket: it holds at most Burst tokens and gains Rate
// tokens per second; every request takes one.
type Limit struct {
	Burst int
	Rate  float64
}

func (l Limit) String() string {
	return strconv.FormatFloat(l.Rate, 'f', -1, 64) + "/s," + strconv.Itoa(l.Burst)
}

// Key names one bucket: the cloud, whose budget it is (account, project or
// subscription; "" for the driver's one identity), where it applies (the
// cloud region; "" for a global service such as IAM, or a budget the cloud
// keeps per project or subscription), and the bucket's name in the cloud's
// Table ("ec2/read", "arm/write").
type Key struct {
	Cloud, Scope, Region, Bucket string
}

func (k Key) String() string {
	return k.Cloud + "/" + k.Scope + "/" + k.Region + "/" + k.Bucket
}

// Table maps a cloud's bucket names to their limits.
type Table map[string]Limit

// Budgets holds the buckets of one driver (or one sandbox), made on first
// use from the cloud's Tables. It is safe for concurrent use.
type Budgets struct {
	tables map[string]Table
	margin Margin
	now    func() time.Time

	mu      sync.Mutex
	buckets map[Key]*bucket
}

// Margin is the share of the published rate and burst a Budgets uses
// (each in (0, 1]).
type Margin struct{ Rate, Burst float64 }

var (
	// ClientMargin is what a driver uses: nine tenths of the rate and half
	// the burst, so that requests delayed between taking their token and
	// reaching the cloud (scheduling, transit) and arriving together, or
	// another caller of the same account, find the cloud's bucket with
	// room to spare.
	ClientMargin = Margin{Rate: 0.9, Burst: 0.5}
	// Enforced is what a cloud (the sandbox) uses: the limits as published.
	Enforced = Margin{Rate: 1, Burst: 1}
)

// New returns budgets over tables (by cloud name), scaled by margin.
func New(tables map[string]Table, margin Margin) *Budgets {
	for _, f := range []*float64{&margin.Rate, &margin.Burst} {
		if *f <= 0 || *f > 1 {
			*f = 1
		}
	}
	return &Budgets{tables: tables, margin: margin, now: time.Now, buckets: map[Key]*bucket{}}
}

// bucket is one token bucket with its adaptive state.
type bucket struct {
	lim  *rate.Limiter
	base rate.Limit

	mu sync.Mutex
	// pauseUntil: the cloud asked us to wait (Retry-After) until then.
	pauseUntil time.Time
	// lastChange is when the rate was last cut or raised.
	lastChange time.Time
	throttles  int
	waits      int
	waited     time.Duration
	// taken counts the tokens taken (requests let through).
	taken int
}

// Limit returns the limit of k's bucket, and whether the cloud's table has
// one (calls to buckets without a limit are not paced).
func (b *Budgets) Limit(k Key) (Limit, bool) {
	l, ok := b.tables[k.Cloud][k.Bucket]
	if !ok || l.Rate <= 0 {
		return Limit{}, false
	}
	return Limit{Burst: max(1, int(float64(l.Burst)*b.margin.Burst)), Rate: l.Rate * b.margin.Rate}, true
}

func (b *Budgets) bucket(k Key) *bucket {
	l, ok := b.Limit(k)
	if !ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[k]
	if bk == nil {
		bk = &bucket{lim: rate.NewLimiter(rate.Limit(l.Rate), l.Burst), base: rate.Limit(l.Rate)}
		b.buckets[k] = bk
	}
	return bk
}

// Wait takes a token from k's bucket, waiting until there is one (and
// until the end of a pause the cloud asked for), or until ctx ends.
func (b *Budgets) Wait(ctx context.Context, k Key) error {
	bk := b.bucket(k)
	if bk == nil {
		return nil
	}
	now := b.now()
	bk.mu.Lock()
	bk.recover(now)
	start := now
	if bk.pauseUntil.After(now) {
		start = bk.pauseUntil // the cloud asked for a pause until then
	}
	bk.mu.Unlock()
	r := bk.lim.ReserveN(start, 1)
	if !r.OK() {
		return fmt.Errorf("budget %s: a request can never fit", k)
	}
	if d := r.DelayFrom(start) + start.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			r.CancelAt(start)
			return ctx.Err()
		case <-t.C:
		}
	}
	bk.mu.Lock()
	bk.taken++
	if waited := b.now().Sub(now); waited > time.Millisecond {
		bk.waits++
		bk.waited += waited
	}
	bk.mu.Unlock()
	return nil
}

// Take takes a token from k's bucket if it has one, without waiting. When
// it has none it reports how long until it will: what an enforcing cloud
// sends as Retry-After.
func (b *Budgets) Take(k Key) (ok bool, retryAfter time.Duration) {
	bk := b.bucket(k)
	if bk == nil {
		return true, 0
	}
	now := b.now()
	if bk.lim.AllowN(now, 1) {
		bk.mu.Lock()
		bk.taken++
		bk.mu.Unlock()
		return true, 0
	}
	r := bk.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	bk.mu.Lock()
	bk.throttles++
	bk.mu.Unlock()
	return false, max(d, time.Millisecond)
}

// Throttled tells the budget that the cloud refused a request of k's
// bucket as over its limit: the bucket's rate is halved (down to a tenth
// of the published one), what it holds is spent, and, when the cloud said
// how long to wait (hint), nothing is sent before then. The rate then grows
// back by a tenth of the published rate per second without throttling.
func (b *Budgets) Throttled(k Key, hint time.Duration) {
	bk := b.bucket(k)
	if bk == nil {
		return
	}
	now := b.now()
	bk.mu.Lock()
	defer bk.mu.Unlock()
	bk.throttles++
	bk.lastChange = now
	bk.lim.SetLimitAt(now, max(bk.lim.Limit()/2, bk.base/10))
	if n := int(bk.lim.TokensAt(now)); n > 0 {
		bk.lim.ReserveN(now, n) // spend what it holds
	}
	if until := now.Add(hint); hint > 0 && until.After(bk.pauseUntil) {
		bk.pauseUntil = until
	}
}

// recover raises a cut rate back towards the published one: a tenth of it
// per second since the last change. Callers hold bk.mu.
func (bk *bucket) recover(now time.Time) {
	cur := bk.lim.Limit()
	if cur >= bk.base {
		return
	}
	secs := now.Sub(bk.lastChange).Seconds()
	if secs < 1 {
		return
	}
	bk.lastChange = now
	bk.lim.SetLimitAt(now, min(bk.base, cur+bk.base/10*rate.Limit(secs)))
}

// Stat is what one bucket saw.
type Stat struct {
	Key Key
	Limit
	// Taken counts the requests let through; Throttles the throttling
	// replies (a client) or refusals (an enforcer); Waits the requests
	// that waited for a token, Waited their total wait.
	Taken, Throttles, Waits int
	Waited                  time.Duration
}

// Bound is the least time in which a bucket can let n requests through:
// the burst at once, the rest at the refill rate.
func (l Limit) Bound(n int) time.Duration {
	if n <= l.Burst || l.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(n-l.Burst) / l.Rate * float64(time.Second))
}

// Stats returns every bucket used so far, sorted by key.
func (b *Budgets) Stats() []Stat {
	b.mu.Lock()
	keys := slices.SortedFunc(maps.Keys(b.buckets), func(x, y Key) int { return strings.Compare(x.String(), y.String()) })
	bks := make([]*bucket, len(keys))
	for i, k := range keys {
		bks[i] = b.buckets[k]
	}
	b.mu.Unlock()
	out := make([]Stat, len(keys))
	for i, k := range keys {
		l, _ := b.Limit(k)
		bk := bks[i]
		bk.mu.Lock()
		out[i] = Stat{Key: k, Limit: l, Taken: bk.taken, Throttles: bk.throttles, Waits: bk.waits, Waited: bk.waited}
		bk.mu.Unlock()
	}
	return out
}
