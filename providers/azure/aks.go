package azure

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	aks "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/regionctl/regionctl/providers"
)

// Labels and taints AKS adds to Spot pools on its own; Read leaves them
// out unless the spec asked for them, so they are never drift.
const (
	spotLabelKey = "kubernetes.azure.com/scalesetpriority"
	spotTaint    = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
)

// CheckUpgrade returns an error unless moving a cluster from Kubernetes
// minor from to minor to is one step forward (or no change): AKS upgrades
// one minor at a time and never downgrades.
func CheckUpgrade(from, to string) error {
	if from == to {
		return nil
	}
	fa, fb, ok1 := minorOf(from)
	ta, tb, ok2 := minorOf(to)
	switch {
	case !ok1 || !ok2:
		return fmt.Errorf("cannot compare Kubernetes versions %q and %q", from, to)
	case ta < fa || ta == fa && tb < fb:
		return fmt.Errorf("cannot downgrade Kubernetes %s to %s: AKS does not downgrade; set kubernetesVersion back to %s", from, to, from)
	case ta != fa || tb != fb+1:
		return fmt.Errorf("cannot upgrade Kubernetes %s to %s in one step: AKS upgrades one minor version at a time; set kubernetesVersion to %d.%d, apply, then continue", from, to, fa, fb+1)
	}
	return nil
}

// provisioned turns a terminal provisioning state into an error.
func provisioned(what, name string, state *string) error {
	switch strings.ToLower(deref(state)) {
	case "failed", "canceled":
		return markFailed(state, fmt.Errorf("%s: provisioning state %s", strings.TrimSpace(what+" "+name), deref(state)))
	}
	return nil
}

// markFailed wraps err in providers.ErrCreateFailed when the object's
// provisioning state says ARM failed to make it, so the engine taints it;
// any other error after ARM accepted the create leaves it to be read again.
func markFailed(state *string, err error) error {
	if err != nil && strings.EqualFold(deref(state), "failed") {
		return fmt.Errorf("%w: %w", providers.ErrCreateFailed, err)
	}
	return err
}

// inProgress reports whether a provisioning state is not terminal.
func inProgress(state *string) bool {
	switch strings.ToLower(deref(state)) {
	case "", "succeeded", "failed", "canceled":
		return false
	}
	return true
}

// poolProps are the agent pool properties regionctl sets, from inputs.
// pool holds name, vm_size, zones, min, max, labels, taints; the rest come
// from the arguments.
func poolProps(pool providers.Values, mode aks.AgentPoolMode, subnet, version string, tags map[string]*string) *aks.ManagedClusterAgentPoolProfileProperties {
	minN, maxN := int32(integer(pool, "min")), int32(integer(pool, "max"))
	p := &aks.ManagedClusterAgentPoolProfileProperties{
		Mode: to(mode), VMSize: to(str(pool, "vm_size")), Count: to(minN),
		AvailabilityZones: ptrList(strList(pool, "zones")), VnetSubnetID: to(subnet),
		OrchestratorVersion: to(version), OSType: to(aks.OSTypeLinux), Type: to(aks.AgentPoolTypeVirtualMachineScaleSets),
		NodeLabels: ptrMap(strMap(pool, "labels")), NodeTaints: ptrList(strList(pool, "taints")),
		Tags: tags,
	}
	if p.NodeTaints == nil {
		p.NodeTaints = []*string{}
	}
	setScaling(p, minN, maxN)
	if str(pool, "priority") == prioritySpot {
		p.ScaleSetPriority = to(aks.ScaleSetPrioritySpot)
		p.ScaleSetEvictionPolicy = to(aks.ScaleSetEvictionPolicy(str(pool, "eviction_policy")))
		p.SpotMaxPrice = to(float32(number(pool, "spot_max_price")))
	} else if str(pool, "priority") == priorityRegular {
		p.ScaleSetPriority = to(aks.ScaleSetPriorityRegular)
	}
	return p
}

