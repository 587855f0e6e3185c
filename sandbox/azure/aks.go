package azure

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// AKSVersions are the Kubernetes versions the emulated AKS offers, one
// patch per minor, oldest first. A cluster may ask for "1.33" or "1.33.5".
var AKSVersions = []string{"1.31.13", "1.32.9", "1.33.5", "1.34.1"}

// DefaultAKSVersion is the version a cluster gets when none is asked for.
const DefaultAKSVersion = "1.33"

// NodeImageVersion is the node image every agent pool reports.
const NodeImageVersion = "AKSUbuntu-2204gen2containerd-202511.07.0"

var (
	clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`)
	poolNameRE    = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	vmSizeRE      = regexp.MustCompile(`^Standard_[A-Za-z0-9_]+$`)
	taintRE       = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*:(NoSchedule|PreferNoSchedule|NoExecute)$`)
)

// resolveVersion turns "1.33" or "1.33.5" into a supported patch version.
func resolveVersion(v string) (string, *armErr) {
	for _, s := range AKSVersions {
		if v == s || v+"."+strings.Split(s, ".")[2] == s {
			return s, nil
		}
	}
	return "", errf(http.StatusBadRequest, "K8sVersionNotSupported", "Version %s is not supported in this region. Supported versions: %s (or their minors).", v, strings.Join(AKSVersions, ", "))
}

func minor(v string) int {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(parts[1]) // versions come from AKSVersions
	return n
}

func clusterID(rt route, name string) string {
	// AKS spells the segment "resourcegroups" in the ids it returns.
	return "/subscriptions/" + rt.sub + "/resourcegroups/" + rt.group + "/providers/Microsoft.ContainerService/managedClusters/" + name
}

func clusterNotFound(rt route) *armErr {
	return errf(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", rt.name, rt.group)
}

func hash8(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key(s))) // hash writes never fail
	return fmt.Sprintf("%08x", h.Sum32())
}

// toProps converts a cluster's inline agent pool profile to agent pool
// properties (the same fields without the name) through their JSON forms.
func toProps(p *armcontainerservice.ManagedClusterAgentPoolProfile) (*armcontainerservice.ManagedClusterAgentPoolProfileProperties, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "name")
	data, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out armcontainerservice.ManagedClusterAgentPoolProfileProperties
	return &out, json.Unmarshal(data, &out)
}

func toProfile(p *poolRec) armcontainerservice.ManagedClusterAgentPoolProfile {
	var out armcontainerservice.ManagedClusterAgentPoolProfile
	data, err := json.Marshal(p.V.Properties)
	if err == nil {
		err = json.Unmarshal(data, &out)
	}
	if err != nil {
		panic("agent pool properties do not round-trip: " + err.Error()) // programmer error: SDK model changed
	}
	out.Name = p.V.Name
	return out
}

func (e *Emulator) poolsOf(ck string) []*poolRec {
	var out []*poolRec
	for _, p := range e.st.Pools {
		if p.Cluster == ck {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return deref(out[i].V.Name) < deref(out[j].V.Name) })
	return out
}

// clusterView is a managed cluster as AKS returns it: its agent pools
// appear in agentPoolProfiles.
func (e *Emulator) clusterView(c *clusterRec) armcontainerservice.ManagedCluster {
	out := c.V
	props := *c.V.Properties
	props.AgentPoolProfiles = []*armcontainerservice.ManagedClusterAgentPoolProfile{}
	for _, p := range e.poolsOf(key(deref(c.V.ID))) {
		props.AgentPoolProfiles = append(props.AgentPoolProfiles, ptr(toProfile(p)))
	}
	e.computedView(c, &props)
	out.Properties = &props
	return out
}

// clusterBusy refuses a change while an operation runs on the cluster or
// one of its pools, as AKS does.
func (e *Emulator) clusterBusy(ck string) *armErr {
	if o := e.pending(ck); o != nil {
		return errf(http.StatusConflict, "OperationNotAllowed", "Operation is not allowed because there's an in progress %s operation on the managed cluster.", strings.TrimPrefix(o.Op, "azure:"))
	}
	for _, p := range e.poolsOf(ck) {
		if o := e.pending(key(deref(p.V.ID))); o != nil {
			return errf(http.StatusConflict, "OperationNotAllowed", "Operation is not allowed because there's an in progress %s operation on agent pool %s.", strings.TrimPrefix(o.Op, "azure:"), deref(p.V.Name))
		}
	}
	return nil
}

func propertyChange(field string) *armErr {
	return errf(http.StatusBadRequest, "PropertyChangeNotAllowed", "Changing property '%s' is not allowed.", field)
}

