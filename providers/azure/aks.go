package azure

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	aks "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
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
	return providers.CheckMinorUpgrade("AKS", from, to)
}

// provisioned turns a terminal provisioning state into an error; Failed is
// of class providers.ErrCreateFailed.
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
	if err != nil && failedState(state) {
		return kit.Classed(err, providers.ErrCreateFailed)
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

// poolSpec is what regionctl sets on an agent pool, the System pool
// (inline in the cluster) and User pools alike.
type poolSpec struct {
	VMSize   string
	Zones    []string
	Min, Max int
	Labels   map[string]string
	Taints   []string
	// Priority is Regular or Spot (User pools); the rest are Spot's.
	Priority       string
	EvictionPolicy string
	SpotMaxPrice   float64
	// MaxSurge is upgradeSettings.maxSurge (nodes); nil leaves AKS's.
	MaxSurge *int
	// Options are the disk, maxPods and os (nodeoptions.go).
	Options poolOptions
}

// upgradeSettings are the pool's upgrade settings, nil when the spec sets
// none.
func (p poolSpec) upgradeSettings() *aks.AgentPoolUpgradeSettings {
	if p.MaxSurge == nil {
		return nil
	}
	return &aks.AgentPoolUpgradeSettings{MaxSurge: to(strconv.Itoa(*p.MaxSurge))}
}

// poolProps are the agent pool properties regionctl sets.
func poolProps(pool poolSpec, mode aks.AgentPoolMode, subnet, version string, tags map[string]*string) *aks.ManagedClusterAgentPoolProfileProperties {
	minN, maxN := int32(pool.Min), int32(pool.Max)
	p := &aks.ManagedClusterAgentPoolProfileProperties{
		Mode: to(mode), VMSize: to(pool.VMSize), Count: to(minN),
		AvailabilityZones: ptrList(pool.Zones), VnetSubnetID: to(subnet),
		OrchestratorVersion: to(version), OSType: to(aks.OSTypeLinux), Type: to(aks.AgentPoolTypeVirtualMachineScaleSets),
		NodeLabels: ptrMap(pool.Labels), NodeTaints: ptrList(pool.Taints),
		UpgradeSettings: pool.upgradeSettings(),
		Tags:            tags,
	}
	if p.NodeTaints == nil {
		p.NodeTaints = []*string{}
	}
	o := pool.Options
	if o.OSDiskSizeGB != nil {
		p.OSDiskSizeGB = to(int32(*o.OSDiskSizeGB))
	}
	if o.OSDiskType != nil {
		p.OSDiskType = to(aks.OSDiskType(*o.OSDiskType))
	}
	if o.MaxPods != nil {
		p.MaxPods = to(int32(*o.MaxPods))
	}
	if o.OSType != nil {
		p.OSType = to(aks.OSType(*o.OSType))
	}
	if o.OSSKU != nil {
		p.OSSKU = to(aks.OSSKU(*o.OSSKU))
	}
	setScaling(p, minN, maxN)
	switch pool.Priority {
	case prioritySpot:
		p.ScaleSetPriority = to(aks.ScaleSetPrioritySpot)
		p.ScaleSetEvictionPolicy = to(aks.ScaleSetEvictionPolicy(pool.EvictionPolicy))
		p.SpotMaxPrice = to(float32(pool.SpotMaxPrice))
	case priorityRegular:
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

// poolValues reports a pool's regionctl-managed settings. AKS's own Spot
// label and taint are left out unless want (the recorded settings) asks
// for them, so they are never drift.
func poolValues(p *aks.ManagedClusterAgentPoolProfileProperties, want poolSpec) poolSpec {
	minN, maxN := int(deref(p.Count)), int(deref(p.Count))
	if deref(p.EnableAutoScaling) {
		minN, maxN = int(deref(p.MinCount)), int(deref(p.MaxCount))
	}
	labels := map[string]string{}
	for k, v := range p.NodeLabels {
		if _, asked := want.Labels[k]; k == spotLabelKey && !asked {
			continue
		}
		labels[k] = deref(v)
	}
	var taints []string
	for _, t := range fromPtrList(p.NodeTaints) {
		if t == spotTaint && !slices.Contains(want.Taints, t) {
			continue
		}
		taints = append(taints, t)
	}
	out := poolSpec{VMSize: deref(p.VMSize), Zones: fromPtrList(p.AvailabilityZones), Min: minN, Max: maxN, Labels: labels, Taints: taints,
		Options: optionValues(p, want.Options)}
	if u := p.UpgradeSettings; want.MaxSurge != nil && u != nil {
		if n, err := strconv.Atoi(deref(u.MaxSurge)); err == nil {
			out.MaxSurge = &n
		}
	}
	return out
}

// optionValues reports a pool's node options; AKS's defaults are no drift,
// so an option is reported only when want (the recorded settings) has it.
func optionValues(p *aks.ManagedClusterAgentPoolProfileProperties, want poolOptions) poolOptions {
	var o poolOptions
	if want.OSDiskSizeGB != nil {
		o.OSDiskSizeGB = to(int(deref(p.OSDiskSizeGB)))
	}
	if want.OSDiskType != nil {
		o.OSDiskType = to(string(deref(p.OSDiskType)))
	}
	if want.MaxPods != nil {
		o.MaxPods = to(int(deref(p.MaxPods)))
	}
	if want.OSType != nil || deref(p.OSType) == aks.OSTypeWindows {
		o.OSType = to(string(deref(p.OSType)))
	}
	if want.OSSKU != nil {
		o.OSSKU = to(string(deref(p.OSSKU)))
	}
	return o
}

// ---- azure_kubernetes_cluster ----
//
// A cluster's ID is its ARM ID. Its first spec pool is the System pool,
// defined inline (system_pool) and changed through the agent pools API.

type clusterIn struct {
	ResourceGroupID   string  `kit:"resource_group_id,replace" why:"a cluster lives in one resource group"`
	Location          string  `kit:"location,replace" why:"a cluster lives in one location"`
	Name              string  `kit:"name,replace" why:"AKS cannot rename a cluster"`
	DNSPrefix         string  `kit:"dns_prefix,replace" why:"AKS cannot change a cluster's DNS prefix"`
	NodeResourceGroup string  `kit:"node_resource_group,replace" why:"AKS cannot change a cluster's node resource group"`
	KubernetesVersion string  `kit:"kubernetes_version"`
	SKUTier           *string `kit:"sku_tier,omitempty"`
	// SubnetID is the System pool's subnet.
	SubnetID           *string         `kit:"subnet_id,omitempty,replace" why:"AKS cannot move a cluster's nodes to another subnet"`
	NetworkProfile     *networkProfile `kit:"network_profile,omitempty,replace" why:"AKS cannot change a cluster's network plugin or ranges in place"`
	PrivateCluster     bool            `kit:"private_cluster,replace" why:"AKS cannot make a public cluster private, or back"`
	AuthorizedIPRanges []string        `kit:"authorized_ip_ranges,set"`
	SystemPool         *systemPool     `kit:"system_pool,omitempty"`
	// WorkloadIdentity is AKS's OIDC issuer and workload identity
	// (spec.cluster.workloadIdentity). Turning it off turns workload
	// identity off; the issuer stays, as AKS cannot disable it.
	WorkloadIdentity bool `kit:"workload_identity"`
	// EntraRBAC is AKS-managed Microsoft Entra ID integration with Azure
	// RBAC for Kubernetes authorization (spec.access). AKS cannot turn
	// managed Entra integration off: turning this off turns Azure RBAC
	// off and keeps Entra ID sign-in.
	EntraRBAC bool `kit:"entra_rbac,omitempty"`
}

// networkProfile is the cluster's network setup (docs/providers/azure.md).
type networkProfile struct {
	NetworkPlugin     string `kit:"network_plugin"`
	NetworkPluginMode string `kit:"network_plugin_mode"`
	PodCIDR           string `kit:"pod_cidr"`
	ServiceCIDR       string `kit:"service_cidr"`
	DNSServiceIP      string `kit:"dns_service_ip"`
	LoadBalancerSKU   string `kit:"load_balancer_sku"`
	OutboundType      string `kit:"outbound_type"`
}

// systemPool is the cluster's System pool. A change of its VM size or
// zones rotates it (a new pool, then the old one deleted).
type systemPool struct {
	Name   string            `kit:"name"`
	VMSize string            `kit:"vm_size"`
	Zones  []string          `kit:"zones,set"`
	Min    int               `kit:"min"`
	Max    int               `kit:"max"`
	Labels map[string]string `kit:"labels"`
	Taints []string          `kit:"taints,set"`
	// MaxSurge is upgradeSettings.maxSurge; nil leaves AKS's.
	MaxSurge *int `kit:"max_surge,omitempty"`
	// The node options; nil leaves AKS's default. A change of any but
	// OSSKU comes with a new name, and so rotates the pool.
	OSDiskSizeGB *int    `kit:"os_disk_size_gb,omitempty"`
	OSDiskType   *string `kit:"os_disk_type,omitempty"`
	MaxPods      *int    `kit:"max_pods,omitempty"`
	OSSKU        *string `kit:"os_sku,omitempty"`
}

func (p *systemPool) spec() poolSpec {
	if p == nil {
		return poolSpec{}
	}
	return poolSpec{VMSize: p.VMSize, Zones: p.Zones, Min: p.Min, Max: p.Max, Labels: p.Labels, Taints: p.Taints, MaxSurge: p.MaxSurge,
		Options: poolOptions{OSDiskSizeGB: p.OSDiskSizeGB, OSDiskType: p.OSDiskType, MaxPods: p.MaxPods, OSSKU: p.OSSKU}}
}

type clusterOut struct {
	ID                       string  `kit:"id"`
	Name                     string  `kit:"name"`
	NodeResourceGroup        string  `kit:"node_resource_group"`
	NodeResourceGroupID      string  `kit:"node_resource_group_id"`
	CurrentKubernetesVersion string  `kit:"current_kubernetes_version"`
	ProvisioningState        string  `kit:"provisioning_state"`
	FQDN                     string  `kit:"fqdn"`
	PrivateFQDN              string  `kit:"private_fqdn"`
	PrincipalID              *string `kit:"principal_id,omitempty"`
	// Endpoint and CACertificate come from the user kubeconfig (AKS
	// returns the CA nowhere else); "" while the cluster is being made.
	Endpoint      string `kit:"endpoint"`
	CACertificate string `kit:"ca_certificate"`
	// OIDCIssuerURL is the cluster's service-account token issuer, when
	// its OIDC issuer is on.
	OIDCIssuerURL *string `kit:"oidc_issuer_url,omitempty"`
	// EntraTenantID is the tenant whose identities sign in to the cluster,
	// with Entra ID integration.
	EntraTenantID *string `kit:"entra_tenant_id,omitempty"`
}

type clusterCall = call[clusterIn, clusterOut]

type clusterHandler struct{}

// getCluster returns the managed cluster group/name, or nil.
func (e *env) getCluster(ctx context.Context, group, name string) (*aks.ManagedCluster, error) {
	out, err := e.cl.clusters.Get(ctx, group, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.ManagedCluster, nil
}

func (h clusterHandler) Find(ctx context.Context, c *clusterCall) (string, error) {
	rg := parseID(c.In.ResourceGroupID)
	if rg == nil {
		return "", nil
	}
	mc, err := c.Env.getCluster(ctx, rg.ResourceGroupName, c.In.Name)
	if err != nil || mc == nil || !matchTags(c.Meta, mc.Tags) || mc.Properties != nil && deleting(mc.Properties.ProvisioningState) {
		return "", err
	}
	return deref(mc.ID), nil
}

func managedCluster(c *clusterCall) aks.ManagedCluster {
	in := c.In
	np := in.NetworkProfile
	if np == nil {
		np = &networkProfile{}
	}
	props := poolProps(in.SystemPool.spec(), aks.AgentPoolModeSystem, deref(in.SubnetID), in.KubernetesVersion, tags(c.Meta))
	profile := &aks.ManagedClusterAgentPoolProfile{
		Mode: props.Mode, VMSize: props.VMSize, Count: props.Count,
		EnableAutoScaling: props.EnableAutoScaling, MinCount: props.MinCount, MaxCount: props.MaxCount,
		AvailabilityZones: props.AvailabilityZones, VnetSubnetID: props.VnetSubnetID,
		OrchestratorVersion: props.OrchestratorVersion, OSType: props.OSType, Type: props.Type,
		NodeLabels: props.NodeLabels, NodeTaints: props.NodeTaints, Tags: props.Tags,
		UpgradeSettings: props.UpgradeSettings,
		OSDiskSizeGB:    props.OSDiskSizeGB, OSDiskType: props.OSDiskType, MaxPods: props.MaxPods, OSSKU: props.OSSKU,
	}
	if in.SystemPool != nil {
		profile.Name = to(in.SystemPool.Name)
	}
	return aks.ManagedCluster{
		Location: to(in.Location), Tags: tags(c.Meta),
		Identity: &aks.ManagedClusterIdentity{Type: to(aks.ResourceIdentityTypeSystemAssigned)},
		SKU:      &aks.ManagedClusterSKU{Name: to(aks.ManagedClusterSKUNameBase), Tier: to(aks.ManagedClusterSKUTier(deref(in.SKUTier)))},
		Properties: &aks.ManagedClusterProperties{
			KubernetesVersion: to(in.KubernetesVersion), DNSPrefix: to(in.DNSPrefix),
			NodeResourceGroup: to(in.NodeResourceGroup), EnableRBAC: to(true),
			AgentPoolProfiles: []*aks.ManagedClusterAgentPoolProfile{profile},
			NetworkProfile: &aks.NetworkProfile{
				NetworkPlugin:     to(aks.NetworkPlugin(np.NetworkPlugin)),
				NetworkPluginMode: to(aks.NetworkPluginMode(np.NetworkPluginMode)),
				PodCidr:           to(np.PodCIDR), ServiceCidr: to(np.ServiceCIDR), DNSServiceIP: to(np.DNSServiceIP),
				LoadBalancerSKU: to(aks.LoadBalancerSKU(np.LoadBalancerSKU)),
				OutboundType:    to(aks.OutboundType(np.OutboundType)),
			},
			APIServerAccessProfile: &aks.ManagedClusterAPIServerAccessProfile{
				EnablePrivateCluster: to(in.PrivateCluster),
				AuthorizedIPRanges:   ptrList(in.AuthorizedIPRanges),
			},
			OidcIssuerProfile: oidcProfile(in.WorkloadIdentity),
			SecurityProfile:   securityProfile(in.WorkloadIdentity),
			AADProfile:        aadProfile(nil, in.EntraRBAC),
		},
	}
}

// oidcProfile and securityProfile are what workload identity sets: the
// OIDC issuer and workload identity on; nil leaves them as they are.
func oidcProfile(on bool) *aks.ManagedClusterOIDCIssuerProfile {
	if !on {
		return nil
	}
	return &aks.ManagedClusterOIDCIssuerProfile{Enabled: to(true)}
}

func securityProfile(on bool) *aks.ManagedClusterSecurityProfile {
	if !on {
		return nil
	}
	return &aks.ManagedClusterSecurityProfile{WorkloadIdentity: &aks.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to(true)}}
}

// aadProfile is the cluster's Entra ID profile for spec.access, from the
// live one (nil at create): on, AKS-managed Entra integration with Azure
// RBAC for Kubernetes authorization, in the subscription's tenant unless
// the cluster names another; off, Azure RBAC off and the managed
// integration kept, as AKS cannot turn it off. nil when off and there is
// none.
func aadProfile(live *aks.ManagedClusterAADProfile, on bool) *aks.ManagedClusterAADProfile {
	if !on && live == nil {
		return nil
	}
	p := &aks.ManagedClusterAADProfile{}
	if live != nil {
		cp := *live
		p = &cp
	}
	if on {
		p.Managed = to(true)
	}
	p.EnableAzureRBAC = to(on)
	return p
}

// entraRBACOn reports whether a live cluster has managed Entra ID
// integration with Azure RBAC for Kubernetes authorization.
func entraRBACOn(p *aks.ManagedClusterProperties) bool {
	return p.AADProfile != nil && deref(p.AADProfile.Managed) && deref(p.AADProfile.EnableAzureRBAC)
}

// workloadIdentityOn reports whether a live cluster has workload identity.
func workloadIdentityOn(p *aks.ManagedClusterProperties) bool {
	return p.SecurityProfile != nil && p.SecurityProfile.WorkloadIdentity != nil && deref(p.SecurityProfile.WorkloadIdentity.Enabled)
}

func (h clusterHandler) Create(ctx context.Context, c *clusterCall) (string, error) {
	rg, err := parseARM("resource_group_id", c.In.ResourceGroupID)
	if err != nil {
		return "", err
	}
	e, group, name := c.Env, rg.ResourceGroupName, c.In.Name
	mc, err := e.getCluster(ctx, group, name)
	if err != nil {
		return "", err
	}
	if mc != nil && !matchTags(c.Meta, mc.Tags) {
		return "", notOurs("AKS cluster", name, mc.Tags)
	}
	if mc == nil {
		_, err := run(ctx, e.d, func(ctx context.Context) (*runtime.Poller[aks.ManagedClustersClientCreateOrUpdateResponse], error) {
			return e.cl.clusters.BeginCreateOrUpdate(ctx, group, name, managedCluster(c), nil)
		})
		if err != nil {
			// A cluster that came to exist is returned with the error; when
			// its provisioning failed the error says so (ErrCreateFailed) and
			// the engine taints and replaces it, else it reads it again.
			var gerr error
			mc, gerr = e.getCluster(ctx, group, name) // not :=, settle below needs it
			if gerr != nil || mc == nil || !matchTags(c.Meta, mc.Tags) {
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
		} else if mc, err = e.getCluster(ctx, group, name); err != nil || mc == nil {
			return "", fmt.Errorf("AKS cluster %s: read after create: %v", name, err)
		}
	}
	mc, err = h.settle(ctx, e, group, name, mc)
	if err != nil {
		return deref(mc.ID), err
	}
	return deref(mc.ID), nil
}

// settle waits while an adopted cluster is still being provisioned, and
// reports a failed one.
func (h clusterHandler) settle(ctx context.Context, e *env, group, name string, mc *aks.ManagedCluster) (*aks.ManagedCluster, error) {
	for mc.Properties != nil && inProgress(mc.Properties.ProvisioningState) {
		if err := kit.Sleep(ctx, e.d.pollDelay(nil)); err != nil {
			return mc, err
		}
		next, err := e.getCluster(ctx, group, name)
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
		ProvisioningState: p.ProvisioningState, UpgradeSettings: p.UpgradeSettings,
		OSDiskSizeGB: p.OSDiskSizeGB, OSDiskType: p.OSDiskType, MaxPods: p.MaxPods, OSSKU: p.OSSKU,
	}
}

func (h clusterHandler) Read(ctx context.Context, c *clusterCall) (*kit.Live[clusterIn, clusterOut], error) {
	rid := parseID(c.ID)
	if rid == nil {
		return nil, nil
	}
	mc, err := c.Env.getCluster(ctx, rid.ResourceGroupName, rid.Name)
	if err != nil || mc == nil || mc.Properties == nil {
		return nil, err
	}
	return h.live(ctx, c, rid, mc)
}

// live reports a managed cluster, with the endpoint and CA of its user
// kubeconfig (one more call: AKS returns the CA nowhere else).
func (clusterHandler) live(ctx context.Context, c *clusterCall, rid *arm.ResourceID, mc *aks.ManagedCluster) (*kit.Live[clusterIn, clusterOut], error) {
	if mc.Properties == nil {
		return nil, nil
	}
	p := mc.Properties
	in := clusterIn{
		ResourceGroupID:    sameID(groupID(rid.SubscriptionID, rid.ResourceGroupName), c.Prev.ResourceGroupID),
		Location:           normLocation(deref(mc.Location)),
		Name:               deref(mc.Name),
		DNSPrefix:          deref(p.DNSPrefix),
		NodeResourceGroup:  deref(p.NodeResourceGroup),
		KubernetesVersion:  minorString(deref(p.KubernetesVersion)),
		AuthorizedIPRanges: []string{},
		WorkloadIdentity:   workloadIdentityOn(p),
		EntraRBAC:          entraRBACOn(p),
	}
	if mc.SKU != nil {
		in.SKUTier = to(string(deref(mc.SKU.Tier)))
	}
	if a := p.APIServerAccessProfile; a != nil {
		in.PrivateCluster = deref(a.EnablePrivateCluster)
		in.AuthorizedIPRanges = fromPtrList(a.AuthorizedIPRanges)
	}
	if n := p.NetworkProfile; n != nil {
		in.NetworkProfile = &networkProfile{
			NetworkPlugin: string(deref(n.NetworkPlugin)), NetworkPluginMode: string(deref(n.NetworkPluginMode)),
			PodCIDR: deref(n.PodCidr), ServiceCIDR: deref(n.ServiceCidr), DNSServiceIP: deref(n.DNSServiceIP),
			LoadBalancerSKU: strings.ToLower(string(deref(n.LoadBalancerSKU))), OutboundType: string(deref(n.OutboundType)),
		}
	}
	var prevName string
	if c.Prev.SystemPool != nil {
		prevName = c.Prev.SystemPool.Name
	}
	if sp := systemProfile(mc, prevName); sp != nil {
		pv := poolValues(profileProps(sp), c.Prev.SystemPool.spec())
		in.SystemPool = &systemPool{Name: deref(sp.Name), VMSize: pv.VMSize, Zones: pv.Zones, Min: pv.Min, Max: pv.Max, Labels: pv.Labels, Taints: pv.Taints, MaxSurge: pv.MaxSurge,
			OSDiskSizeGB: pv.Options.OSDiskSizeGB, OSDiskType: pv.Options.OSDiskType, MaxPods: pv.Options.MaxPods, OSSKU: pv.Options.OSSKU}
		in.SubnetID = to(sameID(deref(sp.VnetSubnetID), deref(c.Prev.SubnetID)))
	}
	out := clusterOut{
		ID: deref(mc.ID), Name: deref(mc.Name),
		NodeResourceGroup:        deref(p.NodeResourceGroup),
		NodeResourceGroupID:      groupID(rid.SubscriptionID, deref(p.NodeResourceGroup)),
		CurrentKubernetesVersion: deref(p.CurrentKubernetesVersion),
		ProvisioningState:        deref(p.ProvisioningState),
		FQDN:                     deref(p.Fqdn),
		PrivateFQDN:              deref(p.PrivateFQDN),
	}
	if mc.Identity != nil {
		out.PrincipalID = to(deref(mc.Identity.PrincipalID))
	}
	if o := p.OidcIssuerProfile; o != nil && deref(o.Enabled) && deref(o.IssuerURL) != "" {
		out.OIDCIssuerURL = o.IssuerURL
	}
	if a := p.AADProfile; a != nil && deref(a.Managed) {
		out.EntraTenantID = a.TenantID
	}
	// A cluster still being made or failed may not give its kubeconfig yet.
	if !deleting(p.ProvisioningState) {
		kc, err := c.Env.d.userCredentials(ctx, deref(mc.ID))
		switch {
		case err == nil:
			out.Endpoint, out.CACertificate = kc.server, base64.StdEncoding.EncodeToString(kc.caPEM)
		case strings.EqualFold(deref(p.ProvisioningState), "Succeeded"):
			return nil, err
		}
	}
	if createFailed(p.ProvisioningState, c.Recorded.ProvisioningState) {
		return c.FoundFailed(in, out), nil
	}
	return c.Found(in, out), nil
}

// Settle waits until an adopted cluster's provisioning ends (Read then
// reads its endpoint and CA from the user kubeconfig, which AKS gives
// once the cluster is up). A failed or vanished cluster is left for Read
// to report.
func (h clusterHandler) Settle(ctx context.Context, c *clusterCall) error {
	rid := parseID(c.ID)
	if rid == nil {
		return nil
	}
	return c.Env.settle(ctx, func() (*string, bool, error) {
		mc, err := c.Env.getCluster(ctx, rid.ResourceGroupName, rid.Name)
		if err != nil || mc == nil || mc.Properties == nil {
			return nil, mc != nil, err
		}
		return mc.Properties.ProvisioningState, true, nil
	})
}

// Update upgrades the control plane and the System pool one minor, sets
// the tier and authorized IP ranges (one PUT of the cluster), then changes
// the System pool: in place (scaling, labels, taints) through the agent
// pools API, or — when its VM size or zones change, which AKS cannot do in
// place — by rotation: a new System pool (new hashed name) is created and
// the old one deleted, so the cluster always keeps a System pool.
func (h clusterHandler) Update(ctx context.Context, c *clusterCall, _ []string) error {
	rid := parseID(c.ID)
	if rid == nil {
		return fmt.Errorf("%q is not an Azure resource ID", c.ID)
	}
	e, group, name := c.Env, rid.ResourceGroupName, rid.Name
	mc, err := e.getCluster(ctx, group, name)
	if err != nil {
		return err
	}
	if mc == nil || mc.Properties == nil {
		return fmt.Errorf("AKS cluster %s: %w", name, providers.ErrNotFound)
	}
	want := c.In.KubernetesVersion
	have := minorString(deref(mc.Properties.KubernetesVersion))
	var prevName string
	if c.Prev.SystemPool != nil {
		prevName = c.Prev.SystemPool.Name
	}
	live := systemProfile(mc, prevName)

	put := false
	if want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("AKS cluster %s: %w", name, err)
		}
		if err := h.checkOffered(ctx, e, group, name, have, want); err != nil {
			return err
		}
		// The control plane alone: the System pool follows through the
		// agent pools API below, a surge upgrade with its maxSurge.
		mc.Properties.KubernetesVersion = to(want)
		put = true
	}
	if tier := aks.ManagedClusterSKUTier(deref(c.In.SKUTier)); mc.SKU == nil || deref(mc.SKU.Tier) != tier {
		if mc.SKU == nil {
			mc.SKU = &aks.ManagedClusterSKU{Name: to(aks.ManagedClusterSKUNameBase)}
		}
		mc.SKU.Tier = to(tier)
		put = true
	}
	ranges := c.In.AuthorizedIPRanges
	if a := mc.Properties.APIServerAccessProfile; a == nil || !kit.SameSet(fromPtrList(a.AuthorizedIPRanges), ranges) {
		if a == nil {
			mc.Properties.APIServerAccessProfile = &aks.ManagedClusterAPIServerAccessProfile{}
		}
		mc.Properties.APIServerAccessProfile.AuthorizedIPRanges = ptrList(ranges)
		if ranges == nil {
			mc.Properties.APIServerAccessProfile.AuthorizedIPRanges = []*string{}
		}
		put = true
	}
	if on := c.In.WorkloadIdentity; on != workloadIdentityOn(mc.Properties) {
		if on {
			mc.Properties.OidcIssuerProfile = oidcProfile(true)
			mc.Properties.SecurityProfile = securityProfile(true)
		} else { // the issuer stays: AKS cannot disable it
			if mc.Properties.SecurityProfile == nil {
				mc.Properties.SecurityProfile = &aks.ManagedClusterSecurityProfile{}
			}
			mc.Properties.SecurityProfile.WorkloadIdentity = &aks.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to(false)}
		}
		put = true
	}
	if on := c.In.EntraRBAC; on != entraRBACOn(mc.Properties) {
		mc.Properties.AADProfile = aadProfile(mc.Properties.AADProfile, on)
		put = true
	}
	if put {
		_, err := run(ctx, e.d, func(ctx context.Context) (*runtime.Poller[aks.ManagedClustersClientCreateOrUpdateResponse], error) {
			return e.cl.clusters.BeginCreateOrUpdate(ctx, group, name, *mc, nil)
		})
		if err != nil {
			return fmt.Errorf("update AKS cluster %s (version %s, tier, authorized IP ranges, workload identity, Entra ID): %w", name, want, err)
		}
	}
	return h.updateSystemPool(ctx, c, group, name, live)
}

// checkOffered asks AKS which upgrades it offers the cluster and refuses a
// minor it does not list, naming the ones it does.
func (clusterHandler) checkOffered(ctx context.Context, e *env, group, name, have, want string) error {
	prof, err := e.cl.clusters.GetUpgradeProfile(ctx, group, name, nil)
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

func (h clusterHandler) updateSystemPool(ctx context.Context, c *clusterCall, group, cluster string, live *aks.ManagedClusterAgentPoolProfile) error {
	if live == nil {
		return fmt.Errorf("AKS cluster %s has no System pool", cluster)
	}
	e, sp := c.Env, c.In.SystemPool
	spec := sp.spec()
	subnet, version := deref(c.In.SubnetID), c.In.KubernetesVersion
	liveVals := poolValues(profileProps(live), spec)
	newName := ""
	if sp != nil {
		newName = sp.Name
	}
	rotate := deref(live.Name) != newName || liveVals.VMSize != spec.VMSize || !kit.SameSet(liveVals.Zones, spec.Zones)
	if rotate {
		props := poolProps(spec, aks.AgentPoolModeSystem, subnet, version, tags(c.Meta))
		if _, err := runPool(ctx, e, group, cluster, newName, props); err != nil {
			return fmt.Errorf("rotate the System pool: create %s (%s): %w", newName, spec.VMSize, err)
		}
		old := deref(live.Name)
		if err := e.drainPool(ctx, c.ID, old); err != nil {
			return fmt.Errorf("rotate the System pool: %w", err)
		}
		err := deleteLRO(ctx, e, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientDeleteResponse], error) {
			return e.cl.pools.BeginDelete(ctx, group, cluster, old, nil)
		})
		if err != nil {
			return fmt.Errorf("rotate the System pool: delete the old pool %s: %w", old, err)
		}
		return nil
	}
	props := profileProps(live)
	props.CurrentOrchestratorVersion, props.ProvisioningState = nil, nil
	if !applyPoolChanges(props, spec, version) {
		return nil
	}
	if _, err := runPool(ctx, e, group, cluster, deref(live.Name), props); err != nil {
		return fmt.Errorf("update the System pool %s: %w", deref(live.Name), err)
	}
	return nil
}

