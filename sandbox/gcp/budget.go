package gcp

import (
	"net/http"
	"strings"

	"github.com/regionctl/regionctl/providers/budget"
)

// BudgetKey is the bucket a Compute Engine or GKE REST request draws from:
// its project's Compute read or write bucket, or its GKE bucket. The
// token endpoints, Service Usage and the batch envelope are not metered.
func (e *Emulator) BudgetKey(r *http.Request, op string) (budget.Key, bool) {
	svc, _, _ := strings.Cut(op, ":")
	project := projectInPath(r.URL.Path)
	switch {
	case project == "" || op == "compute:batch" || strings.HasSuffix(op, ":Unknown"):
		return budget.Key{}, false
	case svc == "compute":
		return budget.GCPComputeKey(project, r.Method), true
	case svc == "container":
		return budget.GCPContainerKey(project), true
	}
	return budget.Key{}, false
}

// GRPCBudgetKey is the bucket of a GKE gRPC call: its project's.
func (e *Emulator) GRPCBudgetKey(op string, req any) (budget.Key, bool) {
	if op == "container:Unknown" {
		return budget.Key{}, false
	}
	for _, name := range []string{getString(req, "GetName"), getString(req, "GetParent")} {
		if p := projectInPath(name); p != "" {
			return budget.GCPContainerKey(p), true
		}
	}
	return budget.Key{}, false
}

// projectInPath is P in ".../projects/P/...".
func projectInPath(path string) string {
	i := strings.Index(path, "projects/")
	if i < 0 {
		return ""
	}
	p, _, _ := strings.Cut(path[i+len("projects/"):], "/")
	return p
}

func getString(req any, method string) string {
	switch method {
	case "GetName":
		if r, ok := req.(interface{ GetName() string }); ok {
			return r.GetName()
		}
	case "GetParent":
		if r, ok := req.(interface{ GetParent() string }); ok {
			return r.GetParent()
		}
	}
	return ""
}