// setScaling turns min/max into AKS's autoscaler settings: autoscaling
// between min and max when they differ, a fixed count otherwise. The
// count is min at creation; later it belongs to the autoscaler, and an
// update only clamps it into min..max.
func setScaling(p *aks.ManagedClusterAgentPoolProfileProperties, minN, maxN int32) {
	count := minN
	if p.Count != nil {
		count = min(max(*p.Count, minN), maxN)
	}
	p.Count = to(count)
	if maxN > minN {
		p.EnableAutoScaling, p.MinCount, p.MaxCount = to(true), to(minN), to(maxN)
	} else {
		p.EnableAutoScaling, p.MinCount, p.MaxCount = to(false), nil, nil
	}
}

// poolValues reports a pool's regionctl-managed settings in the shape
// Expand writes them, ordered like prev.
func poolValues(p *aks.ManagedClusterAgentPoolProfileProperties, prev providers.Values) providers.Values {
	minN, maxN := int(deref(p.Count)), int(deref(p.Count))
	if deref(p.EnableAutoScaling) {
		minN, maxN = int(deref(p.MinCount)), int(deref(p.MaxCount))
	}
	wantTaints := strList(prev, "taints")
	wantLabels := strMap(prev, "labels")
	labels := map[string]any{}
	for k, v := range p.NodeLabels {
		if _, asked := wantLabels[k]; k == spotLabelKey && !asked {
			continue
		}
		labels[k] = deref(v)
	}
	var taints []string
	for _, t := range fromPtrList(p.NodeTaints) {
		if t == spotTaint && !slices.Contains(wantTaints, t) {
			continue
		}
		taints = append(taints, t)
	}
	return providers.Values{
		"vm_size": deref(p.VMSize), "zones": orderLike(fromPtrList(p.AvailabilityZones), strList(prev, "zones")),
		"min": minN, "max": maxN, "labels": labels, "taints": orderLike(taints, wantTaints),
	}
}

// ---- azure_kubernetes_cluster ----
//
// A cluster's ID is its ARM ID. Its first spec pool is the System pool,
// defined inline (system_pool) and changed through the agent pools API.

type clusterHandler struct{}

