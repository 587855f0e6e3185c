package drivertest_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/spec"
)

// bug selects a deliberate defect of the toy driver, to prove the suite
// catches it.
type bug int

const (
	noBug bug = iota
	bugReadDrift
	bugIgnoreKey
	bugDeleteMissing
	bugExpandNondeterministic
	bugExpandCallsCloud
	bugExpandModifiesRegion
	bugDanglingRef
	bugMissingForceNew
	bugUpdateIgnored
	bugCancelIgnored
	bugReadUnknownPanics
	bugReadNoOutputs
	bugBadCapabilities
	bugStringSlice
	bugReadOmitsInput
	bugIdentityChanges
	bugImportRewritesIDs
	bugElementUnknown
	bugUpdateCheckRefuses
	bugUpdateCheckCallsCloud
	bugUnhealthy
)

// toyCloud is an in-memory cloud: objects by ID.
type toyCloud struct {
	mu      sync.Mutex
	next    int
	calls   int
	objects map[string]*toyObject
}

type toyObject struct {
	typ     string
	key     string
	inputs  providers.Values
	outputs providers.Values
}

func (c *toyCloud) ids(context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.objects)), nil
}

// toyDriver is a small correct driver (unless bug is set).
type toyDriver struct {
	cloud   *toyCloud
	bug     bug
	mu      sync.Mutex
	expands int
}

var _ providers.Driver = (*toyDriver)(nil)
var _ providers.Finder = (*toyDriver)(nil)
var _ providers.Lister = (*toyDriver)(nil)
var _ providers.Validator = (*toyDriver)(nil)
var _ providers.Identifier = (*toyDriver)(nil)
var _ providers.Importer = (*toyDriver)(nil)
var _ providers.UpdateChecker = (*toyDriver)(nil)
var _ providers.HealthChecker = (*toyDriver)(nil)

// CheckUpdate refuses nothing the toy updates in place; with
// bugUpdateCheckRefuses every update, with bugUpdateCheckCallsCloud it
// asks the cloud.
func (d *toyDriver) CheckUpdate(_ context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	switch d.bug {
	case bugUpdateCheckRefuses:
		return diag.Diagnostics{{Severity: diag.Error, Path: "spec.cluster", Summary: "the toy refuses " + req.Address}}
	case bugUpdateCheckCallsCloud:
		d.cloud.mu.Lock()
		d.cloud.calls++
		d.cloud.mu.Unlock()
	}
	return nil
}

// CheckHealth finds every resource of the region in the cloud; with
// bugUnhealthy the first is reported down.
func (d *toyDriver) CheckHealth(_ context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	var resp providers.HealthResponse
	for i, r := range req.Resources {
		_, ok := d.cloud.objects[r.ID]
		resp.Checks = append(resp.Checks, providers.HealthCheck{Name: r.Address, OK: ok && !(d.bug == bugUnhealthy && i == 0), Detail: r.ID})
	}
	return resp, nil
}

// ImportID accepts the toy console's form "toy://ID" as well as the ID;
// with bugImportRewritesIDs it turns every ID into another one.
func (d *toyDriver) ImportID(_ context.Context, req providers.ImportIDRequest) (providers.ImportIDResponse, error) {
	if d.bug == bugImportRewritesIDs {
		return providers.ImportIDResponse{ID: "imported-" + req.ID}, nil
	}
	return providers.ImportIDResponse{ID: strings.TrimPrefix(req.ID, "toy://")}, nil
}

// Identity names the toy's one account; with bugIdentityChanges a new one
// every call.
func (d *toyDriver) Identity(context.Context, providers.IdentityRequest) (providers.IdentityResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := "1"
	if d.bug == bugIdentityChanges {
		d.expands++
		id = fmt.Sprint(d.expands)
	}
	return providers.IdentityResponse{Identity: providers.Identity{Kind: "toy account", ID: id}}, nil
}

func newToy(b bug) *toyDriver {
	return &toyDriver{cloud: &toyCloud{objects: map[string]*toyObject{}}, bug: b}
}

func (d *toyDriver) CallCount() int {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	return d.cloud.calls
}

