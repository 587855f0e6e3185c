// Package digitalocean is a regionctl driver for DigitalOcean, built on the
// official SDK (github.com/digitalocean/godo): a region becomes a VPC, a
// DigitalOcean Kubernetes (DOKS) cluster with its node pools, and, inside
// the cluster, StorageClasses on DigitalOcean block storage
// (dobs.csi.digitalocean.com) and LoadBalancer Services annotated for
// DigitalOcean's cloud controller. See docs/providers/digitalocean.md.
package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/plugins/digitalocean/catalog"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// Name is the driver's name: what a region's spec.provider says.
const Name = "digitalocean"

// SandboxService is the key of the emulator's API in
// Options.SandboxEndpoints.
const SandboxService = "digitalocean"

// Resource types.
const (
	TypeVPC      = "do_vpc"
	TypeCluster  = "do_kubernetes_cluster"
	TypeNodePool = "do_kubernetes_node_pool"
)

// Environment variables the token is read from, in order (doctl's, then
// Terraform's).
var tokenEnv = []string{"DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN"}

// sandboxToken is the API token used against the emulator: never the
// user's real token.
const sandboxToken = "regionctl-sandbox"

// Driver is the DigitalOcean driver. The embedded kit.Router does Create,
// Read, Update, Delete, Find and UpgradeState for the declared types.
type Driver struct {
	*kit.Router
	api     *godo.Client
	sandbox bool
}

var (
	_ providers.Driver     = (*Driver)(nil)
	_ providers.Finder     = (*Driver)(nil)
	_ providers.Validator  = (*Driver)(nil)
	_ kubernetes.Access    = (*Driver)(nil)
	_ providers.Identifier = (*Driver)(nil)
	_ providers.Kinder     = (*Driver)(nil)
)

// kinds: the cluster resource (which holds the first node pool) and the
// further node pools.
var kinds = providers.Kinds{TypeCluster: providers.KindCluster, TypeNodePool: providers.KindNodePool}

// Kind implements providers.Kinder.
func (d *Driver) Kind(resourceType string) providers.Kind { return kinds[resourceType] }

// Identity names the DigitalOcean team (or, for a personal account, the
// account) the token acts in, and who it acts as (GET /v2/account).
func (d *Driver) Identity(ctx context.Context, _ providers.IdentityRequest) (providers.IdentityResponse, error) {
	a, _, err := d.api.Account.Get(ctx)
	if err != nil {
		return providers.IdentityResponse{}, fmt.Errorf("digitalocean: read the account the token acts in: %w", err)
	}
	id := providers.Identity{Kind: "DigitalOcean account", ID: a.UUID, Principal: a.Email}
	if a.Team != nil && a.Team.UUID != "" {
		id.Kind, id.ID = "DigitalOcean team", a.Team.UUID
	}
	return providers.IdentityResponse{Identity: id}, nil
}

// New builds the driver (a providers.Factory). It makes no API call: a
// missing token is reported by the first call that needs it. In sandbox
// mode it talks only to the emulator regionctl started for it, at a
// loopback http:// endpoint, with a sandbox token, and its HTTP client
// refuses every other host: a sandbox run never reaches DigitalOcean.
func New(_ context.Context, opts providers.Options) (providers.Driver, error) {
	base, token := "https://api.digitalocean.com/", ""
	for _, k := range tokenEnv {
		if token = os.Getenv(k); token != "" {
			break
		}
	}
	if opts.Sandbox {
		base = opts.SandboxEndpoints[SandboxService]
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
			return nil, fmt.Errorf("digitalocean: sandbox endpoint %q is not the emulator on 127.0.0.1: refusing", base)
		}
		token = sandboxToken
	}
	rt, err := newTransport(base, token, opts.Sandbox)
	if err != nil {
		return nil, err
	}
	paced := budget.New(opts.RateBudgets.Tables(map[string]budget.Table{Name: budgets}), budget.ClientMargin)
	client, err := godo.New(&http.Client{Transport: budget.Transport{Budgets: paced, Key: bucketOf, Base: rt}, Timeout: time.Minute},
		godo.SetBaseURL(base), godo.SetUserAgent("regionctl-driver-digitalocean"))
	if err != nil {
		return nil, fmt.Errorf("digitalocean: %w", err)
	}
	d := &Driver{api: client, sandbox: opts.Sandbox}
	kh := d.kubeHandler(opts.ForceConflicts)
	d.Router, err = kit.New(kit.Options{Name: Name, Classify: classify}, append(d.types(), kh.Types()...)...)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// budgets is the API's rate limit, one budget per token: 5,000 requests an
