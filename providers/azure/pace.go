package azure

import (
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
)

// How long a ReadMany's list call waits for the ReadMany calls of other
// regions to join it (kit.Batcher).
const (
	listLinger        = 50 * time.Millisecond
	sandboxListLinger = 10 * time.Millisecond
)

// paceRequests is a per-try policy: every ARM request of a subscription
// (each retry too) waits for a token of the subscription's read, write or
// delete bucket, and a 429 slows the bucket down for at least the
// Retry-After ARM sends. Requests that name no subscription (tokens) are
// not ARM's to meter.
type paceRequests struct{ b *budget.Budgets }

func (p paceRequests) Do(req *policy.Request) (*http.Response, error) {
	sub := subscriptionOfPath(req.Raw().URL.Path)
	if sub == "" {
		return req.Next()
	}
	key := budget.AzureKey(sub, req.Raw().Method)
	if err := p.b.Wait(req.Raw().Context(), key); err != nil {
		return nil, err
	}
	resp, err := req.Next()
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		p.b.Throttled(key, kit.RetryAfter(resp.Header))
	}
	return resp, err
}

// subscriptionOfPath is the subscription of an ARM path
// ("/subscriptions/S/..."), or "".
func subscriptionOfPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/subscriptions/")
	if !ok {
		return ""
	}
	sub, _, _ := strings.Cut(rest, "/")
	return sub
}