var toyMachines = []providers.MachineType{
	{Name: "toy.c2m4", CPU: 2, MemoryGiB: 4, Arch: "amd64", Family: "general"},
	{Name: "toy.c4m16", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "toy.c8m32", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	{Name: "toy.g1", CPU: 8, MemoryGiB: 64, Arch: "amd64", GPU: 1, Family: "gpu"},
}

func (d *toyDriver) Capabilities() providers.Capabilities {
	c := providers.Capabilities{
		Name:                "toy",
		Description:         "in-memory toy cloud for testing drivertest",
		KubernetesVersions:  []string{"1.32", "1.33"},
		Machines:            toyMachines,
		StorageTiers:        []string{spec.TierStandard, spec.TierSSD},
		LoadBalancerSchemes: []string{spec.SchemeExternal, spec.SchemeInternal},
		Locations:           map[string]int{"toy-west1": 3, "toy-east1": 2},
	}
	if d.bug == bugBadCapabilities {
		c.Machines = append(slices.Clone(c.Machines), providers.MachineType{Name: "toy.broken", CPU: 0, MemoryGiB: 1, Arch: "sparc", Family: "general"})
		c.Locations = map[string]int{"toy-west1": 0}
	}
	return c
}

func (d *toyDriver) Validate(_ context.Context, r *spec.Region) diag.Diagnostics {
	var ds diag.Diagnostics
	if r.Spec.Provider != "toy" {
		ds = ds.Errorf(r.Pos("spec.provider"), "spec.provider", "provider %q is not toy", r.Spec.Provider)
	}
	return ds
}

func machineFor(m spec.Machine) string {
	for _, t := range toyMachines {
		if t.Family == "general" && t.CPU >= m.CPU && t.MemoryGiB >= float64(m.MemoryGiB) {
			return t.Name
		}
	}
	return "toy.c8m32"
}

func (d *toyDriver) Expand(_ context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	name := r.Metadata.Name
	addr := func(typ, n string) string { return providers.Address(name, typ, n) }
	var resp providers.ExpandResponse

	net := addr("toy_network", "main")
	resp.Resources = append(resp.Resources, providers.Resource{
		Address: net, Type: "toy_network",
		Inputs: providers.Values{
			"cidr": r.Spec.Network.CIDR,
			"name": name,
			"tags": map[string]any{"region": name, "managed-by": "regionctl"},
		},
		ForceNew: []string{"cidr"},
	})
	var subnetIDs []any
	for i := range r.Spec.Zones {
		a := addr("toy_subnet", fmt.Sprintf("z%d", i))
		subnetIDs = append(subnetIDs, providers.Ref(a, "id"))
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: a, Type: "toy_subnet",
			Inputs:   providers.Values{"network_id": providers.Ref(net, "id"), "zone": fmt.Sprintf("%s-%c", r.Spec.Location, 'a'+i)},
			ForceNew: []string{"network_id", "zone"},
		})
	}
	cluster := addr("toy_cluster", "main")
	resp.Resources = append(resp.Resources, providers.Resource{
		Address: cluster, Type: "toy_cluster",
		Inputs: providers.Values{
			"name":       name,
			"version":    r.Spec.Cluster.KubernetesVersion,
			"subnet_ids": subnetIDs,
			"access":     r.Spec.Cluster.EndpointAccess,
		},
		ForceNew: []string{"name", "subnet_ids"},
		Stateful: true,
	})
	for _, p := range r.Spec.Cluster.NodePools {
		labels := map[string]any{}
		for k, v := range p.Labels {
			labels[k] = v
		}
		taints := []any{}
		for _, t := range p.Taints {
			taints = append(taints, t)
		}
		machine := machineFor(p.Machine)
		element := spec.NodePoolElement(p.Name)
		if d.bug == bugElementUnknown {
			element = spec.NodePoolElement(p.Name + "-x")
		}
		res := providers.Resource{
			Address: addr("toy_pool", p.Name), Type: "toy_pool", Element: element,
			Inputs: providers.Values{
				"cluster": providers.Ref(cluster, "name"),
				"machine": machine,
				"spot":    p.Spot,
				"min":     p.Min,
				"max":     p.Max,
				"labels":  labels,
				"taints":  taints,
			},
			ForceNew:            []string{"cluster", "machine", "spot"},
			CreateBeforeDestroy: true,
		}
		if d.bug == bugMissingForceNew {
			res.ForceNew = []string{"cluster", "spot"}
		}
		if d.bug == bugStringSlice {
			res.Inputs["taints"] = slices.Clone(p.Taints)
		}
		resp.Resources = append(resp.Resources, res)
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: machine {cpu %d, memory %d GiB} → %s", p.Name, p.Machine.CPU, p.Machine.MemoryGiB, machine))
	}
	for _, sc := range r.Spec.StorageClasses {
		dep := cluster
		if d.bug == bugDanglingRef {
			dep = addr("toy_cluster", "missing")
		}
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: addr("toy_storage_class", sc.Name), Type: "toy_storage_class",
			Inputs:    providers.Values{"tier": sc.Tier, "default": sc.Default},
			DependsOn: []string{dep},
			ForceNew:  []string{"tier"},
		})
	}
	switch d.bug {
	case bugExpandNondeterministic:
		d.mu.Lock()
		d.expands++
		resp.Notes = append(resp.Notes, fmt.Sprintf("expanded %d times", d.expands))
		d.mu.Unlock()
	case bugExpandCallsCloud:
		d.cloud.mu.Lock()
		d.cloud.calls++
		d.cloud.mu.Unlock()
	case bugExpandModifiesRegion:
		r.Spec.Zones++
	}
	return resp, nil
}

