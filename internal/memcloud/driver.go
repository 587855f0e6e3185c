package memcloud

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// Resource types of the mem driver.
const (
	TypeNetwork      = "mem_network"
	TypeSubnet       = "mem_subnet"
	TypeNAT          = "mem_nat"
	TypeRouter       = "mem_router"
	TypeCluster      = "mem_cluster"
	TypeNodePool     = "mem_node_pool"
	TypeStorageClass = "mem_storage_class"
	TypeAddress      = "mem_address"
	TypeLoadBalancer = "mem_load_balancer"
)

// Driver is a providers.Driver for a Cloud, with Finder and Lister.
type Driver struct {
	Cloud *Cloud
	// MaxParallel is reported in Capabilities (0: no cap).
	MaxParallel int
	// RateBudgeted is reported in Capabilities: the driver claims to pace
	// its own calls, so the engine puts no default cap on it.
	RateBudgeted bool
}

var (
	_ providers.Driver    = (*Driver)(nil)
	_ providers.Finder    = (*Driver)(nil)
	_ providers.Lister    = (*Driver)(nil)
	_ providers.Validator = (*Driver)(nil)
)

// NewDriver returns a driver for c.
func NewDriver(c *Cloud) *Driver { return &Driver{Cloud: c} }

var machines = []providers.MachineType{
	{Name: "mem.small", CPU: 2, MemoryGiB: 4, Arch: "amd64", Family: "general"},
	{Name: "mem.medium", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
	{Name: "mem.large", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "mem.xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	{Name: "mem.2xlarge", CPU: 16, MemoryGiB: 64, Arch: "amd64", Family: "general"},
	{Name: "mem.arm.large", CPU: 4, MemoryGiB: 16, Arch: "arm64", Family: "general"},
	{Name: "mem.arm.xlarge", CPU: 8, MemoryGiB: 32, Arch: "arm64", Family: "general"},
	{Name: "mem.cpu.xlarge", CPU: 8, MemoryGiB: 16, Arch: "amd64", Family: "compute"},
	{Name: "mem.gpu.xlarge", CPU: 8, MemoryGiB: 64, Arch: "amd64", GPU: 1, Family: "gpu"},
}

// Capabilities describes the fake cloud.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Name:                "mem",
		Description:         "in-memory fake cloud for tests (not a real provider)",
		KubernetesVersions:  []string{"1.31", "1.32", "1.33", "1.34"},
		Machines:            slices.Clone(machines),
		StorageTiers:        []string{spec.TierStandard, spec.TierSSD},
		LoadBalancerSchemes: []string{spec.SchemeExternal, spec.SchemeInternal},
		Locations:           map[string]int{"mem-east-1": 3, "mem-west-1": 3, "mem-central-1": 2},
		MaxParallel:         d.MaxParallel,
		RateBudgeted:        d.RateBudgeted,
	}
}

// Validate checks the mem driver's entry in spec.overrides is absent: the
// fake cloud takes no overrides.
func (d *Driver) Validate(ctx context.Context, r *spec.Region) diag.Diagnostics {
	var ds diag.Diagnostics
	if _, ok := r.Spec.Overrides["mem"]; ok {
		ds = ds.Errorf(r.Pos("spec.overrides.mem"), "spec.overrides.mem", "the mem driver takes no overrides")
	}
	return ds
}