func (clusterHandler) get(ctx context.Context, c *call, group, name string) (*aks.ManagedCluster, error) {
	out, err := c.cl.clusters.Get(ctx, group, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.ManagedCluster, nil
}

func (h clusterHandler) find(ctx context.Context, c *call) (string, error) {
	_, group, err := groupOf(c.in, "resource_group_id")
	if err != nil {
		return "", nil
	}
	mc, err := h.get(ctx, c, group, str(c.in, "name"))
	if err != nil || mc == nil || !c.matchTags(mc.Tags) || mc.Properties != nil && deleting(mc.Properties.ProvisioningState) {
		return "", err
	}
	return deref(mc.ID), nil
}

func (c *call) managedCluster() aks.ManagedCluster {
	sp := values(c.in, "system_pool")
	np := values(c.in, "network_profile")
	props := poolProps(sp, aks.AgentPoolModeSystem, str(c.in, "subnet_id"), str(c.in, "kubernetes_version"), c.tags())
	profile := &aks.ManagedClusterAgentPoolProfile{
		Name: to(str(sp, "name")), Mode: props.Mode, VMSize: props.VMSize, Count: props.Count,
		EnableAutoScaling: props.EnableAutoScaling, MinCount: props.MinCount, MaxCount: props.MaxCount,
		AvailabilityZones: props.AvailabilityZones, VnetSubnetID: props.VnetSubnetID,
		OrchestratorVersion: props.OrchestratorVersion, OSType: props.OSType, Type: props.Type,
		NodeLabels: props.NodeLabels, NodeTaints: props.NodeTaints, Tags: props.Tags,
	}
	return aks.ManagedCluster{
		Location: to(str(c.in, "location")), Tags: c.tags(),
		Identity: &aks.ManagedClusterIdentity{Type: to(aks.ResourceIdentityTypeSystemAssigned)},
		SKU:      &aks.ManagedClusterSKU{Name: to(aks.ManagedClusterSKUNameBase), Tier: to(aks.ManagedClusterSKUTier(str(c.in, "sku_tier")))},
		Properties: &aks.ManagedClusterProperties{
			KubernetesVersion: to(str(c.in, "kubernetes_version")), DNSPrefix: to(str(c.in, "dns_prefix")),
			NodeResourceGroup: to(str(c.in, "node_resource_group")), EnableRBAC: to(true),
			AgentPoolProfiles: []*aks.ManagedClusterAgentPoolProfile{profile},
			NetworkProfile: &aks.NetworkProfile{
				NetworkPlugin:     to(aks.NetworkPlugin(str(np, "network_plugin"))),
				NetworkPluginMode: to(aks.NetworkPluginMode(str(np, "network_plugin_mode"))),
				PodCidr:           to(str(np, "pod_cidr")), ServiceCidr: to(str(np, "service_cidr")), DNSServiceIP: to(str(np, "dns_service_ip")),
				LoadBalancerSKU: to(aks.LoadBalancerSKU(str(np, "load_balancer_sku"))),
				OutboundType:    to(aks.OutboundType(str(np, "outbound_type"))),
			},
			APIServerAccessProfile: &aks.ManagedClusterAPIServerAccessProfile{
				EnablePrivateCluster: to(boolean(c.in, "private_cluster")),
				AuthorizedIPRanges:   ptrList(strList(c.in, "authorized_ip_ranges")),
			},
		},
	}
}

func (h clusterHandler) create(ctx context.Context, c *call) (string, error) {
	_, group, err := groupOf(c.in, "resource_group_id")
	if err != nil {
		return "", err
	}
	name := str(c.in, "name")
	mc, err := h.get(ctx, c, group, name)
	if err != nil {
		return "", err
	}
	if mc != nil && !c.matchTags(mc.Tags) {
		return "", c.notOurs("AKS cluster", name, mc.Tags)
	}
	if mc == nil {
		_, err := run(ctx, c.d, func(ctx context.Context) (*runtime.Poller[aks.ManagedClustersClientCreateOrUpdateResponse], error) {
			return c.cl.clusters.BeginCreateOrUpdate(ctx, group, name, c.managedCluster(), nil)
		})
		if err != nil {
			// A cluster that came to exist is returned with the error; when
			// its provisioning failed the error says so (ErrCreateFailed) and
			// the engine taints and replaces it, else it reads it again.
			var gerr error
			mc, gerr = h.get(ctx, c, group, name) // not :=, settle below needs it
			if gerr != nil || mc == nil || !c.matchTags(mc.Tags) {
				return "", err
			}
			if !conflictInProgress(err) {
				err = fmt.Errorf("AKS cluster %s: %w", name, err)
				if mc.Properties != nil {
					err = markFailed(mc.Properties.ProvisioningState, err)
				}
				return deref(mc.ID), err
			}
			// Our own first attempt (its reply lost) is still running.
		} else if mc, err = h.get(ctx, c, group, name); err != nil || mc == nil {
			return "", fmt.Errorf("AKS cluster %s: read after create: %v", name, err)
		}
	}
	mc, err = h.settle(ctx, c, group, name, mc)
	if err != nil {
		return deref(mc.ID), err
	}
	return deref(mc.ID), nil
}

// settle waits while an adopted cluster is still being provisioned, and
// reports a failed one.
func (h clusterHandler) settle(ctx context.Context, c *call, group, name string, mc *aks.ManagedCluster) (*aks.ManagedCluster, error) {
	for mc.Properties != nil && inProgress(mc.Properties.ProvisioningState) {
		if err := sleep(ctx, c.d.pollDelay(nil)); err != nil {
			return mc, err
		}
		next, err := h.get(ctx, c, group, name)
		if err != nil {
			return mc, err
		}
		if next == nil {
			return mc, fmt.Errorf("AKS cluster %s disappeared while provisioning", name)
		}
		mc = next
	}
	if mc.Properties != nil {
		return mc, provisioned("AKS cluster", name, mc.Properties.ProvisioningState)
	}
	return mc, nil
}

// systemProfile returns the cluster's System pool: the one named like the
// recorded system_pool, else the first System-mode pool by name.
func systemProfile(mc *aks.ManagedCluster, want string) *aks.ManagedClusterAgentPoolProfile {
	if mc.Properties == nil {
		return nil
	}
	var system []*aks.ManagedClusterAgentPoolProfile
	for _, p := range mc.Properties.AgentPoolProfiles {
		if p == nil {
			continue
		}
		if want != "" && deref(p.Name) == want {
			return p
		}
		if deref(p.Mode) == aks.AgentPoolModeSystem {
			system = append(system, p)
		}
	}
	slices.SortFunc(system, func(a, b *aks.ManagedClusterAgentPoolProfile) int {
		return strings.Compare(deref(a.Name), deref(b.Name))
	})
	if len(system) == 0 {
		return nil
	}
	return system[0]
}

// profileProps copies a cluster's pool profile into agent pool properties.
func profileProps(p *aks.ManagedClusterAgentPoolProfile) *aks.ManagedClusterAgentPoolProfileProperties {
	return &aks.ManagedClusterAgentPoolProfileProperties{
		Mode: p.Mode, VMSize: p.VMSize, Count: p.Count, EnableAutoScaling: p.EnableAutoScaling,
		MinCount: p.MinCount, MaxCount: p.MaxCount, AvailabilityZones: p.AvailabilityZones,
		VnetSubnetID: p.VnetSubnetID, OrchestratorVersion: p.OrchestratorVersion,
		CurrentOrchestratorVersion: p.CurrentOrchestratorVersion, OSType: p.OSType, Type: p.Type,
		NodeLabels: p.NodeLabels, NodeTaints: p.NodeTaints, ScaleSetPriority: p.ScaleSetPriority,
		ScaleSetEvictionPolicy: p.ScaleSetEvictionPolicy, SpotMaxPrice: p.SpotMaxPrice, Tags: p.Tags,
		ProvisioningState: p.ProvisioningState,
	}
}

func (h clusterHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rid, err := c.parseID()
	if err != nil {
		return false, nil, nil, nil
	}
	mc, err := h.get(ctx, c, rid.ResourceGroupName, rid.Name)
	if err != nil || mc == nil || mc.Properties == nil {
		return false, nil, nil, err
	}
	p := mc.Properties
	prevPool := values(c.prev, "system_pool")
	in := providers.Values{
		"resource_group_id":    sameID(groupID(rid.SubscriptionID, rid.ResourceGroupName), str(c.prev, "resource_group_id")),
		"location":             normLocation(deref(mc.Location)),
		"name":                 deref(mc.Name),
		"dns_prefix":           deref(p.DNSPrefix),
		"node_resource_group":  deref(p.NodeResourceGroup),
		"kubernetes_version":   minorString(deref(p.KubernetesVersion)),
		"private_cluster":      false,
		"authorized_ip_ranges": []any{},
	}
	if mc.SKU != nil {
		in["sku_tier"] = string(deref(mc.SKU.Tier))
	}
	if a := p.APIServerAccessProfile; a != nil {
		in["private_cluster"] = deref(a.EnablePrivateCluster)
		in["authorized_ip_ranges"] = orderLike(fromPtrList(a.AuthorizedIPRanges), strList(c.prev, "authorized_ip_ranges"))
	}
	if n := p.NetworkProfile; n != nil {
		in["network_profile"] = map[string]any{
			"network_plugin": string(deref(n.NetworkPlugin)), "network_plugin_mode": string(deref(n.NetworkPluginMode)),
			"pod_cidr": deref(n.PodCidr), "service_cidr": deref(n.ServiceCidr), "dns_service_ip": deref(n.DNSServiceIP),
			"load_balancer_sku": strings.ToLower(string(deref(n.LoadBalancerSKU))), "outbound_type": string(deref(n.OutboundType)),
		}
	}
	if sp := systemProfile(mc, str(prevPool, "name")); sp != nil {
		pv := poolValues(profileProps(sp), prevPool)
		pv["name"] = deref(sp.Name)
		in["system_pool"] = map[string]any(pv)
		in["subnet_id"] = sameID(deref(sp.VnetSubnetID), str(c.prev, "subnet_id"))
	}
	out := providers.Values{
		"id": deref(mc.ID), "name": deref(mc.Name),
		"node_resource_group":        deref(p.NodeResourceGroup),
		"node_resource_group_id":     groupID(rid.SubscriptionID, deref(p.NodeResourceGroup)),
		"current_kubernetes_version": deref(p.CurrentKubernetesVersion),
		"provisioning_state":         deref(p.ProvisioningState),
		"fqdn":                       deref(p.Fqdn),
		"private_fqdn":               deref(p.PrivateFQDN),
	}
	if mc.Identity != nil {
		out["principal_id"] = deref(mc.Identity.PrincipalID)
	}
	// The API server's URL and CA, from the user kubeconfig (AKS returns
	// the CA nowhere else); a cluster still being made or failed may not
	// give them yet.
	out["endpoint"], out["ca_certificate"] = "", ""
	if !deleting(p.ProvisioningState) {
		access, err := c.d.clusterAccessOutputs(ctx, mc)
		switch {
		case err == nil:
			for k, v := range access {
				out[k] = v
			}
		case strings.EqualFold(deref(p.ProvisioningState), "Succeeded"):
			return false, nil, nil, err
		}
	}
	return true, in, out, nil
}

// update upgrades the control plane and the System pool one minor, sets
// the tier and authorized IP ranges (one PUT of the cluster), then changes
// the System pool: in place (scaling, labels, taints) through the agent
// pools API, or — when its VM size or zones change, which AKS cannot do in
// place — by rotation: a new System pool (new hashed name) is created and
// the old one deleted, so the cluster always keeps a System pool.
func (h clusterHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		switch k {
		case "kubernetes_version", "sku_tier", "authorized_ip_ranges", "system_pool":
		default:
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	rid, err := c.parseID()
	if err != nil {
		return err
	}
	group, name := rid.ResourceGroupName, rid.Name
	mc, err := h.get(ctx, c, group, name)
	if err != nil {
		return err
	}
	if mc == nil || mc.Properties == nil {
		return fmt.Errorf("AKS cluster %s: %w", name, providers.ErrNotFound)
	}
	want := str(c.in, "kubernetes_version")
	have := minorString(deref(mc.Properties.KubernetesVersion))
	sp := values(c.in, "system_pool")
	live := systemProfile(mc, str(values(c.prev, "system_pool"), "name"))

	put := false
	if want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("AKS cluster %s: %w", name, err)
		}
		if err := h.checkOffered(ctx, c, group, name, have, want); err != nil {
			return err
		}
		mc.Properties.KubernetesVersion = to(want)
		if live != nil {
			live.OrchestratorVersion = to(want)
		}
		put = true
	}
	if tier := aks.ManagedClusterSKUTier(str(c.in, "sku_tier")); mc.SKU == nil || deref(mc.SKU.Tier) != tier {
		if mc.SKU == nil {
			mc.SKU = &aks.ManagedClusterSKU{Name: to(aks.ManagedClusterSKUNameBase)}
		}
		mc.SKU.Tier = to(tier)
		put = true
	}
	ranges := strList(c.in, "authorized_ip_ranges")
	if a := mc.Properties.APIServerAccessProfile; a == nil || !sameSet(fromPtrList(a.AuthorizedIPRanges), ranges) {
		if a == nil {
			mc.Properties.APIServerAccessProfile = &aks.ManagedClusterAPIServerAccessProfile{}
		}
		mc.Properties.APIServerAccessProfile.AuthorizedIPRanges = ptrList(ranges)
		if ranges == nil {
			mc.Properties.APIServerAccessProfile.AuthorizedIPRanges = []*string{}
		}
		put = true
	}
	if put {
		_, err := run(ctx, c.d, func(ctx context.Context) (*runtime.Poller[aks.ManagedClustersClientCreateOrUpdateResponse], error) {
			return c.cl.clusters.BeginCreateOrUpdate(ctx, group, name, *mc, nil)
		})
		if err != nil {
			return fmt.Errorf("update AKS cluster %s (version %s, tier, authorized IP ranges): %w", name, want, err)
		}
	}
	return h.updateSystemPool(ctx, c, group, name, live, sp)
}

