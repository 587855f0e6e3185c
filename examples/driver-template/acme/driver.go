// Package acme is a regionctl driver for the Acme cloud: it maps a region
// onto an Acme network, a Kubernetes cluster and its node pools. It is the
// template of docs/drivers.md: copy it, rename acme, and replace package
// api with your cloud's SDK.
package acme

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"example.com/regionctl-driver-acme/acme/api"
	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/spec"
)

// Name is the driver's name: what a region's spec.provider says.
const Name = "acme"

// Driver is the Acme driver. The embedded kit.Router does Create, Read,
// Update, Delete, Find and UpgradeState for the declared types.
type Driver struct {
	*kit.Router
	api *api.Client
}

var (
	_ providers.Driver        = (*Driver)(nil)
	_ providers.Finder        = (*Driver)(nil)
	_ providers.Validator     = (*Driver)(nil)
	_ providers.Kinder        = (*Driver)(nil)
	_ providers.UpdateChecker = (*Driver)(nil)
	_ providers.HealthChecker = (*Driver)(nil)
)

// kinds says which types are the region's cluster and node pools, so
// `regionctl output` can summarize a region from its state.
var kinds = providers.Kinds{"acme_cluster": providers.KindCluster, "acme_node_pool": providers.KindNodePool}

// Kind implements providers.Kinder.
func (d *Driver) Kind(resourceType string) providers.Kind { return kinds[resourceType] }

// New builds the driver (a providers.Factory). It makes no API call. In
// sandbox mode it talks only to the emulator regionctl started for it, at
// a loopback http:// endpoint, and refuses anything else.
func New(_ context.Context, opts providers.Options) (providers.Driver, error) {
	endpoint := os.Getenv("ACME_API_URL") // the real cloud, in a real driver your SDK's default
	if endpoint == "" {
		endpoint = "https://api.acme.example"
	}
	if opts.Sandbox {
		endpoint = opts.SandboxEndpoints["acme"]
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
			return nil, fmt.Errorf("acme: sandbox endpoint %q is not the emulator on 127.0.0.1: refusing", endpoint)
		}
	}
	// Every request waits for a token of its budget (pacing.go).
	paced := budget.New(opts.RateBudgets.Tables(map[string]budget.Table{Name: budgets}), budget.ClientMargin)
	client := &api.Client{BaseURL: endpoint, HTTP: &http.Client{Timeout: time.Minute,
		Transport: budget.Transport{Budgets: paced, Key: bucketOf}}}
	r, err := kit.New(kit.Options{Name: Name, Classify: classify}, types(client)...)
	if err != nil {
		return nil, err
	}
	return &Driver{Router: r, api: client}, nil
}

// Capabilities is what Acme offers; regionctl checks a spec against it
// before any API call.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Name:               Name,
		Description:        "Acme cloud (template driver: network, cluster, node pools)",
		KubernetesVersions: []string{"1.32", "1.33", "1.34"},
		Machines: []providers.MachineType{
			{Name: "acme.small", CPU: 2, MemoryGiB: 4, Arch: "amd64", Family: "general"},
			{Name: "acme.medium", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
			{Name: "acme.large", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
			{Name: "acme.xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
		},
		Locations: map[string]int{"acme-east": 3, "acme-west": 3},
		// The driver paces its calls itself (pacing.go): regionctl puts no
		// cap of its own on it, and accepts overrides of these budgets.
		RateBudgeted: true,
		RateBudgets:  budgets,
		Resources:    d.Schemas(),
	}
}

// Validate refuses what this driver does not map yet, at the field that
// asks for it (regionctl adds the file and line).
func (d *Driver) Validate(_ context.Context, r *spec.Region) diag.Diagnostics {
	var ds diag.Diagnostics
	if len(r.Spec.StorageClasses) > 0 {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: "spec.storageClasses",
			Summary: "the acme driver does not map storage classes yet", Fix: "remove spec.storageClasses"})
	}
	if len(r.Spec.LoadBalancers) > 0 {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: "spec.loadBalancers",
			Summary: "the acme driver does not map load balancers yet", Fix: "remove spec.loadBalancers"})
	}
	if _, ok := r.Spec.Overrides[Name]; ok {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Path: "spec.overrides." + Name, Summary: "the acme driver takes no overrides"})
	}
	return ds
}

// Expand maps a region onto Acme: a network, a cluster in it, and one node
// pool per spec pool. It is pure: no API call, the same region gives the
// same resources.
func (d *Driver) Expand(_ context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	addr := func(typ, name string) string { return providers.Address(r.Metadata.Name, typ, name) }
	network, cluster := addr("acme_network", "main"), addr("acme_cluster", "main")
	resp := providers.ExpandResponse{Resources: []providers.Resource{
		{Address: network, Type: "acme_network",
			Inputs: providers.Values{"name": r.Metadata.Name, "cidr": r.Spec.Network.CIDR}},
		{Address: cluster, Type: "acme_cluster", Stateful: true,
			Inputs: providers.Values{"name": r.Metadata.Name, "network_id": providers.Ref(network, "id"),
				"version": r.Spec.Cluster.KubernetesVersion}},
	}}
	machines := d.Capabilities().Machines
	for _, p := range r.Spec.Cluster.NodePools {
		m, err := providers.PickMachine(machines, p.Machine)
		if err != nil {
			return providers.ExpandResponse{}, fmt.Errorf("node pool %s: %w", p.Name, err)
		}
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: addr("acme_node_pool", p.Name), Type: "acme_node_pool",
			Inputs: providers.Values{"name": p.Name, "cluster_id": providers.Ref(cluster, "id"),
				"size": m.Name, "min": p.Min, "max": p.Max},
		})
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: machine {cpu %d, memory %d GiB} → %s",
			p.Name, p.Machine.CPU, p.Machine.MemoryGiB, m.Name))
	}
	return resp, d.Finish(resp.Resources) // ForceNew from the schema, inputs checked against it
}
