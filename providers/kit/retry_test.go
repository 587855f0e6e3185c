package kit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
)

func TestWaitsGrowWithJitterAndHonourHints(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: 800 * time.Millisecond, Min: 50 * time.Millisecond, Jitter: 0.5}
	for _, tc := range []struct {
		name string
		r    float64
		want []time.Duration
	}{
		{"no jitter drawn", 0, []time.Duration{100, 200, 400, 800, 800}},
		{"most jitter", 0.999999, []time.Duration{50, 100, 200, 400, 400}},
	} {
		w := b.Start()
		w.rand = func() float64 { return tc.r }
		for i, want := range tc.want {
			if got := w.Next(0).Round(time.Millisecond); got != want*time.Millisecond {
				t.Errorf("%s: wait %d = %v; want %v", tc.name, i, got, want*time.Millisecond)
			}
		}
	}
	w := b.Start()
	w.rand = func() float64 { return 0.9 }
	for _, tc := range []struct{ hint, want time.Duration }{
		{300 * time.Millisecond, 300 * time.Millisecond}, // the server's wait, no jitter below it
		{time.Millisecond, 50 * time.Millisecond},        // raised to Min
		{time.Hour, 800 * time.Millisecond},              // bounded by Max
	} {
		if got := w.Next(tc.hint); got != tc.want {
			t.Errorf("hint %v: wait %v; want %v", tc.hint, got, tc.want)
		}
	}
	if got := (Backoff{Initial: time.Second, Multiplier: 1}).Start().Next(0); got != time.Second {
		t.Errorf("constant backoff: %v", got)
	}
}

var errBusy = errors.New("busy")

func TestRetryStopsWhereThePolicySays(t *testing.T) {
	fast := Backoff{Initial: time.Microsecond, Max: time.Microsecond}
	retryable := func(err error) bool { return errors.Is(err, errBusy) }
	ctx := context.Background()

	calls := 0
	err := Retry{Backoff: fast, Attempts: 3, Retryable: retryable}.Do(ctx, func() error { calls++; return errBusy })
	if !errors.Is(err, errBusy) || calls != 3 {
		t.Errorf("attempts: %d calls, %v", calls, err)
	}
	calls = 0
	err = Retry{Backoff: fast, Attempts: 5, Retryable: retryable}.Do(ctx, func() error {
		calls++
		if calls < 3 {
			return errBusy
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("success after retries: %d calls, %v", calls, err)
	}
	calls = 0
	permanent := errors.New("invalid")
	err = Retry{Backoff: fast, Attempts: 5, Retryable: retryable}.Do(ctx, func() error { calls++; return permanent })
	if err != permanent || calls != 1 {
		t.Errorf("not retryable: %d calls, %v", calls, err)
	}
	var hints []time.Duration
	calls = 0
	err = Retry{Backoff: fast, Attempts: 2, Retryable: retryable, Hint: func(error) time.Duration {
		hints = append(hints, time.Millisecond)
		return time.Millisecond
	}}.Do(ctx, func() error { calls++; return errBusy })
	if len(hints) != 1 || calls != 2 {
		t.Errorf("hint asked %d times over %d calls", len(hints), calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = Retry{Backoff: Backoff{Initial: time.Hour}, Retryable: retryable}.Do(cctx, func() error { return errBusy })
	if !errors.Is(err, errBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}

func TestPoll(t *testing.T) {
	n := 0
	err := Backoff{Initial: time.Microsecond}.Poll(context.Background(), func() (bool, error) { n++; return n == 3, nil })
	if err != nil || n != 3 {
		t.Errorf("poll: %d, %v", n, err)
	}
	boom := errors.New("boom")
	if err := (Backoff{Initial: time.Microsecond}).Poll(context.Background(), func() (bool, error) { return false, boom }); err != boom {
		t.Errorf("poll error: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		h        http.Header
		min, max time.Duration
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second, 7 * time.Second},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"7"}}, 250 * time.Millisecond, 250 * time.Millisecond},
		{http.Header{"X-Ms-Retry-After-Ms": {"40"}}, 40 * time.Millisecond, 40 * time.Millisecond},
		{http.Header{"Retry-After": {future}}, 80 * time.Second, 90 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, 0, 0},
		{http.Header{}, 0, 0},
	} {
		if got := RetryAfter(tc.h); got < tc.min || got > tc.max {
			t.Errorf("RetryAfter(%v) = %v; want %v..%v", tc.h, got, tc.min, tc.max)
		}
	}
}

// TestRetriesAreReported: every failure Do repeats the call after is
// reported to the context's retry reporter (how the engine puts retries in
// the event stream); the last failure, which Do returns, is not.
func TestRetriesAreReported(t *testing.T) {
	var reported []error
	ctx := providers.WithRetryReporter(context.Background(), func(r providers.RetryReport) { reported = append(reported, r.Err) })
	calls := 0
	err := Retry{Backoff: Backoff{Initial: time.Microsecond}, Attempts: 3, Retryable: func(error) bool { return true }}.Do(ctx, func() error {
		calls++
		return fmt.Errorf("attempt %d: %w", calls, errBusy)
	})
	if err == nil || calls != 3 {
		t.Fatalf("Do = %v after %d calls; want the third failure", err, calls)
	}
	if len(reported) != 2 || reported[0].Error() != "attempt 1: busy" || reported[1].Error() != "attempt 2: busy" {
		t.Errorf("reported %v; want the first two failures", reported)
	}
	reported = nil
	_ = Retry{Attempts: 3, Retryable: func(error) bool { return false }}.Do(ctx, func() error { return errBusy })
	if len(reported) != 0 {
		t.Errorf("a failure that is not retried was reported: %v", reported)
	}
}