// checkOffered asks AKS which upgrades it offers the cluster and refuses a
// minor it does not list, naming the ones it does.
func (clusterHandler) checkOffered(ctx context.Context, c *call, group, name, have, want string) error {
	prof, err := c.cl.clusters.GetUpgradeProfile(ctx, group, name, nil)
	if err != nil {
		return fmt.Errorf("AKS cluster %s: read its upgrade profile: %w", name, err)
	}
	var offered []string
	if p := prof.Properties; p != nil && p.ControlPlaneProfile != nil {
		for _, u := range p.ControlPlaneProfile.Upgrades {
			if u == nil || deref(u.IsPreview) {
				continue
			}
			v := deref(u.KubernetesVersion)
			if minorString(v) == want {
				return nil
			}
			offered = append(offered, v)
		}
	}
	if len(offered) == 0 {
		return fmt.Errorf("AKS offers no upgrade from Kubernetes %s for cluster %s in this location right now", have, name)
	}
	return fmt.Errorf("AKS does not offer Kubernetes %s as an upgrade from %s for cluster %s (offered: %s)", want, have, name, strings.Join(offered, ", "))
}

func (h clusterHandler) updateSystemPool(ctx context.Context, c *call, group, cluster string, live *aks.ManagedClusterAgentPoolProfile, sp providers.Values) error {
	if live == nil {
		return fmt.Errorf("AKS cluster %s has no System pool", cluster)
	}
	subnet := str(c.in, "subnet_id")
	version := str(c.in, "kubernetes_version")
	liveVals := poolValues(profileProps(live), sp)
	newName := str(sp, "name")
	rotate := deref(live.Name) != newName || liveVals["vm_size"] != str(sp, "vm_size") || !sameSet(strList(liveVals, "zones"), strList(sp, "zones"))
	if rotate {
		props := poolProps(sp, aks.AgentPoolModeSystem, subnet, version, c.tags())
		if _, err := runPool(ctx, c, group, cluster, newName, props); err != nil {
			return fmt.Errorf("rotate the System pool: create %s (%s): %w", newName, str(sp, "vm_size"), err)
		}
		old := deref(live.Name)
		err := deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientDeleteResponse], error) {
			return c.cl.pools.BeginDelete(ctx, group, cluster, old, nil)
		})
		if err != nil {
			return fmt.Errorf("rotate the System pool: delete the old pool %s: %w", old, err)
		}
		return nil
	}
	props := profileProps(live)
	props.CurrentOrchestratorVersion, props.ProvisioningState = nil, nil
	if !applyPoolChanges(props, sp, version) {
		return nil
	}
	if _, err := runPool(ctx, c, group, cluster, deref(live.Name), props); err != nil {
		return fmt.Errorf("update the System pool %s: %w", deref(live.Name), err)
	}
	return nil
}

