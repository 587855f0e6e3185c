package providers

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// CheckRegion checks a region against what its driver's cloud offers, at
// plan time and before any API call: the Kubernetes minor is offered, the
// location is known and has enough zones, every node pool's machine maps
// onto the catalog (PickMachine), and the storage tiers and load balancer
// schemes are supported. A capability the driver leaves empty (no versions,
// no locations, no machines, no tiers, no schemes) is not checked.
// Diagnostics point at the region's source (Region.Pos) and are sorted.
func CheckRegion(r *spec.Region, caps Capabilities) diag.Diagnostics {
	c := &checker{r: r, driver: caps.Name}
	s := &r.Spec

	if v := s.Cluster.KubernetesVersion; len(caps.KubernetesVersions) > 0 && v != "" &&
		!slices.Contains(caps.KubernetesVersions, v) {
		offered := sortVersions(caps.KubernetesVersions)
		fix := "use one of " + strings.Join(offered, ", ")
		if n, ok := nearestVersion(v, offered); ok {
			fix = fmt.Sprintf("use %q (offered: %s)", n, strings.Join(offered, ", "))
		}
		c.errf("spec.cluster.kubernetesVersion", fix, "%s does not offer Kubernetes %s", c.who(), v)
	}

	if len(caps.Locations) > 0 && s.Location != "" {
		zones, ok := caps.Locations[s.Location]
		if !ok {
			known := slices.Sorted(maps.Keys(caps.Locations))
			fix := ""
			if sug, near := spec.DidYouMean(s.Location, known); near {
				fix = fmt.Sprintf("did you mean %q?", sug)
			}
			c.add("spec.location", fix, "known locations: "+strings.Join(known, ", "),
				"%s does not know location %q", c.who(), s.Location)
		} else if zones > 0 && s.Zones > zones {
			c.errf("spec.zones", fmt.Sprintf("use at most %d zones", zones),
				"%d zones requested but %s has %d", s.Zones, s.Location, zones)
		}
	}

	if len(caps.Machines) > 0 {
		for i, p := range s.Cluster.NodePools {
			if _, err := PickMachine(caps.Machines, p.Machine); err != nil {
				c.errf(fmt.Sprintf("spec.cluster.nodePools[%d].machine", i), "ask for a smaller machine, or split the workload over more nodes",
					"node pool %q: %v", p.Name, err)
			}
		}
	}

	if len(caps.StorageTiers) > 0 {
		for i, sc := range s.StorageClasses {
			if sc.Tier != "" && !slices.Contains(caps.StorageTiers, sc.Tier) {
				c.errf(fmt.Sprintf("spec.storageClasses[%d].tier", i), "use one of "+strings.Join(caps.StorageTiers, ", "),
					"%s does not support storage tier %q", c.who(), sc.Tier)
			}
		}
	}
	if len(caps.LoadBalancerSchemes) > 0 {
		for i, lb := range s.LoadBalancers {
			if lb.Scheme != "" && !slices.Contains(caps.LoadBalancerSchemes, lb.Scheme) {
				c.errf(fmt.Sprintf("spec.loadBalancers[%d].scheme", i), "use one of "+strings.Join(caps.LoadBalancerSchemes, ", "),
					"%s does not support load balancer scheme %q", c.who(), lb.Scheme)
			}
		}
	}
	c.ds.Sort()
	return c.ds
}

type checker struct {
	r      *spec.Region
	driver string
	ds     diag.Diagnostics
}

func (c *checker) who() string {
	if c.driver == "" {
		return "the driver"
	}
	return "driver " + c.driver
}

func (c *checker) add(path, fix, detail, format string, args ...any) {
	c.ds = append(c.ds, diag.Diagnostic{
		Severity: diag.Error,
		Pos:      c.r.Pos(path),
		Path:     path,
		Summary:  fmt.Sprintf(format, args...),
		Detail:   detail,
		Fix:      fix,
	})
}

func (c *checker) errf(path, fix, format string, args ...any) { c.add(path, fix, "", format, args...) }

// minor parses "1.33" into 1, 33.
func minor(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	return x, y, err1 == nil && err2 == nil
}

// sortVersions orders minors numerically (1.9 before 1.10); unparsable
// ones go last in string order.
func sortVersions(vs []string) []string {
	out := slices.Clone(vs)
	slices.SortFunc(out, func(a, b string) int {
		am, an, aok := minor(a)
		bm, bn, bok := minor(b)
		switch {
		case aok && bok:
			if am != bm {
				return am - bm
			}
			return an - bn
		case aok:
			return -1
		case bok:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// nearestVersion picks the offered minor closest to v; on a tie, the newer.
func nearestVersion(v string, offered []string) (string, bool) {
	vm, vn, ok := minor(v)
	if !ok {
		return "", false
	}
	best, bestDist := "", -1
	for _, o := range offered {
		om, on, ok := minor(o)
		if !ok || om != vm {
			continue
		}
		d := on - vn
		if d < 0 {
			d = -d
		}
		if bestDist < 0 || d < bestDist || (d == bestDist && on > vn) {
			best, bestDist = o, d
		}
	}
	return best, bestDist >= 0
}