// applyPoolChanges sets the in-place settings of pool on props and
// reports whether anything changed.
func applyPoolChanges(props *aks.ManagedClusterAgentPoolProfileProperties, pool poolSpec, version string) bool {
	before := poolValues(props, pool)
	beforeVersion := minorString(deref(props.OrchestratorVersion))
	setScaling(props, int32(pool.Min), int32(pool.Max))
	labels := maps.Clone(pool.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if l, ok := props.NodeLabels[spotLabelKey]; ok && deref(props.ScaleSetPriority) == aks.ScaleSetPrioritySpot {
		labels[spotLabelKey] = deref(l) // AKS's own, kept
	}
	props.NodeLabels = ptrMap(labels)
	taints := slices.Clone(pool.Taints)
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
	surgeChanged := false
	if u := pool.upgradeSettings(); u != nil && (props.UpgradeSettings == nil || deref(props.UpgradeSettings.MaxSurge) != deref(u.MaxSurge)) {
		if props.UpgradeSettings == nil {
			props.UpgradeSettings = &aks.AgentPoolUpgradeSettings{}
		}
		props.UpgradeSettings.MaxSurge, surgeChanged = u.MaxSurge, true
	}
	skuChanged := false
	if want := pool.Options.OSSKU; want != nil && string(deref(props.OSSKU)) != *want {
		// AKS migrates a Linux pool's OS SKU in place, node by node.
		props.OSSKU, skuChanged = to(aks.OSSKU(*want)), true
	}
	after := poolValues(props, pool)
	return surgeChanged || skuChanged || beforeVersion != minorString(version) && version != "" ||
		before.Min != after.Min || before.Max != after.Max ||
		!maps.Equal(before.Labels, after.Labels) || !kit.SameSet(before.Taints, after.Taints)
}

// runPool creates or updates an agent pool and waits for it, in the
// cluster's queue (onCluster).
func runPool(ctx context.Context, e *env, group, cluster, name string, props *aks.ManagedClusterAgentPoolProfileProperties) (aks.AgentPoolsClientCreateOrUpdateResponse, error) {
	var out aks.AgentPoolsClientCreateOrUpdateResponse
	err := e.onCluster(ctx, group, cluster, func() (err error) {
		out, err = run(ctx, e.d, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientCreateOrUpdateResponse], error) {
			return e.cl.pools.BeginCreateOrUpdate(ctx, group, cluster, name, aks.AgentPool{Properties: props}, nil)
		})
		return err
	})
	return out, err
}