// toyImmutable are the fields the toy cloud cannot change in place.
var toyImmutable = map[string][]string{
	"toy_network":       {"cidr"},
	"toy_subnet":        {"network_id", "zone"},
	"toy_cluster":       {"name", "subnet_ids"},
	"toy_pool":          {"cluster", "machine", "spot"},
	"toy_storage_class": {"tier"},
}

// call does the bookkeeping every cloud operation shares.
func (d *toyDriver) call(ctx context.Context) error {
	d.cloud.calls++
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("toy: %w", err)
	}
	return nil
}

func (d *toyDriver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	if err := d.call(ctx); err != nil {
		return providers.ReadResponse{}, err
	}
	o, ok := d.cloud.objects[req.Instance.ID]
	if !ok {
		if d.bug == bugReadUnknownPanics && strings.HasPrefix(req.Instance.ID, "drivertest-") {
			var m map[string]*toyObject
			m["x"].typ = "boom"
		}
		return providers.ReadResponse{Exists: false}, nil
	}
	resp := providers.ReadResponse{Exists: true, Inputs: clone(o.inputs), Outputs: clone(o.outputs)}
	if d.bug == bugReadDrift && o.typ == "toy_pool" {
		resp.Inputs["max"] = toInt(resp.Inputs["max"]) + 1
	}
	if d.bug == bugReadOmitsInput && o.typ == "toy_network" {
		delete(resp.Inputs, "tags")
	}
	if d.bug == bugReadNoOutputs {
		resp.Outputs = nil
	}
	return resp, nil
}

