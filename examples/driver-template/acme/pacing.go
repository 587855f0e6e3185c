package acme

import (
	"net/http"
	"strconv"
	"time"

	"github.com/regionctl/regionctl/providers/budget"
)

// budgets are the request limits Acme publishes, per account: reads and
// writes apart. Declared in Capabilities.RateBudgets, they are what a user
// may override (`--rate-budget acme:api/write=2/s,20`, regionctl.yaml's
// rateBudgets), and the overrides reach New in Options.RateBudgets.
var budgets = budget.Table{
	"api/read":  {Burst: 100, Rate: 20},
	"api/write": {Burst: 40, Rate: 5},
}

// pacedTransport takes a token from the request's budget before every
// request — retries included, as they go through it too — and slows the
// budget down when Acme answers 429.
type pacedTransport struct {
	budgets *budget.Budgets
	base    http.RoundTripper
}

func (t pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := budget.Key{Cloud: Name, Bucket: "api/write"}
	if req.Method == http.MethodGet {
		key.Bucket = "api/read"
	}
	if err := t.budgets.Wait(req.Context(), key); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		t.budgets.Throttled(key, time.Duration(secs)*time.Second)
	}
	return resp, err
}