// hour and 250 a minute, as one token bucket that keeps to both — refilled
// at 1.25/s (4,500 an hour) with a burst of 150 (at most 150 + 75 = 225 in
// any minute). Override it with --rate-budget digitalocean:api=RATE/s,BURST.
var budgets = budget.Table{"api": {Burst: 150, Rate: 1.25}}

// bucketOf is the budget every request draws from: the token's.
func bucketOf(*http.Request) budget.Key { return budget.Key{Cloud: Name, Bucket: "api"} }

// transport adds the bearer token and, in sandbox mode, refuses any host
// but the emulator's.
type transport struct {
	token string
	host  string // the only host allowed; "" for any
	next  http.RoundTripper
}

func newTransport(base, token string, sandbox bool) (*transport, error) {
	t := &transport{token: token, next: http.DefaultTransport}
	if sandbox {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		t.host = u.Host
		t.next = &http.Transport{Proxy: nil} // no proxy: straight to 127.0.0.1
	}
	return t, nil
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.host != "" && req.URL.Host != t.host {
		return nil, fmt.Errorf("digitalocean: sandbox: refusing a request to %s (only the emulator at %s)", req.URL.Host, t.host)
	}
	if t.token == "" {
		return nil, fmt.Errorf("digitalocean: no API token: set %s (or run with --sandbox)", strings.Join(tokenEnv, " or "))
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// Capabilities is what DOKS offers; regionctl checks a spec against it
// before any API call. Every DigitalOcean region is a single zone.
func (d *Driver) Capabilities() providers.Capabilities {
	c := providers.Capabilities{
		Name:                Name,
		Description:         "DigitalOcean: VPC, DOKS cluster and node pools, block storage, load balancers (plugin, godo)",
		StorageTiers:        []string{spec.TierStandard, spec.TierSSD},
		LoadBalancerSchemes: []string{spec.SchemeExternal, spec.SchemeInternal},
		Locations:           map[string]int{},
		// Every request is paced by the token's budget (budgets): no cap
		// of the engine's own is needed, and users may override it.
		RateBudgeted: true,
		RateBudgets:  budgets,
		Resources:    d.Schemas(),
	}
	for _, v := range catalog.Versions {
		c.KubernetesVersions = append(c.KubernetesVersions, catalog.Minor(v.Kubernetes))
	}
	slices.Sort(c.KubernetesVersions)
	for _, s := range catalog.Sizes {
		c.Machines = append(c.Machines, providers.MachineType{Name: s.Slug, CPU: s.CPU, MemoryGiB: float64(s.MemoryGiB), Arch: spec.ArchAMD64, Family: s.Family})
	}
	for _, r := range catalog.Regions {
		c.Locations[r.Slug] = 1
	}
	return c
}

// Validate refuses what DigitalOcean cannot do, at the field that asks
// for it (regionctl adds the file and line).
func (d *Driver) Validate(_ context.Context, r *spec.Region) diag.Diagnostics {
	var ds diag.Diagnostics
	for i, p := range r.Spec.Cluster.NodePools {
		if p.Spot {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: fmt.Sprintf("spec.cluster.nodePools[%d].spot", i),
				Summary: fmt.Sprintf("node pool %s: DigitalOcean has no spot or preemptible droplets", p.Name),
				Fix:     "remove spot: true (DOKS node pools are always on-demand droplets)"})
		}
	}
	if r.Spec.Network.SingleNATGateway {
		ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Path: "spec.network.singleNatGateway",
			Summary: "DOKS nodes have public addresses; the driver makes no NAT gateway, so singleNatGateway has no effect"})
	}
	if r.Spec.Cluster.EndpointAccess == spec.EndpointPrivate {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: "spec.cluster.endpointAccess",
			Summary: "a DOKS control plane always has a public endpoint (restrict it with DigitalOcean's control plane firewall)",
			Fix:     "use endpointAccess: public or both"})
	}
	if len(r.Spec.Cluster.NodePools) == 0 {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: "spec.cluster.nodePools",
			Summary: "a DOKS cluster needs at least one node pool", Fix: "add a node pool"})
	}
	if _, ok := r.Spec.Overrides[Name]; ok {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: "spec.overrides." + Name, Summary: "the digitalocean driver takes no overrides"})
	}
	return ds
}

