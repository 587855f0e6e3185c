package acme

import (
	"net/http"

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

// bucketOf is the budget a request draws from: reads and writes apart.
func bucketOf(req *http.Request) budget.Key {
	if req.Method == http.MethodGet {
		return budget.Key{Cloud: Name, Bucket: "api/read"}
	}
	return budget.Key{Cloud: Name, Bucket: "api/write"}
}
