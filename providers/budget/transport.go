package budget

import (
	"net/http"
	"strconv"
	"time"
)

// Transport paces the requests of an HTTP client, for a cloud whose SDK
// takes an *http.Client: each request waits for a token of the bucket Key
// names before it is sent — a retry too, as it goes through the transport
// again — and a 429 reply slows that bucket down (Budgets.Throttled), for
// at least as long as its Retry-After asks.
type Transport struct {
	Budgets *Budgets
	// Key names the bucket a request draws from.
	Key func(*http.Request) Key
	// Base sends the request; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := t.Key(req)
	if err := t.Budgets.Wait(req.Context(), key); err != nil {
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.Budgets.Throttled(key, retryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	return resp, err
}

// retryAfter is how long a Retry-After header asks to wait: seconds, or
// an HTTP date; 0 when it says nothing usable.
func retryAfter(v string, now time.Time) time.Duration {
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