// onCluster runs fn, an operation on a managed cluster or one of its agent
// pools, when no other operation of this driver on that cluster runs: AKS
// refuses a second operation on a cluster while one runs, so the driver's
// own operations wait for each other instead of colliding.
func (e *env) onCluster(ctx context.Context, group, cluster string, fn func() error) error {
	return e.d.clusterOps.Do(ctx, strings.ToLower(group+"/"+cluster), fn)
}

func (clusterHandler) Delete(ctx context.Context, c *clusterCall) error {
	rid := parseID(c.ID)
	if rid == nil {
		return nil
	}
	return deleteLRO(ctx, c.Env, func(ctx context.Context) (*runtime.Poller[aks.ManagedClustersClientDeleteResponse], error) {
		return c.Env.cl.clusters.BeginDelete(ctx, rid.ResourceGroupName, rid.Name, nil)
	})
}

// ---- azure_kubernetes_node_pool ----
//
// A User agent pool. Its ID is its ARM ID; its cluster comes from the
// cluster_id input.

type nodePoolIn struct {
	ClusterID         string            `kit:"cluster_id,replace" why:"a pool belongs to one cluster"`
	Name              string            `kit:"name,replace" why:"AKS cannot rename a pool"`
	VMSize            string            `kit:"vm_size,replace" why:"AKS cannot change a pool's VM size in place"`
	Zones             []string          `kit:"zones,replace,set" why:"AKS cannot move a pool to other zones"`
	SubnetID          string            `kit:"subnet_id,replace" why:"AKS cannot move a pool to another subnet"`
	Priority          string            `kit:"priority,replace" why:"AKS cannot switch a pool to or from Spot"`
	EvictionPolicy    *string           `kit:"eviction_policy,omitempty,replace" why:"AKS cannot change a Spot pool's eviction policy"`
	SpotMaxPrice      *float64          `kit:"spot_max_price,omitempty,replace" why:"AKS cannot change a Spot pool's maximum price in place"`
	Min               int               `kit:"min"`
	Max               int               `kit:"max"`
	Labels            map[string]string `kit:"labels"`
	Taints            []string          `kit:"taints,set"`
	KubernetesVersion string            `kit:"kubernetes_version"`
	// MaxSurge is upgradeSettings.maxSurge; nil leaves AKS's.
	MaxSurge *int `kit:"max_surge,omitempty"`
	// The node options (nodeoptions.go); nil leaves AKS's default, which
	// Read then does not report either.
	OSDiskSizeGB *int    `kit:"os_disk_size_gb,omitempty,replace" why:"AKS cannot resize a pool's OS disk"`
	OSDiskType   *string `kit:"os_disk_type,omitempty,replace" why:"AKS cannot change a pool's OS disk type"`
	MaxPods      *int    `kit:"max_pods,omitempty,replace" why:"AKS cannot change a pool's max pods"`
	OSType       *string `kit:"os_type,omitempty,replace" why:"AKS cannot change a pool's OS type"`
	OSSKU        *string `kit:"os_sku,omitempty"`
}