func (d *toyDriver) ReadMany(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	out := make([]providers.ReadResponse, len(reqs))
	for i, req := range reqs {
		r, err := d.Read(ctx, req)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func (d *toyDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	if d.bug == bugCancelIgnored {
		d.cloud.calls++
	} else if err := d.call(ctx); err != nil {
		return providers.CreateResponse{}, err
	}
	if d.bug != bugIgnoreKey {
		for id, o := range d.cloud.objects {
			if o.key == req.IdempotencyKey {
				return providers.CreateResponse{ID: id, Outputs: clone(o.outputs)}, nil
			}
		}
	}
	d.cloud.next++
	id := fmt.Sprintf("%s-%04d", req.Type, d.cloud.next)
	o := &toyObject{typ: req.Type, key: req.IdempotencyKey, inputs: clone(req.Inputs), outputs: providers.Values{"id": id}}
	if name, ok := req.Inputs["name"].(string); ok {
		o.outputs["name"] = name
	}
	d.cloud.objects[id] = o
	return providers.CreateResponse{ID: id, Outputs: clone(o.outputs)}, nil
}

func (d *toyDriver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	if err := d.call(ctx); err != nil {
		return providers.UpdateResponse{}, err
	}
	o, ok := d.cloud.objects[req.Instance.ID]
	if !ok {
		return providers.UpdateResponse{}, fmt.Errorf("toy: update %s: %w", req.Instance.ID, providers.ErrNotFound)
	}
	// Like a real cloud, the toy refuses to change immutable fields.
	for _, k := range req.Changed {
		if slices.Contains(toyImmutable[o.typ], k) {
			return providers.UpdateResponse{}, fmt.Errorf("toy: update %s: field %q cannot be changed in place", req.Instance.ID, k)
		}
	}
	if d.bug != bugUpdateIgnored {
		o.inputs = clone(req.Inputs)
	}
	return providers.UpdateResponse{Outputs: clone(o.outputs)}, nil
}

func (d *toyDriver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	if err := d.call(ctx); err != nil {
		return providers.DeleteResponse{}, err
	}
	if _, ok := d.cloud.objects[req.Instance.ID]; !ok && d.bug == bugDeleteMissing {
		return providers.DeleteResponse{}, fmt.Errorf("toy: delete %s: %w", req.Instance.ID, providers.ErrNotFound)
	}
	delete(d.cloud.objects, req.Instance.ID)
	return providers.DeleteResponse{}, nil
}

func (d *toyDriver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	d.cloud.mu.Lock()
	defer d.cloud.mu.Unlock()
	if err := d.call(ctx); err != nil {
		return providers.FindResponse{}, err
	}
	for _, id := range slices.Sorted(maps.Keys(d.cloud.objects)) {
		o := d.cloud.objects[id]
		if o.key == req.IdempotencyKey && o.typ == req.Type {
			return providers.FindResponse{Found: true, ID: id, Outputs: clone(o.outputs)}, nil
		}
	}
	return providers.FindResponse{}, nil
}

// minimal hides the toy's optional interfaces (Finder, Lister, Validator,
// CallCounter), to exercise the suite's skip paths.
type minimal struct{ d *toyDriver }

var _ providers.Driver = minimal{}

func (m minimal) Capabilities() providers.Capabilities { return m.d.Capabilities() }
func (m minimal) Expand(ctx context.Context, r providers.ExpandRequest) (providers.ExpandResponse, error) {
	return m.d.Expand(ctx, r)
}
func (m minimal) Read(ctx context.Context, r providers.ReadRequest) (providers.ReadResponse, error) {
	return m.d.Read(ctx, r)
}
func (m minimal) Create(ctx context.Context, r providers.CreateRequest) (providers.CreateResponse, error) {
	return m.d.Create(ctx, r)
}
func (m minimal) Update(ctx context.Context, r providers.UpdateRequest) (providers.UpdateResponse, error) {
	return m.d.Update(ctx, r)
}
func (m minimal) Delete(ctx context.Context, r providers.DeleteRequest) (providers.DeleteResponse, error) {
	return m.d.Delete(ctx, r)
}

func clone(v providers.Values) providers.Values {
	if v == nil {
		return nil
	}
	return deepCopy(map[string]any(v)).(map[string]any)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case providers.Values:
		return deepCopy(map[string]any(t))
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

func toyRegion() *spec.Region {
	return &spec.Region{
		APIVersion: spec.APIVersion,
		Kind:       spec.KindRegion,
		Metadata:   spec.Metadata{Name: "test-west"},
		Spec: spec.RegionSpec{
			Provider: "toy",
			Location: "toy-west1",
			Zones:    2,
			Network:  spec.Network{CIDR: "10.20.0.0/16"},
			Cluster: spec.Cluster{
				KubernetesVersion: "1.33",
				EndpointAccess:    spec.EndpointPublic,
				NodePools: []spec.NodePool{
					{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 4}, Min: 1, Max: 3,
						Labels: map[string]string{"role": "system"}, Taints: []string{"dedicated=system:NoSchedule"}},
					{Name: "apps", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 2, Max: 10},
				},
			},
			StorageClasses: []spec.StorageClass{{Name: "fast", Tier: spec.TierSSD, Default: true}},
		},
	}
}

// toyConfig scales a pool in place, and replaces a pool (create before
// destroy) and a storage class (delete then create).
func toyConfig(d providers.Driver, cloud *toyCloud) drivertest.Config {
	return drivertest.Config{
		Driver: d,
		Region: toyRegion(),
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Max = 5
			c.Spec.Cluster.NodePools[1].Labels = map[string]string{"team": "web"}
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Machine.CPU = 4
			c.Spec.StorageClasses[0].Tier = spec.TierStandard
			return c
		},
		Inventory: cloud.ids,
		Healthy:   true,
	}
}

// TestToyDriver runs the suite for real against the correct toy driver.
func TestToyDriver(t *testing.T) {
	d := newToy(noBug)
	drivertest.Run(t, toyConfig(d, d.cloud))
	if ids, _ := d.cloud.ids(context.Background()); len(ids) != 0 {
		t.Errorf("the suite left objects in the cloud: %v", ids)
	}
}

// recorder is a drivertest.T that records instead of failing, so a test
// can assert that the suite reports a broken driver.
type recorder struct {
	name string
	log  *record
	mu   sync.Mutex
	fail bool
}

type record struct {
	mu      sync.Mutex
	failed  map[string]bool
	skipped map[string]bool
	lines   []string
}

var _ drivertest.T[*recorder] = (*recorder)(nil)

func newRecorder() *recorder {
	return &recorder{log: &record{failed: map[string]bool{}, skipped: map[string]bool{}}}
}

func (r *recorder) Helper() {}

func (r *recorder) line(kind, format string, args []any) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	r.log.lines = append(r.log.lines, fmt.Sprintf("%s %s: %s", kind, r.name, fmt.Sprintf(format, args...)))
}

