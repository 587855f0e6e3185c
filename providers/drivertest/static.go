package drivertest

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"runtime/debug"
	"slices"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// machineFamilies are the MachineType.Family values the engine knows.
var machineFamilies = []string{"general", "compute", "memory", "storage", "gpu"}

// machineArches are the MachineType.Arch values the spec can ask for.
var machineArches = []string{"amd64", "arm64"}

var (
	minorVersion = regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+$`)
	knownTiers   = []string{spec.TierStandard, spec.TierSSD}
	knownSchemes = []string{spec.SchemeExternal, spec.SchemeInternal}
)

// panicError is a driver panic turned into an error so a check can report
// it instead of crashing the test binary.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("driver panicked: %v\n%s", e.value, e.stack)
}

// guard calls fn, turning a panic into a *panicError.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return fn()
}

func (s *suite) capabilities() (c providers.Capabilities, err error) {
	err = guard(func() error { c = s.d.Capabilities(); return nil })
	return c, err
}

func (s *suite) testCapabilities(t *st) {
	c, err := s.capabilities()
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	if c.Name == "" {
		t.Errorf("Capabilities().Name is empty; it must be the driver's registry name")
	}
	if p := s.cfg.Region.Spec.Provider; c.Name != "" && p != c.Name {
		t.Errorf("Config.Region has provider %q but the driver is named %q", p, c.Name)
	}
	if c.Description == "" {
		t.Errorf("Capabilities().Description is empty; `regionctl drivers` shows it")
	}
	if c.MaxParallel < 0 {
		t.Errorf("Capabilities().MaxParallel is %d; want 0 (engine default) or more", c.MaxParallel)
	}

	if len(c.Machines) == 0 {
		t.Errorf("Capabilities().Machines is empty; neutral machine sizes need a catalog to map onto")
	}
	seen := map[string]bool{}
	general := false
	for i, m := range c.Machines {
		where := fmt.Sprintf("Machines[%d] (%q)", i, m.Name)
		if m.Name == "" {
			t.Errorf("%s: empty name", where)
		}
		if seen[m.Name] {
			t.Errorf("%s: duplicate machine name", where)
		}
		seen[m.Name] = true
		if m.CPU <= 0 {
			t.Errorf("%s: cpu %d, want > 0", where, m.CPU)
		}
		if !(m.MemoryGiB > 0) {
			t.Errorf("%s: memoryGiB %v, want > 0", where, m.MemoryGiB)
		}
		if m.GPU < 0 {
			t.Errorf("%s: gpu %d, want >= 0", where, m.GPU)
		}
		if !slices.Contains(machineArches, m.Arch) {
			t.Errorf("%s: arch %q, want one of %v", where, m.Arch, machineArches)
		}
		if !slices.Contains(machineFamilies, m.Family) {
			t.Errorf("%s: family %q, want one of %v", where, m.Family, machineFamilies)
		}
		general = general || m.Family == "general"
	}
	if len(c.Machines) > 0 && !general {
		t.Errorf("Capabilities().Machines has no machine of family \"general\"; neutral sizes map only onto general-purpose machines")
	}

	if len(c.KubernetesVersions) == 0 {
		t.Errorf("Capabilities().KubernetesVersions is empty")
	}
	for _, v := range c.KubernetesVersions {
		if !minorVersion.MatchString(v) {
			t.Errorf("Capabilities().KubernetesVersions has %q; want a minor like \"1.33\"", v)
		}
	}
	for _, tier := range c.StorageTiers {
		if !slices.Contains(knownTiers, tier) {
			t.Errorf("Capabilities().StorageTiers has %q; the spec knows only %v", tier, knownTiers)
		}
	}
	for _, sc := range c.LoadBalancerSchemes {
		if !slices.Contains(knownSchemes, sc) {
			t.Errorf("Capabilities().LoadBalancerSchemes has %q; the spec knows only %v", sc, knownSchemes)
		}
	}

	if len(c.Locations) == 0 {
		t.Errorf("Capabilities().Locations is empty")
	}
	for loc, zones := range c.Locations {
		if loc == "" {
			t.Errorf("Capabilities().Locations has an empty location name")
		}
		if zones < 1 {
			t.Errorf("Capabilities().Locations[%q] = %d zones; want at least 1", loc, zones)
		}
	}

	// The region under test must fit the capabilities, or the rest of the
	// suite tests a spec the CLI would have refused.
	r := s.cfg.Region.Spec
	zones, ok := c.Locations[r.Location]
	if !ok {
		t.Errorf("Config.Region's location %q is not in Capabilities().Locations", r.Location)
	} else if r.Zones > zones {
		t.Errorf("Config.Region asks for %d zones; location %q has %d", r.Zones, r.Location, zones)
	}
	if !slices.Contains(c.KubernetesVersions, r.Cluster.KubernetesVersion) {
		t.Errorf("Config.Region's Kubernetes version %q is not in Capabilities().KubernetesVersions %v", r.Cluster.KubernetesVersion, c.KubernetesVersions)
	}
	for _, sc := range r.StorageClasses {
		if !slices.Contains(c.StorageTiers, sc.Tier) {
			t.Errorf("Config.Region's storage class %q has tier %q, not in Capabilities().StorageTiers %v", sc.Name, sc.Tier, c.StorageTiers)
		}
	}
	for _, lb := range r.LoadBalancers {
		if !slices.Contains(c.LoadBalancerSchemes, lb.Scheme) {
			t.Errorf("Config.Region's load balancer %q has scheme %q, not in Capabilities().LoadBalancerSchemes %v", lb.Name, lb.Scheme, c.LoadBalancerSchemes)
		}
	}
}

func (s *suite) testValidate(t *st) {
	v, ok := s.d.(providers.Validator)
	if !ok {
		t.Skipf("driver does not implement providers.Validator")
	}
	for _, rc := range s.regionCases(t) {
		before := s.callCount()
		ctx, cancel := s.ctx()
		var err error
		var ds []string
		err = guard(func() error {
			for _, d := range v.Validate(ctx, rc.region) {
				if d.Severity == diag.Error {
					ds = append(ds, d.String())
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			t.Fatalf("Validate(%s): %v", rc.name, err)
		}
		for _, d := range ds {
			t.Errorf("Validate(%s) reports an error for a valid region: %s", rc.name, d)
		}
		if after := s.callCount(); before >= 0 && after != before {
			t.Errorf("Validate(%s) made %d cloud calls; it must not call the cloud", rc.name, after-before)
		}
	}
}

// regionCase is one of the regions the suite expands: the base region and
// the two variants Config derives from it.
type regionCase struct {
	name   string
	region *spec.Region
}

// regionCases returns Region, UpdateInPlace(Region) and
// Replace(UpdateInPlace(Region)), failing if a Config function is missing
// or modifies its argument.
func (s *suite) regionCases(t *st) []regionCase {
	t.Helper()
	base := s.cfg.Region
	out := []regionCase{{"Region", base}}
	if s.cfg.UpdateInPlace == nil {
		t.Fatalf("Config.UpdateInPlace is nil; the suite needs a change that updates a resource in place")
	}
	if s.cfg.Replace == nil {
		t.Fatalf("Config.Replace is nil; the suite needs a change that replaces a resource")
	}
	upd := s.derive(t, "UpdateInPlace", s.cfg.UpdateInPlace, base)
	out = append(out, regionCase{"UpdateInPlace(Region)", upd})
	rep := s.derive(t, "Replace", s.cfg.Replace, upd)
	out = append(out, regionCase{"Replace(UpdateInPlace(Region))", rep})
	return out
}

func (s *suite) derive(t *st, name string, f func(*spec.Region) *spec.Region, from *spec.Region) *spec.Region {
	t.Helper()
	before := regionJSON(from)
	var out *spec.Region
	if err := guard(func() error { out = f(from); return nil }); err != nil {
		t.Fatalf("Config.%s: %v", name, err)
	}
	if regionJSON(from) != before {
		t.Fatalf("Config.%s modified its argument; it must return a changed copy (see CloneRegion)", name)
	}
	if out == nil {
		t.Fatalf("Config.%s returned nil", name)
	}
	if regionJSON(out) == before {
		t.Fatalf("Config.%s returned an unchanged region", name)
	}
	return out
}

// callCount returns the cloud call count, or -1 when it is not known.
func (s *suite) callCount() int {
	if s.calls == nil {
		return -1
	}
	return s.calls()
}

// expand calls Expand and fails the test on an error or error
// diagnostics. The resources come back in the driver's order.
func (s *suite) expand(t *st, label string, region *spec.Region) providers.ExpandResponse {
	t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	var resp providers.ExpandResponse
	err := guard(func() (err error) {
		resp, err = s.d.Expand(ctx, providers.ExpandRequest{Region: region})
		return err
	})
	if err != nil {
		t.Fatalf("Expand(%s): %v", label, err)
	}
	if resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand(%s) reports errors for a valid region:\n%s", label, resp.Diagnostics)
	}
	if len(resp.Resources) == 0 {
		t.Fatalf("Expand(%s) returned no resources", label)
	}
	return resp
}

// sortedGraph expands a region and orders it by dependency, failing on a
// cycle.
func (s *suite) sortedGraph(t *st, label string, region *spec.Region) []providers.Resource {
	t.Helper()
	resp := s.expand(t, label, region)
	sorted, err := topoSort(resp.Resources)
	if err != nil {
		t.Fatalf("Expand(%s): %v", label, err)
	}
	return sorted
}

func (s *suite) testExpand(t *st) {
	cases := s.regionCases(t)
	type expanded struct {
		regionCase
		resp providers.ExpandResponse
	}
	var all []expanded
	for _, rc := range cases {
		all = append(all, expanded{rc, s.expand(t, rc.name, rc.region)})
	}

	t.run("Deterministic", func(t *st) {
		for _, e := range all {
			again := s.expand(t, e.name, e.region)
			if !reflect.DeepEqual(e.resp, again) {
				t.Errorf("Expand(%s) returned different results for the same region:\nfirst:  %s\nsecond: %s", e.name, show(e.resp), show(again))
			}
		}
	})
	t.run("DoesNotModifyRegion", func(t *st) {
		for _, rc := range cases {
			before := regionJSON(rc.region)
			s.expand(t, rc.name, rc.region)
			if regionJSON(rc.region) != before {
				t.Errorf("Expand(%s) modified the region it was given", rc.name)
			}
		}
	})
	t.run("NoCloudCalls", func(t *st) {
		if s.calls == nil {
			t.Skipf("cannot count cloud calls: set Config.CloudCalls or implement drivertest.CallCounter on the driver")
		}
		for _, rc := range cases {
			before := s.calls()
			s.expand(t, rc.name, rc.region)
			if n := s.calls() - before; n != 0 {
				t.Errorf("Expand(%s) made %d cloud calls; Expand must be pure", rc.name, n)
			}
		}
	})
	t.run("Addresses", func(t *st) {
		for _, e := range all {
			seen := map[string]bool{}
			for _, r := range e.resp.Resources {
				if seen[r.Address] {
					t.Errorf("Expand(%s): duplicate address %s", e.name, r.Address)
				}
				seen[r.Address] = true
				region, typ, _, err := providers.SplitAddress(r.Address)
				if err != nil {
					t.Errorf("Expand(%s): %v", e.name, err)
					continue
				}
				if want := e.region.Metadata.Name; region != want {
					t.Errorf("Expand(%s): address %s starts with %q; want the region name %q", e.name, r.Address, region, want)
				}
				if typ != r.Type {
					t.Errorf("Expand(%s): address %s has type %q but Resource.Type is %q", e.name, r.Address, typ, r.Type)
				}
			}
		}
	})
	t.run("References", func(t *st) {
		for _, e := range all {
			addrs := map[string]bool{}
			for _, r := range e.resp.Resources {
				addrs[r.Address] = true
			}
			for _, r := range e.resp.Resources {
				for _, ref := range providers.Refs(map[string]any(r.Inputs)) {
					if ref == r.Address {
						t.Errorf("Expand(%s): %s references itself", e.name, r.Address)
					} else if !addrs[ref] {
						t.Errorf("Expand(%s): %s references %s, which is not in the graph", e.name, r.Address, ref)
					}
				}
				for _, d := range r.DependsOn {
					if d == r.Address {
						t.Errorf("Expand(%s): %s depends on itself", e.name, r.Address)
					} else if !addrs[d] {
						t.Errorf("Expand(%s): %s depends on %s, which is not in the graph", e.name, r.Address, d)
					}
				}
			}
		}
	})
	t.run("Acyclic", func(t *st) {
		for _, e := range all {
			if _, err := topoSort(e.resp.Resources); err != nil {
				t.Errorf("Expand(%s): %v", e.name, err)
			}
		}
	})
	t.run("ForceNew", func(t *st) {
		for _, e := range all {
			for _, r := range e.resp.Resources {
				seen := map[string]bool{}
				for _, k := range r.ForceNew {
					if seen[k] {
						t.Errorf("Expand(%s): %s lists ForceNew key %q twice", e.name, r.Address, k)
					}
					seen[k] = true
					if _, ok := r.Inputs[k]; !ok {
						t.Errorf("Expand(%s): %s has ForceNew key %q, which is not one of its inputs", e.name, r.Address, k)
					}
				}
			}
		}
	})
	t.run("Schemas", func(t *st) {
		caps, err := s.capabilities()
		if err != nil || len(caps.Resources) == 0 {
			t.Logf("the driver publishes no resource schemas (Capabilities.Resources): the engine replaces by ForceNew alone")
			return
		}
		for _, p := range schemaProblems(caps.Resources) {
			t.Errorf("Capabilities.Resources: %s", p)
		}
		for _, e := range all {
			for _, r := range e.resp.Resources {
				for _, p := range resourceSchemaProblems(caps, r) {
					t.Errorf("Expand(%s): %s", e.name, p)
				}
			}
		}
	})
	t.run("Elements", func(t *st) {
		for _, e := range all {
			valid := map[string]bool{}
			for _, el := range e.region.Elements() {
				valid[el] = true
			}
			marked := 0
			for _, r := range e.resp.Resources {
				switch {
				case r.Element == "":
				case !valid[r.Element]:
					t.Errorf("Expand(%s): %s marks element %q, which the region does not have (it has %v); build it with spec.NodePoolElement and its siblings", e.name, r.Address, r.Element, e.region.Elements())
				default:
					marked++
				}
			}
			if marked == 0 {
				t.Logf("Expand(%s) marks no spec element (Resource.Element): import blocks, regionctl import, --target and --replace then take addresses only", e.name)
			}
		}
	})
	t.run("JSONValues", func(t *st) {
		for _, e := range all {
			for _, r := range e.resp.Resources {
				if r.Inputs == nil {
					t.Errorf("Expand(%s): %s has nil Inputs; use an empty map", e.name, r.Address)
				}
				for _, p := range jsonProblems("inputs", map[string]any(r.Inputs)) {
					t.Errorf("Expand(%s): %s: %s", e.name, r.Address, p)
				}
			}
		}
	})
}

// withCtx calls fn with a context bounded by the operation timeout,
// turning a panic into an error.
func (s *suite) withCtx(fn func(ctx context.Context) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return guard(func() error { return fn(ctx) })
}
