package kit

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/regionctl/regionctl/providers"
)

// Backoff is how long a retry or poll loop waits between attempts: Initial
// first, then Multiplier times longer each time, at most Max. Jitter (0 to
// 1) draws each wait from [wait×(1−Jitter), wait], so many clients retrying
// the same limit do not retry in step. A server's hint (Retry-After) wins
// over the computed wait, bounded to [Min, Max].
type Backoff struct {
	Initial, Max time.Duration
	// Min is the shortest wait a server's hint may ask for.
	Min time.Duration
	// Multiplier defaults to 2; 1 keeps the wait constant.
	Multiplier float64
	Jitter     float64
}

// Waits is the sequence of waits of one loop; make it with Backoff.Start.
type Waits struct {
	b    Backoff
	next time.Duration
	// rand returns a number in [0, 1); tests replace it.
	rand func() float64
}

// Start begins a sequence of waits.
func (b Backoff) Start() *Waits {
	return &Waits{b: b, next: b.Initial, rand: rand.Float64}
}

// Next returns the next wait: the server's hint when there is one
// (bounded to [Min, Max]), else the backoff with jitter.
func (w *Waits) Next(hint time.Duration) time.Duration {
	d := w.next
	mult := w.b.Multiplier
	if mult < 1 {
		mult = 2
	}
	grown := time.Duration(float64(w.next) * mult)
	if w.b.Max > 0 {
		grown = min(grown, w.b.Max)
	}
	w.next = grown
	if hint > 0 {
		hint = max(hint, w.b.Min)
		if w.b.Max > 0 {
			hint = min(hint, w.b.Max)
		}
		return hint
	}
	if j := min(max(w.b.Jitter, 0), 1); j > 0 {
		d -= time.Duration(float64(d) * j * w.rand())
	}
	return d
}

// Wait sleeps for the next wait, or until ctx ends.
func (w *Waits) Wait(ctx context.Context, hint time.Duration) error {
	return Sleep(ctx, w.Next(hint))
}

// Sleep waits for d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Poll calls fn until it reports done or fails, waiting between calls.
func (b Backoff) Poll(ctx context.Context, fn func() (done bool, err error)) error {
	w := b.Start()
	for {
		done, err := fn()
		if err != nil || done {
			return err
		}
		if err := w.Wait(ctx, 0); err != nil {
			return err
		}
	}
}

// Retry is a policy for repeating a call that failed in a way that may
// pass: throttling, a busy resource, a lost connection.
type Retry struct {
	Backoff
	// Attempts bounds the calls (0: no bound but For).
	Attempts int
	// For bounds the time spent retrying (0: no bound but Attempts).
	For time.Duration
	// Retryable reports whether a failed call may be repeated.
	Retryable func(error) bool
	// Hint returns the wait the server asked for in err (Retry-After), or 0.
	Hint func(error) time.Duration
}

// Do calls fn until it succeeds, fails with an error Retryable refuses, or
// the policy's attempts or time run out; it returns fn's last error. If
// ctx ends while waiting, the error joins fn's last error and ctx's. Each
// failure it repeats fn after is reported to ctx's retry reporter
// (providers.ReportRetry), so retries show in regionctl's event stream.
func (r Retry) Do(ctx context.Context, fn func() error) error {
	w := r.Start()
	var deadline time.Time
	if r.For > 0 {
		deadline = time.Now().Add(r.For)
	}
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || r.Retryable == nil || !r.Retryable(err) ||
			r.Attempts > 0 && attempt >= r.Attempts || !deadline.IsZero() && time.Now().After(deadline) {
			return err
		}
		providers.ReportRetry(ctx, providers.RetryReport{Err: err})
		var hint time.Duration
		if r.Hint != nil {
			hint = r.Hint(err)
		}
		if werr := w.Wait(ctx, hint); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// RetryAfter reads a server's wait hint from HTTP response headers:
// retry-after-ms and x-ms-retry-after-ms (Azure), then Retry-After in
// seconds or as an HTTP date. It returns 0 without one.
func RetryAfter(h http.Header) time.Duration {
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := h.Get(k); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Millisecond
			}
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