func (r *recorder) Errorf(format string, args ...any) {
	r.line("FAIL", format, args)
	r.markFailed()
}

func (r *recorder) markFailed() {
	r.mu.Lock()
	r.fail = true
	r.mu.Unlock()
	r.log.mu.Lock()
	r.log.failed[r.name] = true
	r.log.mu.Unlock()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Logf(format string, args ...any) { r.line("LOG ", format, args) }

func (r *recorder) Skipf(format string, args ...any) {
	r.line("SKIP", format, args)
	r.log.mu.Lock()
	r.log.skipped[r.name] = true
	r.log.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fail
}

func (r *recorder) Run(name string, f func(*recorder)) bool {
	c := &recorder{name: strings.TrimPrefix(r.name+"/"+name, "/"), log: r.log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(c)
	}()
	<-done
	if c.Failed() {
		r.markFailed()
	}
	return !c.Failed()
}

func (r *record) names(m map[string]bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(m))
}

func (r *record) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// TestSuiteCatchesBrokenDrivers proves the suite can fail: each broken
// variant must fail the subtests named, and the correct drivers none.
func TestSuiteCatchesBrokenDrivers(t *testing.T) {
	tests := []struct {
		name        string
		bug         bug
		minimal     bool
		cfg         func(*drivertest.Config)
		wantFailed  []string // subtests that must fail
		wantSkipped []string // exactly these are skipped (nil: none)
	}{
		{name: "correct toy", bug: noBug},
		{
			name: "correct toy without optional interfaces", bug: noBug, minimal: true,
			cfg:         func(c *drivertest.Config) { c.Inventory = nil },
			wantSkipped: []string{"Expand/NoCloudCalls", "Idempotency/FindUnknownKey", "Identity", "Lifecycle/CheckUpdate", "Lifecycle/Health", "Lifecycle/ImportID", "Lifecycle/ReadMany", "Validate"},
		},
		{name: "Read drifts an input", bug: bugReadDrift, wantFailed: []string{"Lifecycle/ReadMatchesDesired"}},
		{name: "Read leaves out an input", bug: bugReadOmitsInput, wantFailed: []string{"Lifecycle/ReadMatchesDesired"}},
		{name: "Read reports no outputs", bug: bugReadNoOutputs, wantFailed: []string{"Lifecycle/ReadMatchesDesired"}},
		{name: "Create ignores the idempotency key", bug: bugIgnoreKey, wantFailed: []string{"Idempotency/CreateTwice"}},
		{
			name: "Create ignores the key, no Finder or Inventory", bug: bugIgnoreKey, minimal: true,
			cfg:        func(c *drivertest.Config) { c.Inventory = nil },
			wantFailed: []string{"Idempotency/CreateTwice"},
		},
		{name: "Delete errors on missing", bug: bugDeleteMissing, wantFailed: []string{"Lifecycle/DeleteDeleted"}},
		{name: "Expand is not deterministic", bug: bugExpandNondeterministic, wantFailed: []string{"Expand/Deterministic"}},
		{name: "Expand calls the cloud", bug: bugExpandCallsCloud, wantFailed: []string{"Expand/NoCloudCalls"}},
		{name: "Expand modifies the region", bug: bugExpandModifiesRegion, wantFailed: []string{"Expand/DoesNotModifyRegion"}},
		{name: "dangling DependsOn", bug: bugDanglingRef, wantFailed: []string{"Expand/References"}},
		{name: "ForceNew misses the machine", bug: bugMissingForceNew, wantFailed: []string{"Lifecycle/Replace"}},
		{name: "Update changes nothing", bug: bugUpdateIgnored, wantFailed: []string{"Lifecycle/UpdateInPlace"}},
		{name: "Create ignores a cancelled context", bug: bugCancelIgnored, wantFailed: []string{"Cancellation"}},
		{name: "Read of an unknown ID panics", bug: bugReadUnknownPanics, wantFailed: []string{"Lifecycle/ReadUnknownID"}},
		{name: "bad capabilities", bug: bugBadCapabilities, wantFailed: []string{"Capabilities"}},
		{name: "inputs hold a []string", bug: bugStringSlice, wantFailed: []string{"Expand/JSONValues"}},
		{name: "Identity names another account each time", bug: bugIdentityChanges, wantFailed: []string{"Identity"}},
		{name: "ImportID rewrites recorded IDs", bug: bugImportRewritesIDs, wantFailed: []string{"Lifecycle/ImportID"}},
		{name: "Element names no part of the region", bug: bugElementUnknown, wantFailed: []string{"Expand/Elements"}},
		{name: "CheckUpdate refuses the suite's update", bug: bugUpdateCheckRefuses, wantFailed: []string{"Lifecycle/CheckUpdate"}},
		{name: "CheckUpdate calls the cloud", bug: bugUpdateCheckCallsCloud, wantFailed: []string{"Lifecycle/CheckUpdate"}},
		{name: "CheckHealth reports the created region down", bug: bugUnhealthy, wantFailed: []string{"Lifecycle/Health"}},
		{
			name: "Replace forces nothing", bug: noBug,
			cfg: func(c *drivertest.Config) {
				c.Replace = func(r *spec.Region) *spec.Region {
					n := drivertest.CloneRegion(r)
					n.Spec.Cluster.NodePools[0].Min = 2
					return n
				}
			},
			wantFailed: []string{"Lifecycle/Replace"},
		},
		{
			name: "UpdateInPlace modifies its argument", bug: noBug,
			cfg: func(c *drivertest.Config) {
				c.UpdateInPlace = func(r *spec.Region) *spec.Region {
					r.Spec.Cluster.NodePools[0].Max = 9
					return r
				}
			},
			wantFailed: []string{"Expand", "Lifecycle"},
		},
		{
			name: "region the driver cannot serve", bug: noBug,
			cfg:        func(c *drivertest.Config) { c.Region.Spec.Location = "mars-1" },
			wantFailed: []string{"Capabilities"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toy := newToy(tt.bug)
			var d providers.Driver = toy
			if tt.minimal {
				d = minimal{toy}
			}
			cfg := toyConfig(d, toy.cloud)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			rec := newRecorder()
			drivertest.Run(rec, cfg)

			failed := rec.log.names(rec.log.failed)
			for _, want := range tt.wantFailed {
				if !rec.log.failed[want] {
					t.Errorf("subtest %s passed; want it to fail. Failed: %v\n%s", want, failed, rec.log)
				}
			}
			if len(tt.wantFailed) == 0 && len(failed) > 0 {
				t.Errorf("suite failed %v; want no failure\n%s", failed, rec.log)
			}
			if len(tt.wantFailed) == 0 {
				if skipped := rec.log.names(rec.log.skipped); !slices.Equal(skipped, tt.wantSkipped) {
					t.Errorf("skipped %v; want %v\n%s", skipped, tt.wantSkipped, rec.log)
				}
			}
			// Whatever failed, the suite must clean up after itself.
			if ids, _ := toy.cloud.ids(context.Background()); len(ids) != 0 {
				t.Errorf("the suite left objects in the cloud: %v\n%s", ids, rec.log)
			}
		})
	}
}

func TestCloneRegionIsDeep(t *testing.T) {
	r := toyRegion()
	c := drivertest.CloneRegion(r)
	c.Spec.Cluster.NodePools[0].Labels["role"] = "changed"
	c.Spec.Cluster.NodePools[0].Taints[0] = "changed"
	c.Spec.StorageClasses[0].Tier = "changed"
	if r.Spec.Cluster.NodePools[0].Labels["role"] != "system" || r.Spec.Cluster.NodePools[0].Taints[0] == "changed" || r.Spec.StorageClasses[0].Tier == "changed" {
		t.Errorf("CloneRegion shares memory with its argument")
	}
	if drivertest.CloneRegion(nil) != nil {
		t.Errorf("CloneRegion(nil) != nil")
	}
}