// Expand translates a region into: network → one subnet per zone → NAT per
// zone (or one) and a router → cluster → node pools, storage classes, and
// per external load balancer an address and the load balancer.
func (d *Driver) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	if r == nil {
		return providers.ExpandResponse{}, errors.New("mem: expand: no region")
	}
	name := r.Metadata.Name
	addr := func(typ, n string) string { return providers.Address(name, typ, n) }
	var resp providers.ExpandResponse
	zones := r.Spec.Zones
	if zones <= 0 {
		zones = 1
	}

	netAddr := addr(TypeNetwork, "main")
	resp.Resources = append(resp.Resources, providers.Resource{
		Address: netAddr, Type: TypeNetwork, Element: spec.ElementNetwork,
		Inputs:   providers.Values{"name": name, "cidr": r.Spec.Network.CIDR, "location": r.Spec.Location},
		ForceNew: []string{"cidr", "location", "name"},
	})
	subnetCIDRs, err := splitCIDR(r.Spec.Network.CIDR, zones)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.network.cidr"), "spec.network.cidr", "%v", err)
		return resp, nil
	}
	var subnetIDs []any
	var subnetAddrs []string
	for z := range zones {
		zone := r.Spec.Location + string(rune('a'+z))
		sa := addr(TypeSubnet, "zone-"+string(rune('a'+z)))
		subnetAddrs = append(subnetAddrs, sa)
		subnetIDs = append(subnetIDs, providers.Ref(sa, "id"))
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: sa, Type: TypeSubnet,
			Inputs:   providers.Values{"network_id": providers.Ref(netAddr, "id"), "cidr": subnetCIDRs[z], "zone": zone},
			ForceNew: []string{"network_id", "cidr", "zone"},
		})
	}
	nats := zones
	if r.Spec.Network.SingleNATGateway {
		nats = 1
	}
	for z := range nats {
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: addr(TypeNAT, "zone-"+string(rune('a'+z))), Type: TypeNAT,
			Inputs:   providers.Values{"subnet_id": providers.Ref(subnetAddrs[z], "id")},
			ForceNew: []string{"subnet_id"},
		})
	}
	routerAddr := addr(TypeRouter, "main")
	resp.Resources = append(resp.Resources, providers.Resource{
		Address: routerAddr, Type: TypeRouter,
		Inputs:   providers.Values{"network_id": providers.Ref(netAddr, "id"), "nat_count": nats},
		ForceNew: []string{"network_id"},
	})
	for z := range nats {
		i := len(resp.Resources) - 1
		resp.Resources[i].DependsOn = append(resp.Resources[i].DependsOn, addr(TypeNAT, "zone-"+string(rune('a'+z))))
	}

	endpoint := r.Spec.Cluster.EndpointAccess
	if endpoint == "" {
		endpoint = spec.EndpointPublic
	}
	clusterAddr := addr(TypeCluster, "main")
	resp.Resources = append(resp.Resources, providers.Resource{
		Address: clusterAddr, Type: TypeCluster, Element: spec.ElementCluster,
		Inputs: providers.Values{
			"name": name, "version": r.Spec.Cluster.KubernetesVersion,
			"endpoint_access": endpoint, "subnet_ids": subnetIDs,
		},
		DependsOn: []string{routerAddr},
		ForceNew:  []string{"name", "subnet_ids"},
		Stateful:  true,
	})
	for i, p := range r.Spec.Cluster.NodePools {
		mt, err := providers.PickMachine(machines, p.Machine)
		if err != nil {
			path := fmt.Sprintf("spec.cluster.nodePools[%d].machine", i)
			resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(path), path, "node pool %q: %v", p.Name, err)
			continue
		}
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: machine {cpu %d, memory %d GiB} → %s", p.Name, p.Machine.CPU, p.Machine.MemoryGiB, mt.Name))
		labels := map[string]any{}
		for k, v := range p.Labels {
			labels[k] = v
		}
		taints := []any{}
		for _, t := range p.Taints {
			taints = append(taints, t)
		}
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: addr(TypeNodePool, p.Name), Type: TypeNodePool, Element: spec.NodePoolElement(p.Name),
			Inputs: providers.Values{
				"cluster_id": providers.Ref(clusterAddr, "id"), "name": p.Name,
				"machine_type": mt.Name, "spot": p.Spot, "min": p.Min, "max": p.Max,
				"labels": labels, "taints": taints, "subnet_ids": subnetIDs,
			},
			ForceNew:            []string{"cluster_id", "machine_type", "spot", "subnet_ids"},
			CreateBeforeDestroy: true,
		})
	}
	for _, sc := range r.Spec.StorageClasses {
		disk := "mem-hdd"
		if sc.Tier == spec.TierSSD {
			disk = "mem-ssd"
		}
		reclaim := sc.ReclaimPolicy
		if reclaim == "" {
			reclaim = "Delete"
		}
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: addr(TypeStorageClass, sc.Name), Type: TypeStorageClass, Element: spec.StorageClassElement(sc.Name),
			Inputs: providers.Values{
				"cluster_id": providers.Ref(clusterAddr, "id"), "name": sc.Name, "disk_type": disk,
				"default": sc.Default, "reclaim_policy": reclaim, "expandable": sc.Expandable,
			},
			ForceNew: []string{"cluster_id", "name", "disk_type", "reclaim_policy", "expandable"},
		})
	}
	for _, lb := range r.Spec.LoadBalancers {
		ports := []any{}
		for _, p := range lb.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = "TCP"
			}
			target := p.TargetPort
			if target == 0 {
				target = p.Port
			}
			ports = append(ports, map[string]any{"port": p.Port, "target_port": target, "protocol": proto})
		}
		selector := map[string]any{}
		for k, v := range lb.Selector {
			selector[k] = v
		}
		in := providers.Values{
			"cluster_id": providers.Ref(clusterAddr, "id"), "name": lb.Name, "scheme": lb.Scheme,
			"ports": ports, "selector": selector,
		}
		if lb.Scheme == spec.SchemeExternal {
			aa := addr(TypeAddress, lb.Name)
			resp.Resources = append(resp.Resources, providers.Resource{
				Address: aa, Type: TypeAddress, Element: spec.LoadBalancerAddressElement(lb.Name),
				Inputs:   providers.Values{"name": name + "-" + lb.Name, "location": r.Spec.Location},
				ForceNew: []string{"name", "location"},
				Stateful: true,
			})
			in["address_ip"] = providers.Ref(aa, "ip")
		}
		resp.Resources = append(resp.Resources, providers.Resource{
			Address: addr(TypeLoadBalancer, lb.Name), Type: TypeLoadBalancer, Element: spec.LoadBalancerElement(lb.Name),
			Inputs:   in,
			ForceNew: []string{"cluster_id", "name", "scheme", "address_ip"},
		})
	}
	return resp, nil
}