// checkPool validates and defaults agent pool properties; old is the
// pool's current properties when it exists.
func (e *Emulator) checkPool(name string, in, old *armcontainerservice.ManagedClusterAgentPoolProfileProperties, cl *clusterRec, version string) *armErr {
	if !poolNameRE.MatchString(name) {
		return badParam("Agent pool name '%s' is invalid: use 1-12 lowercase letters and digits, starting with a letter.", name)
	}
	if in.Mode == nil {
		in.Mode = ptr(armcontainerservice.AgentPoolModeUser)
	}
	if m := *in.Mode; m != armcontainerservice.AgentPoolModeSystem && m != armcontainerservice.AgentPoolModeUser {
		return badParam("Agent pool '%s': mode '%s' is not valid; use System or User.", name, m)
	}
	system := *in.Mode == armcontainerservice.AgentPoolModeSystem
	if in.VMSize == nil {
		in.VMSize = ptr("Standard_DS2_v2")
	}
	if !vmSizeRE.MatchString(*in.VMSize) {
		return badParam("Agent pool '%s': vmSize '%s' is not a valid VM size (for example Standard_D4s_v5).", name, *in.VMSize)
	}
	if in.ScaleSetPriority != nil && *in.ScaleSetPriority == armcontainerservice.ScaleSetPrioritySpot {
		if system {
			return badParam("Agent pool '%s': System agent pools cannot use Spot priority; use mode User.", name)
		}
		if in.ScaleSetEvictionPolicy == nil {
			in.ScaleSetEvictionPolicy = ptr(armcontainerservice.ScaleSetEvictionPolicyDelete)
		}
		if in.SpotMaxPrice == nil {
			in.SpotMaxPrice = ptr[float32](-1)
		}
	} else {
		in.ScaleSetPriority = ptr(armcontainerservice.ScaleSetPriorityRegular)
		// az aks nodepool add sends the Spot defaults (Delete, -1) for every
		// pool; AKS ignores them on a Regular pool.
		if (in.ScaleSetEvictionPolicy != nil && *in.ScaleSetEvictionPolicy != armcontainerservice.ScaleSetEvictionPolicyDelete) ||
			(in.SpotMaxPrice != nil && *in.SpotMaxPrice != -1) {
			return badParam("Agent pool '%s': scaleSetEvictionPolicy and spotMaxPrice apply only to Spot pools.", name)
		}
		in.ScaleSetEvictionPolicy, in.SpotMaxPrice = nil, nil
	}
	minCount := int32(0)
	if system {
		minCount = 1
	}
	if deref(in.EnableAutoScaling) {
		if in.MinCount == nil || in.MaxCount == nil {
			return badParam("Agent pool '%s': minCount and maxCount are required when enableAutoScaling is true.", name)
		}
		if *in.MinCount < minCount || *in.MaxCount > 1000 || *in.MinCount > *in.MaxCount {
			return badParam("Agent pool '%s': autoscaler range %d..%d is not valid; want %d <= minCount <= maxCount <= 1000.", name, *in.MinCount, *in.MaxCount, minCount)
		}
		if in.Count == nil {
			in.Count = ptr(*in.MinCount)
		}
		if *in.Count < *in.MinCount || *in.Count > *in.MaxCount {
			return badParam("Agent pool '%s': count %d must be within minCount %d and maxCount %d.", name, *in.Count, *in.MinCount, *in.MaxCount)
		}
	} else {
		in.EnableAutoScaling = ptr(false)
		if in.MinCount != nil || in.MaxCount != nil {
			return badParam("Agent pool '%s': minCount and maxCount must be null when enableAutoScaling is false.", name)
		}
		if in.Count == nil {
			in.Count = ptr[int32](1)
		}
		if *in.Count < minCount || *in.Count > 1000 {
			return badParam("Agent pool '%s': count %d is not valid; want %d..1000.", name, *in.Count, minCount)
		}
	}
	if aerr := checkZones(in.AvailabilityZones, "Agent pool "+name); aerr != nil {
		return aerr
	}
	for _, t := range in.NodeTaints {
		if !taintRE.MatchString(deref(t)) {
			return badParam("Agent pool '%s': taint '%s' is not valid; use key=value:NoSchedule|PreferNoSchedule|NoExecute.", name, deref(t))
		}
	}
	for _, field := range []struct {
		name string
		id   *string
	}{{"vnetSubnetID", in.VnetSubnetID}, {"podSubnetID", in.PodSubnetID}} {
		if field.id == nil {
			continue
		}
		if _, ok := e.st.Subnets[key(*field.id)]; !ok {
			return badParam("Agent pool '%s': %s '%s' was not found.", name, field.name, *field.id)
		}
	}
	pv := version
	if in.OrchestratorVersion != nil {
		v, aerr := resolveVersion(*in.OrchestratorVersion)
		if aerr != nil {
			return aerr
		}
		if minor(v) > minor(version) || (minor(v) == minor(version) && v != version) {
			return badParam("Agent pool '%s': orchestratorVersion %s is newer than the control plane's %s.", name, *in.OrchestratorVersion, version)
		}
		pv = v
	} else {
		in.OrchestratorVersion = ptr(strings.Join(strings.Split(version, ".")[:2], "."))
	}
	if old != nil {
		for _, f := range []struct {
			name     string
			old, new string
		}{
			{"vmSize", deref(old.VMSize), deref(in.VMSize)},
			{"vnetSubnetID", key(deref(old.VnetSubnetID)), key(deref(in.VnetSubnetID))},
			{"podSubnetID", key(deref(old.PodSubnetID)), key(deref(in.PodSubnetID))},
			{"scaleSetPriority", string(deref(old.ScaleSetPriority)), string(deref(in.ScaleSetPriority))},
			{"availabilityZones", fmt.Sprint(derefAll(old.AvailabilityZones)), fmt.Sprint(derefAll(in.AvailabilityZones))},
		} {
			if f.old != f.new {
				return propertyChange(f.name)
			}
		}
		if minor(pv) > minor(deref(old.CurrentOrchestratorVersion))+1 {
			return errf(http.StatusBadRequest, "OperationNotAllowed", "Agent pool '%s': upgrading from %s to %s skips a minor version; upgrade one minor at a time.", name, deref(old.CurrentOrchestratorVersion), pv)
		}
		in.CurrentOrchestratorVersion = old.CurrentOrchestratorVersion
	} else {
		in.CurrentOrchestratorVersion = ptr(pv)
	}
	if aerr := checkNodeOptions(name, in, old, cl); aerr != nil {
		return aerr
	}
	if in.Type == nil {
		in.Type = ptr(armcontainerservice.AgentPoolTypeVirtualMachineScaleSets)
	}
	if in.KubeletDiskType == nil {
		in.KubeletDiskType = ptr(armcontainerservice.KubeletDiskTypeOS)
	}
	if in.UpgradeSettings == nil {
		in.UpgradeSettings = &armcontainerservice.AgentPoolUpgradeSettings{}
	}
	if in.UpgradeSettings.MaxSurge == nil { // az sends "upgradeSettings": {}
		in.UpgradeSettings.MaxSurge = ptr("10%")
	}
	in.EnableFIPS = ptr(deref(in.EnableFIPS))
	in.EnableNodePublicIP = ptr(deref(in.EnableNodePublicIP))
	in.NodeImageVersion = ptr(NodeImageVersion)
	in.PowerState = &armcontainerservice.PowerState{Code: ptr(armcontainerservice.CodeRunning)}
	in.ETag = ptr(uuid.NewString())
	return nil
}

