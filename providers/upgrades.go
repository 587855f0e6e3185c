package providers

import (
	"context"
	"fmt"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// UpdateChecker is implemented by drivers that can tell at plan time,
// without calling the cloud, that an in-place update cannot be made as
// planned — a Kubernetes version that skips a minor or goes back. The
// engine calls it for every Update of a plan and fails the plan with its
// diagnostics (their Path is a spec path; the engine adds the position),
// so a plan never shows a change that apply would be refused.
type UpdateChecker interface {
	CheckUpdate(ctx context.Context, req CheckUpdateRequest) diag.Diagnostics
}

// CheckUpdateRequest is one planned in-place update.
type CheckUpdateRequest struct {
	Address, Type string
	// Before are the refreshed inputs, After the desired ones; a value
	// not known before apply is a reference (providers.Ref).
	Before, After Values
}

// CheckVersionStep returns a diagnostic when the update changes input key
// (a Kubernetes minor, "1.33") by anything but one minor forward: managed
// Kubernetes services (service names one: EKS, GKE, AKS) upgrade one minor
// at a time and never downgrade. Its path is the spec's kubernetesVersion,
// and its fix names the next step.
func CheckVersionStep(service string, req CheckUpdateRequest, key string) diag.Diagnostics {
	from, ok1 := req.Before[key].(string)
	to, ok2 := req.After[key].(string)
	if !ok1 || !ok2 || from == to {
		return nil
	}
	if err := CheckMinorUpgrade(service, from, to); err != nil {
		d := diag.Diagnostic{Severity: diag.Error, Path: "spec.cluster.kubernetesVersion",
			Summary: fmt.Sprintf("Kubernetes %s → %s cannot be applied: %v", from, to, err),
			Detail:  "refused at plan time, before anything changes: the cluster and its node pools move one minor per apply, control plane first"}
		if fa, fb, ok := ParseMinor(from); ok {
			if ta, tb, ok := ParseMinor(to); ok && (ta > fa || ta == fa && tb > fb) {
				d.Fix = fmt.Sprintf("set kubernetesVersion: %q and apply (a rollout takes the fleet through it wave by wave), then %q", fmt.Sprintf("%d.%d", fa, fb+1), to)
			} else {
				d.Fix = fmt.Sprintf("set kubernetesVersion back to %q", from)
			}
		}
		return diag.Diagnostics{d}
	}
	return nil
}

// HealthChecker is implemented by drivers that can tell whether a region's
// cluster is healthy after an apply: its API server answers, every node
// pool's nodes are Ready at the pool's version, and LoadBalancer Services
// kept their addresses. The health gate between the waves of a rollout
// calls it, polling until every check passes or its timeout.
type HealthChecker interface {
	CheckHealth(ctx context.Context, req HealthRequest) (HealthResponse, error)
}

// NoHealthCheck is the outcome the health gate records for a driver that
// cannot check health: one passing check whose detail says why (why
// names the driver and what it lacks), so the rollout shows that the
// wave passed on its apply alone rather than on a check.
func NoHealthCheck(why string) HealthResponse {
	return HealthResponse{Checks: []HealthCheck{{Name: "health check", OK: true, Detail: why + "; the wave passes on its apply alone"}}}
}

// HealthRequest names the region to check, as state records it.
type HealthRequest struct {
	Region string
	// Resources are the region's resources after the apply.
	Resources []Instance
	// Before are the region's resources before the apply (nil for a new
	// region): what must be kept, such as load balancer addresses.
	Before []Instance
}

// HealthResponse is the outcome of every check. An error from CheckHealth
// means the checks could not be made (the gate asks again).
type HealthResponse struct {
	Checks []HealthCheck
}

// HealthCheck is one check: what was checked, whether it passed, and why
// not.
type HealthCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Healthy reports whether every check passed.
func (r HealthResponse) Healthy() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failing returns the checks that did not pass.
func (r HealthResponse) Failing() []HealthCheck {
	var out []HealthCheck
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// PoolUpgradeRules say which of a node pool's upgrade settings
// (spec.PoolUpgrade) a cloud can set.
type PoolUpgradeRules struct {
	// NoSurge, when set, says why maxSurge cannot be set on this cloud.
	NoSurge string
	// MinSurge is the least maxSurge the cloud takes.
	MinSurge int
	// NoUnavailable, when set, says why maxUnavailable cannot be above 0.
	NoUnavailable string
	// MinUnavailable is the least maxUnavailable the cloud takes.
	MinUnavailable int
}

// CheckPoolUpgrade checks node pool i's upgrade settings against what the
// cloud can set; each problem is placed at the field.
func CheckPoolUpgrade(r *spec.Region, i int, rules PoolUpgradeRules) diag.Diagnostics {
	u := r.Spec.Cluster.NodePools[i].Upgrade
	if u == nil {
		return nil
	}
	var ds diag.Diagnostics
	path := fmt.Sprintf("spec.cluster.nodePools[%d].upgrade", i)
	add := func(field, fix, format string, args ...any) {
		p := path + "." + field
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(p), Path: p, Summary: fmt.Sprintf(format, args...), Fix: fix})
	}
	if s := u.MaxSurge; s != nil {
		switch {
		case rules.NoSurge != "":
			add("maxSurge", "remove maxSurge", "%s", rules.NoSurge)
		case *s < rules.MinSurge:
			add("maxSurge", fmt.Sprintf("set maxSurge to %d or more", rules.MinSurge), "maxSurge %d: this cloud adds at least %d node(s) at a time", *s, rules.MinSurge)
		}
	}
	if n := u.MaxUnavailable; n != nil {
		switch {
		case rules.NoUnavailable != "" && *n > 0:
			add("maxUnavailable", "remove maxUnavailable (or set it to 0)", "%s", rules.NoUnavailable)
		case rules.NoUnavailable == "" && *n < rules.MinUnavailable:
			add("maxUnavailable", fmt.Sprintf("set maxUnavailable to %d or more", rules.MinUnavailable), "maxUnavailable %d: this cloud takes at least %d", *n, rules.MinUnavailable)
		}
	}
	return ds
}

// UpgradeInputs are a node pool's upgrade settings as driver inputs
// ("max_surge", "max_unavailable"): only those the spec sets, so a pool
// without them keeps the cloud's defaults and shows no difference, and
// only those the cloud has (rules), so a refused one is reported by
// CheckPoolUpgrade at its field rather than as an unknown input.
func UpgradeInputs(p spec.NodePool, rules PoolUpgradeRules) Values {
	out := Values{}
	if u := p.Upgrade; u != nil {
		if u.MaxSurge != nil && rules.NoSurge == "" {
			out["max_surge"] = *u.MaxSurge
		}
		if u.MaxUnavailable != nil && rules.NoUnavailable == "" {
			out["max_unavailable"] = *u.MaxUnavailable
		}
	}
	return out
}