// applyPoolChanges sets the in-place settings of pool on props and
// reports whether anything changed.
func applyPoolChanges(props *aks.ManagedClusterAgentPoolProfileProperties, pool providers.Values, version string) bool {
	before := poolValues(props, pool)
	beforeVersion := minorString(deref(props.OrchestratorVersion))
	setScaling(props, int32(integer(pool, "min")), int32(integer(pool, "max")))
	labels := strMap(pool, "labels")
	if l, ok := props.NodeLabels[spotLabelKey]; ok && deref(props.ScaleSetPriority) == aks.ScaleSetPrioritySpot {
		labels[spotLabelKey] = deref(l) // AKS's own, kept
	}
	props.NodeLabels = ptrMap(labels)
	taints := strList(pool, "taints")
	if slices.Contains(fromPtrList(props.NodeTaints), spotTaint) && !slices.Contains(taints, spotTaint) {
		taints = append(taints, spotTaint)
	}
	props.NodeTaints = ptrList(taints)
	if props.NodeTaints == nil {
		props.NodeTaints = []*string{}
	}
	if version != "" {
		props.OrchestratorVersion = to(version)
	}
	after := poolValues(props, pool)
	return beforeVersion != minorString(version) && version != "" ||
		before["min"] != after["min"] || before["max"] != after["max"] ||
		!maps.Equal(strMap(before, "labels"), strMap(after, "labels")) || !sameSet(strList(before, "taints"), strList(after, "taints"))
}

