package azure

import (
	"net/http"
	"strings"

	"github.com/regionctl/regionctl/providers/budget"
)

// BudgetKey is the bucket an ARM request draws from: its subscription's
// read, write or delete bucket. Requests that name no subscription (the
// identity endpoints, tenants) are not metered.
func (e *Emulator) BudgetKey(r *http.Request, op string) (budget.Key, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/subscriptions/")
	if !ok || op == "azure:Unknown" {
		return budget.Key{}, false
	}
	sub, _, _ := strings.Cut(rest, "/")
	return budget.AzureKey(sub, r.Method), true
}
