package aws

import (
	"net/http"
	"strings"

	"github.com/regionctl/regionctl/providers/budget"
)

// BudgetKey is the bucket an AWS request draws from: EC2 and EKS per
// region of its SigV4 scope, IAM per account; reads and writes apart.
func (e *Emulator) BudgetKey(r *http.Request, op string) (budget.Key, bool) {
	svc, action, ok := strings.Cut(op, ":")
	switch {
	case !ok || action == "Unknown":
		return budget.Key{}, false
	case svc != "ec2" && svc != "eks" && svc != "iam":
		return budget.Key{}, false
	}
	region, _ := scope(r)
	return budget.AWSKey(svc, action, region), true
}