// runPool creates or updates an agent pool and waits for it.
func runPool(ctx context.Context, c *call, group, cluster, name string, props *aks.ManagedClusterAgentPoolProfileProperties) (aks.AgentPoolsClientCreateOrUpdateResponse, error) {
	return run(ctx, c.d, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientCreateOrUpdateResponse], error) {
		return c.cl.pools.BeginCreateOrUpdate(ctx, group, cluster, name, aks.AgentPool{Properties: props}, nil)
	})
}

func (clusterHandler) delete(ctx context.Context, c *call) error {
	rid, err := c.parseID()
	if err != nil {
		return nil
	}
	return deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[aks.ManagedClustersClientDeleteResponse], error) {
		return c.cl.clusters.BeginDelete(ctx, rid.ResourceGroupName, rid.Name, nil)
	})
}

// ---- azure_kubernetes_node_pool ----
//
// A User agent pool. Its ID is its ARM ID; its cluster comes from the
// cluster_id input.

type poolHandler struct{}

func clusterOf(v providers.Values) (group, cluster string, err error) {
	_, group, err = groupOf(v, "cluster_id")
	if err != nil {
		return "", "", err
	}
	id := str(v, "cluster_id")
	return group, id[strings.LastIndex(id, "/")+1:], nil
}

func (poolHandler) get(ctx context.Context, c *call, group, cluster, name string) (*aks.AgentPool, error) {
	out, err := c.cl.pools.Get(ctx, group, cluster, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.AgentPool, nil
}

func poolTags(ap *aks.AgentPool) map[string]*string {
	if ap.Properties == nil {
		return nil
	}
	return ap.Properties.Tags
}

func (h poolHandler) find(ctx context.Context, c *call) (string, error) {
	group, cluster, err := clusterOf(c.in)
	if err != nil {
		return "", nil
	}
	ap, err := h.get(ctx, c, group, cluster, str(c.in, "name"))
	if err != nil || ap == nil || !c.matchTags(poolTags(ap)) || ap.Properties != nil && deleting(ap.Properties.ProvisioningState) {
		return "", err
	}
	return deref(ap.ID), nil
}

func (h poolHandler) create(ctx context.Context, c *call) (string, error) {
	group, cluster, err := clusterOf(c.in)
	if err != nil {
		return "", err
	}
	name := str(c.in, "name")
	ap, err := h.get(ctx, c, group, cluster, name)
	if err != nil {
		return "", err
	}
	if ap != nil && !c.matchTags(poolTags(ap)) {
		if !h.failedPredecessor(c, ap) {
			return "", c.notOurs("AKS agent pool", name, poolTags(ap))
		}
		// The engine is replacing a pool of this address whose create
		// failed: it holds the name (names hash only what forces a
		// replacement) but no capacity, so it goes first. Its deposed
		// record is then skipped by delete (another key holds the name).
		err := deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientDeleteResponse], error) {
			return c.cl.pools.BeginDelete(ctx, group, cluster, name, nil)
		})
		if err != nil {
			return "", fmt.Errorf("delete the failed AKS agent pool %s it replaces: %w", name, err)
		}
		ap = nil
	}
	if ap == nil {
		props := poolProps(c.in, aks.AgentPoolModeUser, str(c.in, "subnet_id"), str(c.in, "kubernetes_version"), c.tags())
		if _, err := runPool(ctx, c, group, cluster, name, props); err != nil {
			var gerr error
			ap, gerr = h.get(ctx, c, group, cluster, name)
			if gerr != nil || ap == nil || !c.matchTags(poolTags(ap)) {
				return "", err
			}
			if !conflictInProgress(err) {
				err = fmt.Errorf("AKS agent pool %s: %w", name, err)
				if ap.Properties != nil {
					err = markFailed(ap.Properties.ProvisioningState, err)
				}
				return deref(ap.ID), err
			}
			// Our own first attempt (its reply lost) is still running.
		} else if ap, err = h.get(ctx, c, group, cluster, name); err != nil || ap == nil {
			return "", fmt.Errorf("AKS agent pool %s: read after create: %v", name, err)
		}
	}
	for ap.Properties != nil && inProgress(ap.Properties.ProvisioningState) {
		if err := sleep(ctx, c.d.pollDelay(nil)); err != nil {
			return deref(ap.ID), err
		}
		next, err := h.get(ctx, c, group, cluster, name)
		if err != nil || next == nil {
			return deref(ap.ID), fmt.Errorf("AKS agent pool %s: wait for provisioning: %v", name, err)
		}
		ap = next
	}
	if ap.Properties != nil {
		return deref(ap.ID), provisioned("AKS agent pool", name, ap.Properties.ProvisioningState)
	}
	return deref(ap.ID), nil
}