func (p nodePoolIn) options() poolOptions {
	return poolOptions{OSDiskSizeGB: p.OSDiskSizeGB, OSDiskType: p.OSDiskType, MaxPods: p.MaxPods, OSType: p.OSType, OSSKU: p.OSSKU}
}

func (p nodePoolIn) spec() poolSpec {
	s := poolSpec{VMSize: p.VMSize, Zones: p.Zones, Min: p.Min, Max: p.Max, Labels: p.Labels, Taints: p.Taints, Priority: p.Priority,
		EvictionPolicy: deref(p.EvictionPolicy), MaxSurge: p.MaxSurge, Options: p.options()}
	if p.SpotMaxPrice != nil {
		s.SpotMaxPrice = *p.SpotMaxPrice
	}
	return s
}

type nodePoolOut struct {
	ID                       string `kit:"id"`
	Name                     string `kit:"name"`
	ProvisioningState        string `kit:"provisioning_state"`
	CurrentKubernetesVersion string `kit:"current_kubernetes_version"`
	NodeCount                int    `kit:"node_count"`
	// IdempotencyKey says which create made the pool at this ID: ARM IDs
	// are names, so a replacement of a failed pool reuses the ID (see
	// Delete).
	IdempotencyKey string `kit:"idempotency_key"`
}