// Expand maps a region onto DigitalOcean: a VPC, a DOKS cluster in it whose
// first node pool is the spec's first pool (DOKS makes no cluster without
// one), one node pool resource per further pool, then the StorageClasses
// and LoadBalancer Services inside the cluster. It is pure.
func (d *Driver) Expand(_ context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	if len(r.Spec.Cluster.NodePools) == 0 {
		return providers.ExpandResponse{}, errors.New("a DOKS cluster needs at least one node pool")
	}
	name := r.Metadata.Name
	addr := func(typ, n string) string { return providers.Address(name, typ, n) }
	vpcAddr, clusterAddr := addr(TypeVPC, "main"), addr(TypeCluster, "main")
	var resp providers.ExpandResponse
	machines := d.Capabilities().Machines
	pools := make([]poolIn, len(r.Spec.Cluster.NodePools))
	for i, p := range r.Spec.Cluster.NodePools {
		m, err := providers.PickMachine(machines, p.Machine)
		if err != nil {
			return providers.ExpandResponse{}, fmt.Errorf("node pool %s: %w", p.Name, err)
		}
		pools[i] = poolIn{Name: p.Name, Size: m.Name, Min: p.Min, Max: p.Max, Labels: p.Labels, Taints: p.Taints}
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: machine {cpu %d, memory %d GiB} → droplet size %s",
			p.Name, p.Machine.CPU, p.Machine.MemoryGiB, m.Name))
	}
	resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s is the cluster's first pool: DOKS creates it with the cluster, and a change of its machine replaces the cluster", pools[0].Name))
	first := pools[0]
	resp.Resources = []providers.Resource{
		{Address: vpcAddr, Type: TypeVPC, Inputs: providers.Values{"name": name, "region": r.Spec.Location, "ip_range": r.Spec.Network.CIDR}},
		{Address: clusterAddr, Type: TypeCluster, Stateful: true, Inputs: providers.Values{
			"name": name, "region": r.Spec.Location, "vpc_uuid": providers.Ref(vpcAddr, "id"),
			"version":   r.Spec.Cluster.KubernetesVersion,
			"pool_name": first.Name, "pool_size": first.Size, "pool_min": first.Min, "pool_max": first.Max,
			"pool_labels": anyMap(first.Labels), "pool_taints": kit.List(first.Taints)}},
	}
	poolAddrs := []string{clusterAddr}
	for _, p := range pools[1:] {
		a := addr(TypeNodePool, p.Name)
		poolAddrs = append(poolAddrs, a)
		resp.Resources = append(resp.Resources, providers.Resource{Address: a, Type: TypeNodePool, Inputs: providers.Values{
			"cluster_id": providers.Ref(clusterAddr, "id"), "name": p.Name, "size": p.Size,
			"min": p.Min, "max": p.Max, "labels": anyMap(p.Labels), "taints": kit.List(p.Taints)}})
	}
	resp.Resources = append(resp.Resources, expandInCluster(r, clusterAddr, poolAddrs)...)
	return resp, d.Finish(resp.Resources)
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