// failedPredecessor reports whether ap is an earlier, failed create of
// this same address (another idempotency key).
func (poolHandler) failedPredecessor(c *call, ap *aks.AgentPool) bool {
	tags := poolTags(ap)
	return c.key != "" && deref(tags[TagAddress]) == c.address && deref(tags[TagIdempotencyKey]) != c.key &&
		ap.Properties != nil && strings.EqualFold(deref(ap.Properties.ProvisioningState), "Failed")
}

func (h poolHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rid, err := c.parseID()
	if err != nil || rid.Parent == nil {
		return false, nil, nil, nil
	}
	ap, err := h.get(ctx, c, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
	if err != nil || ap == nil || ap.Properties == nil {
		return false, nil, nil, err
	}
	p := ap.Properties
	in := poolValues(p, c.prev)
	in["cluster_id"] = sameID(rid.Parent.String(), str(c.prev, "cluster_id"))
	in["name"] = deref(ap.Name)
	in["subnet_id"] = sameID(deref(p.VnetSubnetID), str(c.prev, "subnet_id"))
	in["kubernetes_version"] = minorString(deref(p.OrchestratorVersion))
	in["priority"] = priorityRegular
	if deref(p.ScaleSetPriority) == aks.ScaleSetPrioritySpot {
		in["priority"] = prioritySpot
		in["eviction_policy"] = string(deref(p.ScaleSetEvictionPolicy))
		in["spot_max_price"] = float64(deref(p.SpotMaxPrice))
	}
	out := providers.Values{
		"id": deref(ap.ID), "name": deref(ap.Name), "provisioning_state": deref(p.ProvisioningState),
		"current_kubernetes_version": deref(p.CurrentOrchestratorVersion), "node_count": int(deref(p.Count)),
		// Which create made the pool at this ID: ARM IDs are names, so a
		// replacement of a failed pool reuses the ID (see delete).
		"idempotency_key": deref(p.Tags[TagIdempotencyKey]),
	}
	return true, in, out, nil
}

// update upgrades the pool's Kubernetes version (one minor, after its
// cluster) and sets scaling, labels and taints in one PUT of the pool.
func (h poolHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		switch k {
		case "kubernetes_version", "min", "max", "labels", "taints":
		default:
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	rid, err := c.parseID()
	if err != nil || rid.Parent == nil {
		return fmt.Errorf("%q is not an agent pool ID", c.id)
	}
	group, cluster, name := rid.ResourceGroupName, rid.Parent.Name, rid.Name
	ap, err := h.get(ctx, c, group, cluster, name)
	if err != nil {
		return err
	}
	if ap == nil || ap.Properties == nil {
		return fmt.Errorf("AKS agent pool %s: %w", name, providers.ErrNotFound)
	}
	want, have := str(c.in, "kubernetes_version"), minorString(deref(ap.Properties.OrchestratorVersion))
	if err := CheckUpgrade(have, want); err != nil {
		return fmt.Errorf("AKS agent pool %s: %w", name, err)
	}
	props := ap.Properties
	props.CurrentOrchestratorVersion, props.ProvisioningState = nil, nil
	if !applyPoolChanges(props, c.in, want) {
		return nil
	}
	if _, err := runPool(ctx, c, group, cluster, name, props); err != nil {
		return fmt.Errorf("update AKS agent pool %s: %w", name, err)
	}
	return nil
}

// delete removes the pool at c.id — unless another create's pool now holds
// that name (the recorded idempotency_key differs from the live pool's):
// then the recorded pool is already gone, replaced by a new one.
func (h poolHandler) delete(ctx context.Context, c *call) error {
	rid, err := c.parseID()
	if err != nil || rid.Parent == nil {
		return nil
	}
	if key := str(c.outputs, "idempotency_key"); key != "" {
		ap, err := h.get(ctx, c, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
		if err != nil {
			return err
		}
		if ap == nil {
			return nil
		}
		if live := deref(poolTags(ap)[TagIdempotencyKey]); live != "" && live != key {
			return nil
		}
	}
	return deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientDeleteResponse], error) {
		return c.cl.pools.BeginDelete(ctx, rid.ResourceGroupName, rid.Parent.Name, rid.Name, nil)
	})
}