type nodePoolCall = call[nodePoolIn, nodePoolOut]

type poolHandler struct{}

// poolCluster returns the resource group and name of the pool's cluster.
func poolCluster(in nodePoolIn) (group, cluster string, err error) {
	r, err := parseARM("cluster_id", in.ClusterID)
	if err != nil {
		return "", "", err
	}
	return r.ResourceGroupName, in.ClusterID[strings.LastIndex(in.ClusterID, "/")+1:], nil
}

func (poolHandler) get(ctx context.Context, e *env, group, cluster, name string) (*aks.AgentPool, error) {
	out, err := e.cl.pools.Get(ctx, group, cluster, name, nil)
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

func (h poolHandler) Find(ctx context.Context, c *nodePoolCall) (string, error) {
	group, cluster, err := poolCluster(c.In)
	if err != nil {
		return "", nil
	}
	ap, err := h.get(ctx, c.Env, group, cluster, c.In.Name)
	if err != nil || ap == nil || !matchTags(c.Meta, poolTags(ap)) || ap.Properties != nil && deleting(ap.Properties.ProvisioningState) {
		return "", err
	}
	return deref(ap.ID), nil
}

func (h poolHandler) Create(ctx context.Context, c *nodePoolCall) (string, error) {
	group, cluster, err := poolCluster(c.In)
	if err != nil {
		return "", err
	}
	e, name := c.Env, c.In.Name
	ap, err := h.get(ctx, e, group, cluster, name)
	if err != nil {
		return "", err
	}
	if ap != nil && !matchTags(c.Meta, poolTags(ap)) {
		if !h.failedPredecessor(c.Meta, ap) {
			return "", notOurs("AKS agent pool", name, poolTags(ap))
		}
		// The engine is replacing a pool of this address whose create
		// failed: it holds the name (names hash only what forces a
		// replacement) but no capacity, so it goes first. Its deposed
		// record is then skipped by delete (another key holds the name).
		err := deleteLRO(ctx, e, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientDeleteResponse], error) {
			return e.cl.pools.BeginDelete(ctx, group, cluster, name, nil)
		})
		if err != nil {
			return "", fmt.Errorf("delete the failed AKS agent pool %s it replaces: %w", name, err)
		}
		ap = nil
	}
	if ap == nil {
		props := poolProps(c.In.spec(), aks.AgentPoolModeUser, c.In.SubnetID, c.In.KubernetesVersion, tags(c.Meta))
		if _, err := runPool(ctx, e, group, cluster, name, props); err != nil {
			var gerr error
			ap, gerr = h.get(ctx, e, group, cluster, name)
			if gerr != nil || ap == nil || !matchTags(c.Meta, poolTags(ap)) {
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
		} else if ap, err = h.get(ctx, e, group, cluster, name); err != nil || ap == nil {
			return "", fmt.Errorf("AKS agent pool %s: read after create: %v", name, err)
		}
	}
	for ap.Properties != nil && inProgress(ap.Properties.ProvisioningState) {
		if err := kit.Sleep(ctx, e.d.pollDelay(nil)); err != nil {
			return deref(ap.ID), err
		}
		next, err := h.get(ctx, e, group, cluster, name)
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
func (poolHandler) failedPredecessor(m kit.Meta, ap *aks.AgentPool) bool {
	tags := poolTags(ap)
	return m.Key != "" && deref(tags[TagAddress]) == m.Address && deref(tags[TagIdempotencyKey]) != m.Key &&
		ap.Properties != nil && strings.EqualFold(deref(ap.Properties.ProvisioningState), "Failed")
}

func (h poolHandler) Read(ctx context.Context, c *nodePoolCall) (*kit.Live[nodePoolIn, nodePoolOut], error) {
	rid := parseID(c.ID)
	if rid == nil || rid.Parent == nil {
		return nil, nil
	}
	ap, err := h.get(ctx, c.Env, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
	if err != nil || ap == nil || ap.Properties == nil {
		return nil, err
	}
	return h.live(c, rid, ap), nil
}

func (poolHandler) live(c *nodePoolCall, rid *arm.ResourceID, ap *aks.AgentPool) *kit.Live[nodePoolIn, nodePoolOut] {
	if ap.Properties == nil {
		return nil
	}
	p := ap.Properties
	pv := poolValues(p, c.Prev.spec())
	in := nodePoolIn{
		ClusterID: sameID(rid.Parent.String(), c.Prev.ClusterID), Name: deref(ap.Name),
		VMSize: pv.VMSize, Zones: pv.Zones, Min: pv.Min, Max: pv.Max, Labels: pv.Labels, Taints: pv.Taints, MaxSurge: pv.MaxSurge,
		OSDiskSizeGB: pv.Options.OSDiskSizeGB, OSDiskType: pv.Options.OSDiskType, MaxPods: pv.Options.MaxPods,
		OSType: pv.Options.OSType, OSSKU: pv.Options.OSSKU,
		SubnetID:          sameID(deref(p.VnetSubnetID), c.Prev.SubnetID),
		KubernetesVersion: minorString(deref(p.OrchestratorVersion)),
		Priority:          priorityRegular,
	}
	if deref(p.ScaleSetPriority) == aks.ScaleSetPrioritySpot {
		in.Priority = prioritySpot
		in.EvictionPolicy = to(string(deref(p.ScaleSetEvictionPolicy)))
		in.SpotMaxPrice = to(float64(deref(p.SpotMaxPrice)))
	}
	out := nodePoolOut{
		ID: deref(ap.ID), Name: deref(ap.Name), ProvisioningState: deref(p.ProvisioningState),
		CurrentKubernetesVersion: deref(p.CurrentOrchestratorVersion), NodeCount: int(deref(p.Count)),
		IdempotencyKey: deref(p.Tags[TagIdempotencyKey]),
	}
	if createFailed(p.ProvisioningState, c.Recorded.ProvisioningState) {
		return c.FoundFailed(in, out)
	}
	return c.Found(in, out)
}

// Settle waits until an adopted pool's provisioning ends.
func (h poolHandler) Settle(ctx context.Context, c *nodePoolCall) error {
	rid := parseID(c.ID)
	if rid == nil || rid.Parent == nil {
		return nil
	}
	return c.Env.settle(ctx, func() (*string, bool, error) {
		ap, err := h.get(ctx, c.Env, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
		if err != nil || ap == nil || ap.Properties == nil {
			return nil, ap != nil, err
		}
		return ap.Properties.ProvisioningState, true, nil
	})
}

// Update upgrades the pool's Kubernetes version (one minor, after its
// cluster) and sets scaling, labels and taints in one PUT of the pool.
func (h poolHandler) Update(ctx context.Context, c *nodePoolCall, _ []string) error {
	rid := parseID(c.ID)
	if rid == nil || rid.Parent == nil {
		return fmt.Errorf("%q is not an agent pool ID", c.ID)
	}
	group, cluster, name := rid.ResourceGroupName, rid.Parent.Name, rid.Name
	ap, err := h.get(ctx, c.Env, group, cluster, name)
	if err != nil {
		return err
	}
	if ap == nil || ap.Properties == nil {
		return fmt.Errorf("AKS agent pool %s: %w", name, providers.ErrNotFound)
	}
	want, have := c.In.KubernetesVersion, minorString(deref(ap.Properties.OrchestratorVersion))
	if err := CheckUpgrade(have, want); err != nil {
		return fmt.Errorf("AKS agent pool %s: %w", name, err)
	}
	props := ap.Properties
	props.CurrentOrchestratorVersion, props.ProvisioningState = nil, nil
	if !applyPoolChanges(props, c.In.spec(), want) {
		return nil
	}
	if _, err := runPool(ctx, c.Env, group, cluster, name, props); err != nil {
		return fmt.Errorf("update AKS agent pool %s: %w", name, err)
	}
	return nil
}

// Delete removes the pool at c.ID — unless another create's pool now holds
// that name (the recorded idempotency_key differs from the live pool's):
// then the recorded pool is already gone, replaced by a new one.
func (h poolHandler) Delete(ctx context.Context, c *nodePoolCall) error {
	rid := parseID(c.ID)
	if rid == nil || rid.Parent == nil {
		return nil
	}
	if key := c.Recorded.IdempotencyKey; key != "" {
		ap, err := h.get(ctx, c.Env, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
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
	if c.DeleteReason.Drains() {
		if err := c.Env.drainPool(ctx, rid.Parent.String(), rid.Name); err != nil {
			return err
		}
	}
	return c.Env.onCluster(ctx, rid.ResourceGroupName, rid.Parent.Name, func() error {
		return deleteLRO(ctx, c.Env, func(ctx context.Context) (*runtime.Poller[aks.AgentPoolsClientDeleteResponse], error) {
			return c.Env.cl.pools.BeginDelete(ctx, rid.ResourceGroupName, rid.Parent.Name, rid.Name, nil)
		})
	})
}