// splitCIDR carves n equal subnets out of cidr (the next power of two).
func splitCIDR(cidr string, n int) ([]string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("network CIDR %q is not an IPv4 prefix", cidr)
	}
	p = p.Masked()
	extra := 0
	for 1<<extra < n {
		extra++
	}
	bits := p.Bits() + extra
	if bits > 28 {
		return nil, fmt.Errorf("network CIDR %s is too small for %d zones", cidr, n)
	}
	base := p.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - bits)
	out := make([]string, n)
	for i := range n {
		a := start + uint32(i)*size
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits).String()
	}
	return out, nil
}

// outputsFor returns what the cloud reports for a new object.
func outputsFor(typ, id string, in map[string]any) map[string]any {
	out := map[string]any{"id": id}
	switch typ {
	case TypeCluster:
		out["endpoint"] = "https://" + id + ".k8s.mem.test"
	case TypeAddress:
		n := 0
		for _, c := range id {
			if c >= '0' && c <= '9' {
				n = n*10 + int(c-'0')
			}
		}
		out["ip"] = fmt.Sprintf("203.0.%d.%d", (n/250)%250, n%250+1)
	case TypeNetwork:
		out["cidr"] = in["cidr"]
	}
	return out
}

// Read returns the object's live inputs and outputs.
func (d *Driver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	o, ok, err := d.Cloud.get(ctx, OpRead, req.Instance.Type, req.Instance.Address, req.Instance.ID)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	if !ok {
		return providers.ReadResponse{}, nil
	}
	return providers.ReadResponse{Exists: true, Inputs: o.Inputs, Outputs: o.Outputs, CreateFailed: o.Failed}, nil
}

// ReadMany reads many objects in one call (one latency for the batch).
func (d *Driver) ReadMany(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	typ, address := "", ""
	if len(reqs) > 0 {
		typ, address = reqs[0].Instance.Type, reqs[0].Instance.Address
	}
	if err := d.Cloud.enter(ctx, OpList, typ, address); err != nil {
		return nil, err
	}
	out := make([]providers.ReadResponse, len(reqs))
	for i, r := range reqs {
		o, ok, err := d.Cloud.lookup(r.Instance.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = providers.ReadResponse{Exists: true, Inputs: o.Inputs, Outputs: o.Outputs, CreateFailed: o.Failed}
		}
	}
	return out, nil
}

// Create makes the object, or returns the one an earlier create with the
// same idempotency key made.
func (d *Driver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.CreateResponse{}, fmt.Errorf("mem: create %s: %w", req.Address, err)
	}
	o, err := d.Cloud.create(ctx, req.Type, req.Address, req.IdempotencyKey, req.Inputs, func(id string) map[string]any {
		return outputsFor(req.Type, id, req.Inputs)
	})
	if err != nil {
		// An ID comes back only from FailAfterCreateWithID.
		return providers.CreateResponse{ID: o.ID, Outputs: o.Outputs}, err
	}
	return providers.CreateResponse{ID: o.ID, Outputs: o.Outputs}, nil
}

// Update changes the object in place. A cluster's version moves one minor
// at a time, forward only.
func (d *Driver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("mem: update %s: %w", req.Instance.Address, err)
	}
	o, err := d.Cloud.update(ctx, req.Instance.Type, req.Instance.Address, req.Instance.ID, func(o *Object) error {
		if o.Type == TypeCluster {
			from, _ := o.Inputs["version"].(string)
			to, _ := req.Inputs["version"].(string)
			if from != to && !nextMinor(from, to) {
				return fmt.Errorf("mem: cluster %s: cannot upgrade Kubernetes %s to %s: upgrade one minor version at a time", req.Instance.Address, from, to)
			}
		}
		o.Inputs = map[string]any(req.Inputs)
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return providers.UpdateResponse{}, fmt.Errorf("mem: update %s: %w", req.Instance.Address, providers.ErrNotFound)
	}
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	return providers.UpdateResponse{Outputs: o.Outputs}, nil
}

func nextMinor(from, to string) bool {
	fm, fn, ok1 := strings.Cut(from, ".")
	tm, tn, ok2 := strings.Cut(to, ".")
	if !ok1 || !ok2 || fm != tm {
		return false
	}
	a, err1 := strconv.Atoi(fn)
	b, err2 := strconv.Atoi(tn)
	return err1 == nil && err2 == nil && b == a+1
}

// Delete removes the object; a missing object is already deleted.
func (d *Driver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	return providers.DeleteResponse{}, d.Cloud.delete(ctx, req.Instance.Type, req.Instance.Address, req.Instance.ID)
}

// Find looks for an object by idempotency key (or by address tag when no
// key is given).
func (d *Driver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	o, ok, err := d.Cloud.find(ctx, req.Type, req.Address, req.IdempotencyKey)
	if err != nil || !ok {
		return providers.FindResponse{}, err
	}
	return providers.FindResponse{Found: true, ID: o.ID, Outputs: o.Outputs}, nil
}

func checkResolved(in providers.Values) error {
	if refs := providers.Refs(map[string]any(in)); len(refs) > 0 {
		return fmt.Errorf("inputs hold unresolved references to %s", strings.Join(refs, ", "))
	}
	return nil
}