func derefAll(ps []*string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, deref(p))
	}
	sort.Strings(out)
	return out
}

// systemPoolsAfter counts the System pools of a cluster if pool name had
// mode m (or were gone, when m is "").
func (e *Emulator) systemPoolsAfter(ck, name string, m armcontainerservice.AgentPoolMode) int {
	n := 0
	for _, p := range e.poolsOf(ck) {
		if strings.EqualFold(deref(p.V.Name), name) || deref(p.V.Properties.ProvisioningState) == stDeleting {
			continue
		}
		if deref(p.V.Properties.Mode) == armcontainerservice.AgentPoolModeSystem {
			n++
		}
	}
	if m == armcontainerservice.AgentPoolModeSystem {
		n++
	}
	return n
}

func noSystemPool() *armErr {
	return errf(http.StatusBadRequest, "OperationNotAllowed", "A cluster must have at least one system agent pool: the last System pool cannot be deleted or changed to User mode. Add another System pool first.")
}

func (e *Emulator) serveCluster(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	_, gk, aerr := e.groupFor(rt, rt.op == "managedClusters.createOrUpdate")
	if aerr != nil {
		return false, aerr
	}
	if rt.op == "managedClusters.list" {
		return false, writePage(w, r, viewsOf(sortedBy(s.Clusters, func(c *clusterRec) string { return c.Group }, gk), e.clusterView), clusterPage)
	}
	id := clusterID(rt, rt.name)
	ck := key(id)
	cl, exists := s.Clusters[ck]
	switch rt.op {
	case "managedClusters.get":
		if !exists {
			return false, clusterNotFound(rt)
		}
		writeJSON(w, http.StatusOK, e.clusterView(cl))
		return false, nil
	case "managedClusters.getUpgradeProfile":
		if !exists {
			return false, clusterNotFound(rt)
		}
		writeJSON(w, http.StatusOK, e.upgradeProfile(cl))
		return false, nil
	case "managedClusters.listClusterUserCredentials", "managedClusters.listClusterAdminCredentials":
		if !exists {
			return false, clusterNotFound(rt)
		}
		name := "clusterUser"
		if rt.op == "managedClusters.listClusterAdminCredentials" {
			name = "clusterAdmin"
			if deref(cl.V.Properties.DisableLocalAccounts) {
				return false, errf(http.StatusBadRequest, "BadRequest", "Getting static credential is not allowed because this cluster is set to disable local accounts.")
			}
		}
		writeJSON(w, http.StatusOK, armcontainerservice.CredentialResults{Kubeconfigs: []*armcontainerservice.CredentialResult{
			{Name: ptr(name), Value: kubeconfig(cl, rt.group, name)}}})
		return false, nil
	case "managedClusters.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		if o := e.pending(ck); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(cl.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		cl.V.Properties.ProvisioningState = ptr(stDeleting)
		for _, p := range e.poolsOf(ck) {
			e.cancel(key(deref(p.V.ID)))
			p.V.Properties.ProvisioningState = ptr(stDeleting)
		}
		o := e.startOp("azure:managedClusters.delete", kindCluster, ck, true, c.Fail)
		e.writeLRO(w, r, rt, deref(cl.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	case "managedClusters.createOrUpdate":
	default:
		return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
	}
	var in armcontainerservice.ManagedCluster
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	if exists {
		return e.updateCluster(w, r, rt, c, cl, &in)
	}
	return e.createCluster(w, r, rt, c, gk, &in)
}

// cancel ends an operation in progress on target as Canceled (a delete
// overtook it).
func (e *Emulator) cancel(target string) {
	for _, o := range e.st.Ops {
		if o.Target == target && o.Status == opInProgress && !o.Delete {
			o.Status, o.End = "Canceled", e.env.Now().UTC()
			o.ErrCode, o.ErrMsg = "OperationCanceled", "The operation was canceled because the resource is being deleted."
		}
	}
}

func (e *Emulator) createCluster(w http.ResponseWriter, r *http.Request, rt route, c emu.Call, gk string, in *armcontainerservice.ManagedCluster) (bool, *armErr) {
	s := e.st
	if !clusterNameRE.MatchString(rt.name) {
		return false, badParam("Managed cluster name '%s' is invalid: use 1-63 letters, digits, hyphens and underscores, starting and ending with a letter or digit.", rt.name)
	}
	loc := normLocation(deref(in.Location))
	if loc == "" {
		return false, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if in.Properties == nil || len(in.Properties.AgentPoolProfiles) == 0 {
		return false, badParam("properties.agentPoolProfiles: a managed cluster needs at least one agent pool, of mode System.")
	}
	props := in.Properties
	id := clusterID(rt, rt.name)
	ck := key(id)
	version := DefaultAKSVersion
	if props.KubernetesVersion != nil {
		version = *props.KubernetesVersion
	}
	full, aerr := resolveVersion(version)
	if aerr != nil {
		return false, aerr
	}
	props.KubernetesVersion = ptr(version)
	props.CurrentKubernetesVersion = ptr(full)
	np := props.NetworkProfile
	if np == nil {
		np = &armcontainerservice.NetworkProfile{}
		props.NetworkProfile = np
	}
	if np.NetworkPlugin == nil {
		np.NetworkPlugin = ptr(armcontainerservice.NetworkPluginKubenet)
	}
	if np.ServiceCidr == nil {
		np.ServiceCidr, np.DNSServiceIP = ptr("10.0.0.0/16"), ptr("10.0.0.10")
	}
	if np.PodCidr == nil && (*np.NetworkPlugin == armcontainerservice.NetworkPluginKubenet || deref(np.NetworkPluginMode) == armcontainerservice.NetworkPluginModeOverlay) {
		np.PodCidr = ptr("10.244.0.0/16")
	}
	if np.LoadBalancerSKU == nil {
		np.LoadBalancerSKU = ptr(armcontainerservice.LoadBalancerSKUStandard)
	}
	if np.OutboundType == nil {
		np.OutboundType = ptr(armcontainerservice.OutboundTypeLoadBalancer)
	}
	if np.IPFamilies == nil {
		np.IPFamilies = []*armcontainerservice.IPFamily{ptr(armcontainerservice.IPFamilyIPv4)}
	}
	svc, aerr := parsePrefix(deref(np.ServiceCidr), "networkProfile.serviceCidr")
	if aerr != nil {
		return false, aerr
	}
	if dns, err := netip.ParseAddr(deref(np.DNSServiceIP)); err != nil || !svc.Contains(dns) {
		return false, badParam("networkProfile.dnsServiceIP '%s' must be an address within serviceCidr %s.", deref(np.DNSServiceIP), svc)
	}
	windowsProfileFor(props)
	cl := &clusterRec{Group: gk, V: armcontainerservice.ManagedCluster{
		ID: ptr(id), Name: ptr(rt.name), Type: ptr("Microsoft.ContainerService/ManagedClusters"), Location: ptr(loc), Tags: in.Tags,
		Identity: in.Identity, SKU: in.SKU, Properties: props, ETag: ptr(uuid.NewString()),
	}}
	// Pools first: they name the VNet the service CIDR must not overlap.
	var pools []*poolRec
	systems := 0
	var vnet string
	for i, prof := range props.AgentPoolProfiles {
		name := deref(prof.Name)
		if prof.Mode == nil && i == 0 {
			prof.Mode = ptr(armcontainerservice.AgentPoolModeSystem)
		}
		pp, err := toProps(prof)
		if err != nil {
			return false, errf(http.StatusBadRequest, "InvalidRequestContent", "agentPoolProfiles[%d]: %v", i, err)
		}
		if aerr := e.checkPool(name, pp, nil, cl, full); aerr != nil {
			return false, aerr
		}
		for _, other := range pools {
			if deref(other.V.Name) == name {
				return false, badParam("Agent pool name '%s' appears twice in agentPoolProfiles.", name)
			}
		}
		if *pp.Mode == armcontainerservice.AgentPoolModeSystem {
			systems++
		}
		if pp.VnetSubnetID != nil {
			v := s.Subnets[key(*pp.VnetSubnetID)].VNet
			if vnet != "" && v != vnet {
				return false, badParam("All agent pools of a cluster must use subnets of the same virtual network; agent pool '%s' does not.", name)
			}
			vnet = v
		}
		pp.ProvisioningState = ptr(stCreating)
		pools = append(pools, &poolRec{Cluster: ck, V: armcontainerservice.AgentPool{ID: ptr(id + "/agentPools/" + name), Name: ptr(name),
			Type: ptr("Microsoft.ContainerService/managedClusters/agentPools"), Properties: pp}})
	}
	if systems == 0 {
		return false, badParam("properties.agentPoolProfiles: at least one agent pool of mode System is required.")
	}
	if v, ok := s.VNets[vnet]; ok {
		for _, a := range v.V.Properties.AddressSpace.AddressPrefixes {
			if p, err := netip.ParsePrefix(deref(a)); err == nil && p.Overlaps(svc) {
				return false, errf(http.StatusBadRequest, "ServiceCidrOverlapExistingSubnetsCidr", "The specified service CIDR %s is conflicted with an existing subnet CIDR %s of virtual network %s.", svc, p, deref(v.V.Name))
			}
		}
	}
	if props.DNSPrefix == nil {
		sub := rt.sub
		if len(sub) > 6 {
			sub = sub[:6]
		}
		props.DNSPrefix = ptr(trunc(rt.name, 10) + "-" + trunc(rt.group, 16) + "-" + sub)
	}
	h := hash8(id)
	props.Fqdn = ptr(fmt.Sprintf("%s-%s.hcp.%s.azmk8s.io", *props.DNSPrefix, h, loc))
	props.AzurePortalFQDN = ptr(fmt.Sprintf("%s-%s.portal.hcp.%s.azmk8s.io", *props.DNSPrefix, h, loc))
	props.PrivateFQDN = nil // read-only: never the request's
	if ap := props.APIServerAccessProfile; ap != nil && deref(ap.EnablePrivateCluster) {
		props.PrivateFQDN = ptr(fmt.Sprintf("%s-%s.%s.privatelink.%s.azmk8s.io", *props.DNSPrefix, h, uuid.NewString()[:8], loc))
	}
	if props.NodeResourceGroup == nil {
		props.NodeResourceGroup = ptr(fmt.Sprintf("MC_%s_%s_%s", rt.group, rt.name, loc))
	}
	nodeGK := key(groupID(rt.sub, *props.NodeResourceGroup))
	if _, ok := s.Groups[nodeGK]; ok {
		return false, badParam("properties.nodeResourceGroup: resource group '%s' already exists; AKS needs a new one.", *props.NodeResourceGroup)
	}
	if cl.V.Identity == nil {
		cl.V.Identity = &armcontainerservice.ManagedClusterIdentity{Type: ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)}
	}
	if deref(cl.V.Identity.Type) == armcontainerservice.ResourceIdentityTypeSystemAssigned {
		cl.V.Identity.PrincipalID, cl.V.Identity.TenantID = ptr(uuid.NewString()), ptr(TenantID)
	}
	if cl.V.SKU == nil {
		cl.V.SKU = &armcontainerservice.ManagedClusterSKU{Name: ptr(armcontainerservice.ManagedClusterSKUNameBase), Tier: ptr(armcontainerservice.ManagedClusterSKUTierFree)}
	}
	if props.EnableRBAC == nil {
		props.EnableRBAC = ptr(true)
	}
	if props.SupportPlan == nil {
		props.SupportPlan = ptr(armcontainerservice.KubernetesSupportPlanKubernetesOfficial)
	}
	if aerr := oidcIssuer(props, nil, loc); aerr != nil {
		return false, aerr
	}
	if aerr := aadProfile(props, nil); aerr != nil {
		return false, aerr
	}
	props.MaxAgentPools = ptr[int32](100)
	props.PowerState = &armcontainerservice.PowerState{Code: ptr(armcontainerservice.CodeRunning)}
	props.ResourceUID = ptr(strings.ReplaceAll(uuid.NewString(), "-", "")[:24])
	props.ProvisioningState = ptr(stCreating)
	props.AgentPoolProfiles = nil
	ensureTokens(cl)
	if e.env.Kube != nil {
		// A real API server per cluster, started now (it takes ~20 s);
		// the create succeeds only once it answers.
		e.startKube(cl)
	}
	s.Clusters[ck] = cl
	for _, p := range pools {
		s.Pools[key(*p.V.ID)] = p
	}
	e.syncNodes(cl) // the pools' instances join while the cluster is created
	s.Groups[nodeGK] = groupRecFor(rt.sub, *props.NodeResourceGroup, loc, id, ck)
	o := e.startOp("azure:managedClusters.createOrUpdate", kindCluster, ck, false, c.Fail)
	o.Version = full
	e.writeLRO(w, r, rt, loc, o, http.StatusCreated, e.clusterView(cl))
	return true, nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// groupRecFor is an AKS node resource group, managed by the cluster.
func groupRecFor(sub, name, loc, clusterID, ck string) *groupRec {
	return &groupRec{Cluster: ck, V: armresourcesGroup(sub, name, loc, clusterID)}
}

func (e *Emulator) updateCluster(w http.ResponseWriter, r *http.Request, rt route, c emu.Call, cl *clusterRec, in *armcontainerservice.ManagedCluster) (bool, *armErr) {
	s := e.st
	ck := key(deref(cl.V.ID))
	if deref(cl.V.Properties.ProvisioningState) == stDeleting {
		return false, errf(http.StatusConflict, "Conflict", "The managed cluster '%s' is being deleted.", rt.name)
	}
	if aerr := e.clusterBusy(ck); aerr != nil {
		return false, aerr
	}
	loc := normLocation(deref(in.Location))
	if loc != "" && loc != deref(cl.V.Location) {
		return false, errf(http.StatusBadRequest, "InvalidResourceLocation", "The resource '%s' already exists in location '%s'; it cannot be moved to '%s'.", rt.name, deref(cl.V.Location), loc)
	}
	old := cl.V.Properties
	props := in.Properties
	if props == nil {
		props = &armcontainerservice.ManagedClusterProperties{}
	}
	cur := deref(old.CurrentKubernetesVersion)
	version := deref(old.KubernetesVersion)
	full := cur
	if props.KubernetesVersion != nil {
		v, aerr := resolveVersion(*props.KubernetesVersion)
		if aerr != nil {
			return false, aerr
		}
		switch {
		case minor(v) < minor(cur) || (minor(v) == minor(cur) && v < cur):
			return false, errf(http.StatusBadRequest, "OperationNotAllowed", "Downgrading the Kubernetes version from %s to %s is not allowed.", cur, v)
		case minor(v) > minor(cur)+1:
			return false, errf(http.StatusBadRequest, "OperationNotAllowed", "Upgrading the Kubernetes version from %s to %s skips a minor version; upgrade one minor at a time.", cur, v)
		}
		version, full = *props.KubernetesVersion, v
	}
	if props.DNSPrefix != nil && *props.DNSPrefix != deref(old.DNSPrefix) {
		return false, propertyChange("dnsPrefix")
	}
	if props.NodeResourceGroup != nil && !strings.EqualFold(*props.NodeResourceGroup, deref(old.NodeResourceGroup)) {
		return false, propertyChange("nodeResourceGroup")
	}
	if np := props.NetworkProfile; np != nil {
		onp := old.NetworkProfile
		for _, f := range []struct{ name, old, new string }{
			{"networkProfile.networkPlugin", string(deref(onp.NetworkPlugin)), string(deref(np.NetworkPlugin))},
			{"networkProfile.networkPluginMode", string(deref(onp.NetworkPluginMode)), string(deref(np.NetworkPluginMode))},
			{"networkProfile.serviceCidr", deref(onp.ServiceCidr), deref(np.ServiceCidr)},
			{"networkProfile.podCidr", deref(onp.PodCidr), deref(np.PodCidr)},
		} {
			if f.new != "" && f.new != f.old {
				return false, propertyChange(f.name)
			}
		}
	}
	oldPrivate := old.APIServerAccessProfile != nil && deref(old.APIServerAccessProfile.EnablePrivateCluster)
	newPrivate := props.APIServerAccessProfile != nil && deref(props.APIServerAccessProfile.EnablePrivateCluster)
	if props.APIServerAccessProfile != nil && oldPrivate != newPrivate {
		return false, propertyChange("apiServerAccessProfile.enablePrivateCluster")
	}
	// Pools listed in the body are created or updated; others are left as
	// they are.
	type change struct {
		p   *poolRec
		new bool
	}
	var changes []change
	for i, prof := range props.AgentPoolProfiles {
		name := deref(prof.Name)
		pp, err := toProps(prof)
		if err != nil {
			return false, errf(http.StatusBadRequest, "InvalidRequestContent", "agentPoolProfiles[%d]: %v", i, err)
		}
		pk := key(deref(cl.V.ID) + "/agentPools/" + name)
		existing, ok := s.Pools[pk]
		var oldProps *armcontainerservice.ManagedClusterAgentPoolProfileProperties
		if ok {
			oldProps = existing.V.Properties
			if pp.Mode == nil {
				pp.Mode = oldProps.Mode
			}
		}
		if aerr := e.checkPool(name, pp, oldProps, cl, full); aerr != nil {
			return false, aerr
		}
		pp.ProvisioningState = ptr(stUpdating)
		if ok {
			changes = append(changes, change{p: &poolRec{Cluster: ck, V: armcontainerservice.AgentPool{ID: existing.V.ID, Name: existing.V.Name, Type: existing.V.Type, Properties: pp}}})
		} else {
			pp.ProvisioningState = ptr(stCreating)
			changes = append(changes, change{new: true, p: &poolRec{Cluster: ck, V: armcontainerservice.AgentPool{ID: ptr(deref(cl.V.ID) + "/agentPools/" + name), Name: ptr(name),
				Type: ptr("Microsoft.ContainerService/managedClusters/agentPools"), Properties: pp}}})
		}
	}
	systems := 0
	listed := map[string]bool{}
	for _, ch := range changes {
		listed[key(*ch.p.V.ID)] = true
		if deref(ch.p.V.Properties.Mode) == armcontainerservice.AgentPoolModeSystem {
			systems++
		}
	}
	for _, p := range e.poolsOf(ck) {
		if !listed[key(*p.V.ID)] && deref(p.V.Properties.Mode) == armcontainerservice.AgentPoolModeSystem {
			systems++
		}
	}
	if systems == 0 {
		return false, noSystemPool()
	}
	for _, ch := range changes {
		s.Pools[key(*ch.p.V.ID)] = ch.p
		e.syncPool(cl, key(*ch.p.V.ID))
	}
	// Mutable settings take the body's values; computed ones stay.
	nv := *old
	nv.KubernetesVersion = ptr(version)
	if props.APIServerAccessProfile != nil {
		nv.APIServerAccessProfile = props.APIServerAccessProfile
	}
	if props.AutoScalerProfile != nil {
		nv.AutoScalerProfile = props.AutoScalerProfile
	}
	if props.AutoUpgradeProfile != nil {
		nv.AutoUpgradeProfile = props.AutoUpgradeProfile
	}
	if props.AddonProfiles != nil {
		nv.AddonProfiles = props.AddonProfiles
	}
	if props.OidcIssuerProfile != nil {
		nv.OidcIssuerProfile = props.OidcIssuerProfile
	}
	if props.SecurityProfile != nil {
		nv.SecurityProfile = props.SecurityProfile
	}
	if aerr := oidcIssuer(&nv, old, deref(cl.V.Location)); aerr != nil {
		return false, aerr
	}
	if props.AADProfile != nil {
		nv.AADProfile = props.AADProfile
	}
	if aerr := aadProfile(&nv, old); aerr != nil {
		return false, aerr
	}
	if props.StorageProfile != nil {
		nv.StorageProfile = props.StorageProfile
	}
	if props.NetworkProfile != nil && props.NetworkProfile.LoadBalancerProfile != nil {
		np := *nv.NetworkProfile
		np.LoadBalancerProfile = props.NetworkProfile.LoadBalancerProfile
		nv.NetworkProfile = &np
	}
	nv.ProvisioningState = ptr(stUpdating)
	cl.V.Properties = &nv
	e.retryKube(cl) // a PUT of a cluster whose API server failed starts a new one
	cl.V.Tags = in.Tags
	if in.SKU != nil {
		cl.V.SKU = in.SKU
	}
	cl.V.ETag = ptr(uuid.NewString())
	o := e.startOp("azure:managedClusters.createOrUpdate", kindCluster, ck, false, c.Fail)
	o.Version = full
	e.upgradeKube(cl) // another minor: the API server restarts at it while the operation runs
	e.writeLRO(w, r, rt, deref(cl.V.Location), o, http.StatusOK, e.clusterView(cl))
	return true, nil
}

func (e *Emulator) servePool(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	if _, _, aerr := e.groupFor(rt, rt.op == "agentPools.createOrUpdate"); aerr != nil {
		return false, aerr
	}
	cid := clusterID(rt, rt.name)
	ck := key(cid)
	cl, ok := s.Clusters[ck]
	if !ok {
		return false, clusterNotFound(rt)
	}
	if rt.op == "agentPools.list" {
		var v []*armcontainerservice.AgentPool
		for _, p := range e.poolsOf(ck) {
			v = append(v, ptr(p.V))
		}
		return false, writePage(w, r, v, func(v []*armcontainerservice.AgentPool, next *string) any {
			return armcontainerservice.AgentPoolListResult{Value: v, NextLink: next}
		})
	}
	pk := key(cid + "/agentPools/" + rt.child)
	p, exists := s.Pools[pk]
	switch rt.op {
	case "agentPools.get":
		if !exists {
			return false, errf(http.StatusNotFound, "NotFound", "Agent pool '%s' of managed cluster '%s' was not found.", rt.child, rt.name)
		}
		writeJSON(w, http.StatusOK, p.V)
		return false, nil
	case "agentPools.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		if o := e.pending(pk); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(cl.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		if aerr := e.clusterBusy(ck); aerr != nil {
			return false, aerr
		}
		if deref(p.V.Properties.Mode) == armcontainerservice.AgentPoolModeSystem && e.systemPoolsAfter(ck, rt.child, "") == 0 {
			return false, noSystemPool()
		}
		p.V.Properties.ProvisioningState = ptr(stDeleting)
		e.syncPool(cl, pk) // its instances go while it is deleted
		o := e.startOp("azure:agentPools.delete", kindPool, pk, true, c.Fail)
		e.writeLRO(w, r, rt, deref(cl.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	case "agentPools.createOrUpdate":
	default:
		return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
	}
	var in armcontainerservice.AgentPool
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	if in.Properties == nil {
		in.Properties = &armcontainerservice.ManagedClusterAgentPoolProfileProperties{}
	}
	if deref(cl.V.Properties.ProvisioningState) == stDeleting {
		return false, errf(http.StatusConflict, "Conflict", "The managed cluster '%s' is being deleted.", rt.name)
	}
	if aerr := e.clusterBusy(ck); aerr != nil {
		return false, aerr
	}
	var old *armcontainerservice.ManagedClusterAgentPoolProfileProperties
	if exists {
		old = p.V.Properties
		if in.Properties.Mode == nil {
			in.Properties.Mode = old.Mode
		}
	}
	if aerr := e.checkPool(rt.child, in.Properties, old, cl, deref(cl.V.Properties.CurrentKubernetesVersion)); aerr != nil {
		return false, aerr
	}
	if exists && deref(old.Mode) == armcontainerservice.AgentPoolModeSystem && e.systemPoolsAfter(ck, rt.child, *in.Properties.Mode) == 0 {
		return false, noSystemPool()
	}
	status, st := http.StatusCreated, stCreating
	if exists {
		status, st = http.StatusOK, stUpdating
	}
	in.Properties.ProvisioningState = ptr(st)
	name := rt.child
	if exists {
		name = deref(p.V.Name)
	}
	prev := p
	p = &poolRec{Cluster: ck, V: armcontainerservice.AgentPool{ID: ptr(cid + "/agentPools/" + name), Name: ptr(name),
		Type: ptr("Microsoft.ContainerService/managedClusters/agentPools"), Properties: in.Properties}}
	if exists {
		p.Gen = prev.Gen
		if v, aerr := resolveVersion(deref(in.Properties.OrchestratorVersion)); aerr == nil && v != deref(old.CurrentOrchestratorVersion) && !c.Fail {
			// A surge upgrade: new VMs join, old ones are drained and go,
			// maxSurge at a time.
			p.Roll, p.RollVersion = &emu.Roll{MaxSurge: surgeOf(in.Properties)}, v
		}
	}
	s.Pools[pk] = p
	e.syncPool(cl, pk) // its instances join, or change, while it is written
	o := e.startOp("azure:agentPools.createOrUpdate", kindPool, pk, false, c.Fail)
	if v, aerr := resolveVersion(deref(in.Properties.OrchestratorVersion)); aerr == nil {
		o.Version = v
	}
	e.writeLRO(w, r, rt, deref(cl.V.Location), o, status, p.V)
	return true, nil
}

// finishCluster ends a cluster operation: the cluster and the pools it
// created or changed reach st.
func (e *Emulator) finishCluster(c *clusterRec, o *opRec, st string) {
	if !o.Delete && deref(c.V.Properties.ProvisioningState) == stDeleting {
		return
	}
	c.V.Properties.ProvisioningState = ptr(st)
	if st == stSucceeded && o.Version != "" {
		c.V.Properties.CurrentKubernetesVersion = ptr(o.Version)
	}
	for _, p := range e.poolsOf(key(deref(c.V.ID))) {
		ps := deref(p.V.Properties.ProvisioningState)
		if ps != stCreating && ps != stUpdating && ps != stDeleting || e.pending(key(deref(p.V.ID))) != nil {
			continue
		}
		p.V.Properties.ProvisioningState = ptr(st)
		if st == stSucceeded {
			if v, aerr := resolveVersion(deref(p.V.Properties.OrchestratorVersion)); aerr == nil {
				p.V.Properties.CurrentOrchestratorVersion = ptr(v)
			}
		}
	}
	// With Kubernetes, settle holds a cluster operation until the API
	// server startKube began answers (kubeGate), so Succeeded means the
	// kubeconfig's server is up.
}

func finishPool(p *poolRec, o *opRec, st string) {
	if !o.Delete && deref(p.V.Properties.ProvisioningState) == stDeleting {
		return
	}
	p.V.Properties.ProvisioningState = ptr(st)
	if st == stSucceeded && o.Version != "" {
		p.V.Properties.CurrentOrchestratorVersion = ptr(o.Version)
	}
	if p.Roll != nil && st == stSucceeded {
		p.Gen++ // the upgrade's new VMs are the pool's now
	}
	p.Roll, p.RollVersion = nil, ""
}

// surgeOf is a pool's upgradeSettings.maxSurge in nodes: a count, or a
// percentage of its node count rounded up (AKS's default is 10%), at
// least 1.
func surgeOf(pp *armcontainerservice.ManagedClusterAgentPoolProfileProperties) int {
	s := "10%"
	if pp.UpgradeSettings != nil && pp.UpgradeSettings.MaxSurge != nil {
		s = *pp.UpgradeSettings.MaxSurge
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		n, _ := strconv.Atoi(pct)
		return max(1, (n*int(deref(pp.Count))+99)/100)
	}
	n, _ := strconv.Atoi(s)
	return max(1, n)
}

// upgradeProfile lists, for the control plane and each pool, the versions
// it may move to: later patches of its minor and the next minor (pools: up
// to the control plane's version).
func (e *Emulator) upgradeProfile(c *clusterRec) armcontainerservice.ManagedClusterUpgradeProfile {
	upgrades := func(cur, ceiling string) []*armcontainerservice.ManagedClusterPoolUpgradeProfileUpgradesItem {
		out := []*armcontainerservice.ManagedClusterPoolUpgradeProfileUpgradesItem{}
		for _, v := range AKSVersions {
			later := minor(v) == minor(cur)+1 || (minor(v) == minor(cur) && v > cur)
			if later && (ceiling == "" || minor(v) <= minor(ceiling)) {
				out = append(out, &armcontainerservice.ManagedClusterPoolUpgradeProfileUpgradesItem{KubernetesVersion: ptr(v), IsPreview: ptr(false)})
			}
		}
		return out
	}
	cur := deref(c.V.Properties.CurrentKubernetesVersion)
	props := &armcontainerservice.ManagedClusterUpgradeProfileProperties{
		ControlPlaneProfile: &armcontainerservice.ManagedClusterPoolUpgradeProfile{KubernetesVersion: ptr(cur), OSType: ptr(armcontainerservice.OSTypeLinux), Upgrades: upgrades(cur, "")},
		AgentPoolProfiles:   []*armcontainerservice.ManagedClusterPoolUpgradeProfile{},
	}
	for _, p := range e.poolsOf(key(deref(c.V.ID))) {
		pv := deref(p.V.Properties.CurrentOrchestratorVersion)
		props.AgentPoolProfiles = append(props.AgentPoolProfiles, &armcontainerservice.ManagedClusterPoolUpgradeProfile{
			Name: p.V.Name, KubernetesVersion: ptr(pv), OSType: p.V.Properties.OSType, Upgrades: upgrades(pv, cur)})
	}
	return armcontainerservice.ManagedClusterUpgradeProfile{ID: ptr(deref(c.V.ID) + "/upgradeprofiles/default"), Name: ptr("default"),
		Type: ptr("Microsoft.ContainerService/managedClusters/upgradeprofiles"), Properties: props}
}

// kubeconfig is the credential ListClusterUserCredentials (user
// "clusterUser") or ListClusterAdminCredentials ("clusterAdmin") returns,
// as AKS shapes it: the API server's URL and CA, and the cluster's static
// token for that user — for the user of a cluster with Entra ID
// integration, kubelogin instead. Without Kubernetes the server is the cluster's FQDN
// (nothing answers there) and the CA a dummy.
func kubeconfig(c *clusterRec, group, user string) []byte {
	name := deref(c.V.Name)
	server := "https://" + deref(c.V.Properties.Fqdn) + ":443"
	if c.KubeServer != "" {
		server = c.KubeServer
	}
	caPEM := []byte("-----BEGIN CERTIFICATE-----\nregionctl-sandbox\n-----END CERTIFICATE-----\n")
	if len(c.KubeCA) > 0 {
		caPEM = c.KubeCA
	}
	creds := "    token: " + c.UserToken + "\n"
	switch {
	case user == "clusterAdmin":
		creds = "    token: " + c.AdminToken + "\n"
	case entraManaged(c):
		creds = kubeloginUser()
	}
	u := fmt.Sprintf("%s_%s_%s", user, group, name)
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: %s
contexts:
- context:
    cluster: %s
    user: %s
  name: %s
current-context: %s
preferences: {}
users:
- name: %s
  user:
%s`, base64.StdEncoding.EncodeToString(caPEM), server, name, name, u, name, name, u, creds))
}

// oidcIssuer gives a cluster whose OIDC issuer is enabled its issuer URL
// (kept across updates), and refuses what AKS refuses: disabling an
// enabled issuer, and workload identity without the issuer.
// aadProfile checks a cluster's Microsoft Entra ID profile as AKS does:
// only AKS-managed integration (the legacy one, with server and client
// applications, is retired), Azure RBAC for Kubernetes authorization only
// with it, and managed integration never turned off once on (Azure RBAC
// may be). The tenant defaults to the subscription's; the legacy server
// secret is never echoed.
func aadProfile(props, old *armcontainerservice.ManagedClusterProperties) *armErr {
	a := props.AADProfile
	if a == nil {
		return nil
	}
	was := old != nil && old.AADProfile != nil && deref(old.AADProfile.Managed)
	switch {
	case was && !deref(a.Managed):
		return errf(http.StatusBadRequest, "BadRequest", "properties.aadProfile.managed: managed Microsoft Entra ID integration cannot be disabled once it is enabled.")
	case !deref(a.Managed) && (a.ServerAppID != nil || a.ClientAppID != nil || a.ServerAppSecret != nil):
		return badParam("properties.aadProfile: the legacy Microsoft Entra ID integration (serverAppID, clientAppID) is retired; use managed integration (aadProfile.managed: true).")
	case !deref(a.Managed) && deref(a.EnableAzureRBAC):
		return badParam("properties.aadProfile.enableAzureRBAC: Azure RBAC for Kubernetes authorization requires managed Microsoft Entra ID integration (aadProfile.managed: true).")
	}
	if a.TenantID == nil && deref(a.Managed) {
		a.TenantID = ptr(TenantID)
		if was {
			a.TenantID = old.AADProfile.TenantID
		}
	}
	a.ServerAppSecret = nil
	return nil
}

func oidcIssuer(props, old *armcontainerservice.ManagedClusterProperties, loc string) *armErr {
	was := old != nil && old.OidcIssuerProfile != nil && deref(old.OidcIssuerProfile.Enabled)
	on := props.OidcIssuerProfile != nil && deref(props.OidcIssuerProfile.Enabled)
	switch {
	case was && !on:
		return badParam("properties.oidcIssuerProfile.enabled: the OIDC issuer cannot be disabled once it is enabled.")
	case on && was:
		props.OidcIssuerProfile.IssuerURL = old.OidcIssuerProfile.IssuerURL
	case on:
		props.OidcIssuerProfile.IssuerURL = ptr(fmt.Sprintf("https://%s.oic.prod-aks.azure.com/%s/%s/", loc, TenantID, uuid.NewString()))
	}
	if sp := props.SecurityProfile; sp != nil && sp.WorkloadIdentity != nil && deref(sp.WorkloadIdentity.Enabled) && !on {
		return badParam("properties.securityProfile.workloadIdentity: enabling workload identity requires the OIDC issuer (properties.oidcIssuerProfile.enabled).")
	}
	return nil
}
