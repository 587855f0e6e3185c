package azure

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/internal/azuresize"
	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// kubePoll is the Retry-After-Ms of a cluster operation whose time has
// passed but whose API server is not ready yet (it takes ~20 s to start).
const kubePoll = 200 * time.Millisecond

// kubeAPIServerFailed is the error code of a cluster operation that ended
// Failed because the cluster's API server could not start.
const kubeAPIServerFailed = "KubernetesAPIServerFailed"

// kubeID names a cluster's API server in sandbox/kube:
// "azure-<resource group>-<name>", lower-cased; a cluster in another
// subscription than DefaultSubscription, or whose names need cleaning,
// gets a hash of its ARM id appended so ids stay unique.
func kubeID(c *clusterRec) string {
	id := deref(c.V.ID)
	parts := strings.Split(id, "/")
	// "", subscriptions, S, resourcegroups, RG, providers, NS, managedClusters, NAME
	if len(parts) < 9 {
		return "azure-" + hash8(id)
	}
	sub, rg, name := parts[2], strings.ToLower(parts[4]), strings.ToLower(parts[8])
	raw := "azure-" + rg + "-" + name
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, raw)
	if clean != raw || !strings.EqualFold(sub, DefaultSubscription) || len(clean) > 100 {
		clean = trunc(clean, 100) + "-" + hash8(id)
	}
	return clean
}

// newToken is a static cluster credential, as AKS puts in the kubeconfig of
// a cluster with local accounts: 64 hex digits.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ensureTokens gives a cluster its user and admin credentials (once; they
// are kept in the emulator's state, as AKS keeps them).
func ensureTokens(c *clusterRec) {
	if c.UserToken == "" {
		c.UserToken = newToken()
	}
	if c.AdminToken == "" {
		c.AdminToken = newToken()
	}
}

// startKube starts (or finds) the cluster's API server and records its
// endpoint and CA, which ListClusterUserCredentials hands out. Without the
// binaries it records why, and the cluster's operation ends Failed with
// that message (it names scripts/kube-apiserver.sh).
func (e *Emulator) startKube(c *clusterRec) {
	ensureTokens(c)
	if err := e.env.Kube.Check(); err != nil {
		c.KubeErr = err.Error()
		return
	}
	np := c.V.Properties.NetworkProfile
	info, err := e.env.Kube.Ensure(kubeID(c), emu.KubeSpec{
		Auth: e.aksAuthenticator(key(deref(c.V.ID)), c.UserToken, c.AdminToken), Bootstrap: aksBootstrap, Version: e.servedVersion(c),
		ServiceCIDR: deref(np.ServiceCidr), PodCIDR: deref(np.PodCidr),
	})
	if err != nil {
		c.KubeErr = err.Error()
		return
	}
	c.KubeErr = ""
	c.KubeServer, c.KubeCA = info.Endpoint, info.CAPEM
}

// retryKube is startKube for a PUT of a cluster whose API server failed:
// the failed one is removed and a new one started.
func (e *Emulator) retryKube(c *clusterRec) {
	if e.env.Kube == nil || c.KubeErr == "" {
		return
	}
	_ = e.env.Kube.Remove(kubeID(c)) // best effort: Ensure starts afresh either way
	e.startKube(c)
}

// restartKube restarts the API servers of the clusters a loaded state holds.
func (e *Emulator) restartKube() {
	if e.env.Kube == nil {
		return
	}
	for _, c := range e.st.Clusters {
		if deref(c.V.Properties.ProvisioningState) == stDeleting {
			continue
		}
		e.startKube(c)
		e.syncNodes(c)
	}
}

// servedVersion is the version c's API server serves: the cluster's, or
// the one a cluster operation in progress moves it to.
func (e *Emulator) servedVersion(c *clusterRec) string {
	if o := e.pending(key(deref(c.V.ID))); o != nil && !o.Delete && !o.Fail && o.Version != "" {
		return o.Version
	}
	return deref(c.V.Properties.CurrentKubernetesVersion)
}

// upgradeKube restarts c's API server when a PUT just accepted moves it to
// another minor; kubeGate holds the operation until it answers again.
func (e *Emulator) upgradeKube(c *clusterRec) {
	if e.env.Kube != nil && c.KubeErr == "" && c.KubeServer != "" {
		e.startKube(c)
	}
}

// opNodes syncs the nodes an operation changed: one pool's, or every
// pool's of a cluster.
func (e *Emulator) opNodes(o *opRec) {
	switch o.Kind {
	case kindPool:
		if c, ok := e.st.Clusters[key(clusterOfPool(o.Target))]; ok {
			e.syncPool(c, o.Target)
		}
	case kindCluster:
		if c, ok := e.st.Clusters[o.Target]; ok {
			e.syncNodes(c)
		}
	}
}

// clusterOfPool is the cluster id of a pool id (".../agentPools/NAME").
func clusterOfPool(poolID string) string {
	i := strings.LastIndex(strings.ToLower(poolID), "/agentpools/")
	if i < 0 {
		return ""
	}
	return poolID[:i]
}

// syncNodes gives every pool of c its nodes.
func (e *Emulator) syncNodes(c *clusterRec) {
	for _, p := range e.poolsOf(key(deref(c.V.ID))) {
		e.syncPool(c, key(deref(p.V.ID)))
	}
}

// syncPool tells the cluster's API server what nodes pool pk has: count of
// them while it is created or updated (they join then; kubeGate holds the
// operation until they did) and once it Succeeded; none while it is
// deleted, after it failed, or once it is gone.
func (e *Emulator) syncPool(c *clusterRec, pk string) {
	if e.env.Kube == nil || c.KubeErr != "" || c.KubeServer == "" {
		return
	}
	name := pk[strings.LastIndex(pk, "/")+1:]
	var nodes []emu.KubeNode
	if p, ok := e.st.Pools[pk]; ok {
		name = deref(p.V.Name)
		switch deref(p.V.Properties.ProvisioningState) {
		case stCreating, stUpdating, stSucceeded:
			nodes = e.poolNodes(c, p, deref(p.V.Properties.CurrentOrchestratorVersion), p.Gen)
			if p.Roll != nil {
				nodes = emu.RollNodes(nodes, e.poolNodes(c, p, p.RollVersion, p.Gen+1), *p.Roll)
			}
		}
	}
	_ = e.env.Kube.SetNodePool(kubeID(c), name, nodes) // only fails for a cluster without an API server
}

// poolNodes are an agent pool's nodes as AKS registers them: the instances
// of the pool's scale set (aks-POOL-NNNNNNNN-vmss00000N), spread over the
// pool's zones, with the labels and taints AKS sets (Spot pools get the
// scalesetpriority label and taint) and the pool's nodeLabels and
// nodeTaints.
//
// Each generation (gen: an upgrade's surge VMs) has its own instance ids.
func (e *Emulator) poolNodes(c *clusterRec, p *poolRec, version string, gen int) []emu.KubeNode {
	pp := p.V.Properties
	name := deref(p.V.Name)
	loc := deref(c.V.Location)
	nodeRG := deref(c.V.Properties.NodeResourceGroup)
	vmss := fmt.Sprintf("aks-%s-%08d-vmss", name, fnvNum(deref(c.V.ID)+"/"+name)%100000000)
	mode := strings.ToLower(string(deref(pp.Mode)))
	labels := map[string]string{
		"agentpool":                               name,
		"kubernetes.azure.com/agentpool":          name,
		"kubernetes.azure.com/mode":               mode,
		"kubernetes.azure.com/role":               "agent",
		"kubernetes.azure.com/cluster":            nodeRG,
		"kubernetes.azure.com/os-sku":             string(deref(pp.OSSKU)),
		"kubernetes.azure.com/node-image-version": deref(pp.NodeImageVersion),
		"kubernetes.azure.com/nodepool-type":      string(deref(pp.Type)),
		"kubernetes.azure.com/storageprofile":     strings.ToLower(string(deref(pp.OSDiskType))),
		"kubernetes.azure.com/storagetier":        storageTier(deref(pp.VMSize)),
		"kubernetes.io/role":                      "agent",
		"node-role.kubernetes.io/agent":           "",
	}
	var taints []emu.KubeTaint
	if deref(pp.ScaleSetPriority) == armcontainerservice.ScaleSetPrioritySpot {
		labels["kubernetes.azure.com/scalesetpriority"] = "spot"
		taints = append(taints, emu.KubeTaint{Key: "kubernetes.azure.com/scalesetpriority", Value: "spot", Effect: "NoSchedule"})
	}
	for k, v := range pp.NodeLabels {
		labels[k] = deref(v)
	}
	for _, t := range pp.NodeTaints {
		kv, effect, _ := strings.Cut(deref(t), ":")
		k, v, _ := strings.Cut(kv, "=")
		taints = append(taints, emu.KubeTaint{Key: k, Value: v, Effect: effect})
	}
	size := deref(pp.VMSize)
	cpu, mem, arch := vmCapacity(size)
	var base netip.Addr
	if sn, ok := e.st.Subnets[key(deref(pp.VnetSubnetID))]; ok {
		if pfx, err := netip.ParsePrefix(deref(sn.V.Properties.AddressPrefix)); err == nil {
			base = pfx.Addr()
		}
	} else {
		base = netip.MustParseAddr("10.224.0.0") // the VNet AKS makes when none is given
	}
	zones := derefAll(pp.AvailabilityZones)
	osName, osImage := osOf(pp)
	if osName == "windows" {
		labels["node.kubernetes.io/windows-build"] = windowsBuild[deref(pp.OSSKU)]
	}
	var out []emu.KubeNode
	for n := range int(deref(pp.Count)) {
		i := n + gen*100
		zone := "0" // AKS's zone label on a VM outside availability zones
		if len(zones) > 0 {
			zone = loc + "-" + zones[n%len(zones)]
		}
		// Each pool takes its own block of 64 addresses of the subnet, after
		// the four Azure keeps.
		a := base.As4()
		host := 4 + 64*int(fnvNum(name)%32) + 32*(gen%2) + n
		a[2] += byte(host >> 8)
		a[3] += byte(host)
		nodeName := fmt.Sprintf("%s%06s", vmss, strconv.FormatInt(int64(i), 36))
		if osName == "windows" { // Windows computer names: "aks", the pool's name, the instance
			nodeName = fmt.Sprintf("aks%s%06s", name, strconv.FormatInt(int64(i), 36))
		}
		out = append(out, emu.KubeNode{
			Name: nodeName, OS: osName,
			ProviderID: fmt.Sprintf("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%d", subscriptionOf(deref(c.V.ID)), strings.ToLower(nodeRG), vmss, i),
			InternalIP: netip.AddrFrom4(a).String(), InstanceType: size, Region: loc, Zone: zone, Arch: arch,
			Labels: labels, Taints: taints, KubeletVersion: "v" + version,
			OSImage: osImage, ContainerRuntime: "containerd://1.7.28-1",
			CPU: cpu, Memory: mem, Pods: strconv.Itoa(int(deref(pp.MaxPods))),
		})
	}
	return out
}

// osOf is the kubernetes.io/os of a pool's nodes and the OS image they
// report in status.nodeInfo.
func osOf(pp *armcontainerservice.ManagedClusterAgentPoolProfileProperties) (os, image string) {
	switch deref(pp.OSSKU) {
	case armcontainerservice.OSSKUWindows2022:
		return "windows", "Windows Server 2022 Datacenter"
	case armcontainerservice.OSSKUWindows2019:
		return "windows", "Windows Server 2019 Datacenter"
	case armcontainerservice.OSSKUAzureLinux, armcontainerservice.OSSKUCBLMariner:
		return "linux", "Microsoft Azure Linux 3.0"
	}
	return "linux", "Ubuntu 22.04.5 LTS"
}

// windowsBuild is the node.kubernetes.io/windows-build label of a Windows
// OS SKU's nodes.
var windowsBuild = map[armcontainerservice.OSSKU]string{
	armcontainerservice.OSSKUWindows2022: "10.0.20348",
	armcontainerservice.OSSKUWindows2019: "10.0.17763",
}

// storageTier is the SKU of a Managed OS disk on a VM size: Premium SSD
// where the size takes it.
func storageTier(size string) string {
	if azuresize.PremiumStorage(size) {
		return "Premium_LRS"
	}
	return "StandardSSD_LRS"
}

// vmCapacity is the capacity and architecture of an Azure VM size from its
// name ("Standard_D4s_v5": 4 vCPUs, 16Gi; a "p" in the features,
// Standard_D4ps_v5, is Arm); empty capacity for a name it cannot read.
func vmCapacity(size string) (cpu, memory, arch string) {
	arch = "amd64"
	rest, ok := strings.CutPrefix(size, "Standard_")
	if !ok || rest == "" {
		return "", "", arch
	}
	rest, _, _ = strings.Cut(rest, "_")
	family := rest[0]
	i := 1
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if strings.ContainsRune(rest[i:], 'p') {
		arch = "arm64"
	}
	n, err := strconv.Atoi(rest[1:i])
	if err != nil || n <= 0 {
		return "", "", arch
	}
	// MiB per vCPU by family; the v2 D and DS sizes (Standard_DS2_v2, AKS's
	// default) have 3.5 GiB per vCPU.
	perCPU := map[byte]int{'D': 4096, 'B': 4096, 'A': 2048, 'F': 2048, 'E': 8192}[family]
	if perCPU == 0 {
		return "", "", arch
	}
	if family == 'D' && strings.HasSuffix(size, "_v2") {
		perCPU = 3584
	}
	return strconv.Itoa(n), strconv.Itoa(n*perCPU) + "Mi", arch
}

// subscriptionOf is the subscription of an ARM id.
func subscriptionOf(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return parts[2]
	}
	return ""
}

// fnvNum is a number derived from s, stable across runs.
func fnvNum(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key(s))) // hash writes never fail
	return h.Sum32()
}

// removeKube stops a deleted cluster's API server and deletes its data.
func (e *Emulator) removeKube(c *clusterRec) {
	if e.env.Kube != nil {
		_ = e.env.Kube.Remove(kubeID(c)) // best effort: a leftover directory is removed by the next Remove
	}
}

// kubeGate tells settle whether a cluster operation whose time has come
// must wait for the cluster's API server (wait), or fail because it could
// not start (msg). Succeeded means the API server answers.
//
// A pool operation (and a cluster one, for the pools it lists) also waits
// until the pools' nodes are in the API server and Ready, or gone for a
// delete, as AKS's completes once the scale set's instances joined.
func (e *Emulator) kubeGate(o *opRec) (wait bool, msg string) {
	if e.env.Kube == nil || o.Fail || o.Status != opInProgress {
		return false, ""
	}
	if o.Kind == kindPool {
		c, ok := e.st.Clusters[key(clusterOfPool(o.Target))]
		if !ok || c.KubeErr != "" || c.KubeServer == "" {
			return false, ""
		}
		st := e.env.Kube.State(kubeID(c))
		if !st.NodesReady && st.Err == nil {
			return true, ""
		}
		if p := e.st.Pools[o.Target]; p != nil && p.Roll != nil && !o.Delete && !p.Roll.Done(int(deref(p.V.Properties.Count))) {
			p.Roll.Step++ // the next batch of the surge upgrade
			e.syncPool(c, o.Target)
			return true, ""
		}
		return false, ""
	}
	if o.Kind != kindCluster || o.Delete {
		return false, ""
	}
	c, ok := e.st.Clusters[o.Target]
	if !ok {
		return false, ""
	}
	if c.KubeErr == "" {
		st := e.env.Kube.State(kubeID(c))
		if st.Err == nil {
			return !st.Ready || !st.NodesReady, ""
		}
		c.KubeErr = st.Err.Error()
	}
	return false, "The cluster's Kubernetes API server did not start: " + c.KubeErr
}

// aksAuthenticator accepts the cluster's own static credentials, the ones
// ListClusterUserCredentials and ListClusterAdminCredentials return, as
// an AKS cluster with local accounts does; both are cluster admins
// (system:masters). With Entra ID integration it also accepts the
// tenant's tokens for the AKS server application (entra.go).
func (e *Emulator) aksAuthenticator(ck, userToken, adminToken string) emu.KubeAuthenticator {
	return func(token string) (emu.KubeUser, error) {
		switch {
		case userToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(userToken)) == 1:
			return emu.KubeUser{Name: "clusterUser", UID: "clusterUser", Groups: []string{"system:masters"}}, nil
		case adminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(adminToken)) == 1:
			return emu.KubeUser{Name: "clusterAdmin", UID: "clusterAdmin", Groups: []string{"system:masters"}}, nil
		case strings.Count(token, ".") == 2:
			return e.entraKubeUser(ck, token)
		}
		return emu.KubeUser{}, errors.New("not a credential of this AKS cluster")
	}
}

// aksBootstrap creates the StorageClasses AKS puts in every new cluster:
// the Azure Disk classes "default" (marked default), "managed-csi" and
// "managed-csi-premium", and the Azure Files classes "azurefile-csi" and
// "azurefile-csi-premium".
func aksBootstrap(ctx context.Context, cs kubernetes.Interface) error {
	del := corev1.PersistentVolumeReclaimDelete
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	immediate := storagev1.VolumeBindingImmediate
	yes := true
	labels := map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists", "kubernetes.io/cluster-service": "true"}
	classes := []storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: labels, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
			Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuname": "StandardSSD_LRS"}, VolumeBindingMode: &wait},
		{ObjectMeta: metav1.ObjectMeta{Name: "managed-csi", Labels: labels},
			Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuname": "StandardSSD_LRS"}, VolumeBindingMode: &wait},
		{ObjectMeta: metav1.ObjectMeta{Name: "managed-csi-premium", Labels: labels},
			Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuname": "Premium_LRS"}, VolumeBindingMode: &wait},
		{ObjectMeta: metav1.ObjectMeta{Name: "azurefile-csi", Labels: labels},
			Provisioner: "file.csi.azure.com", Parameters: map[string]string{"skuName": "Standard_LRS"}, VolumeBindingMode: &immediate},
		{ObjectMeta: metav1.ObjectMeta{Name: "azurefile-csi-premium", Labels: labels},
			Provisioner: "file.csi.azure.com", Parameters: map[string]string{"skuName": "Premium_LRS"}, VolumeBindingMode: &immediate},
	}
	if err := bindReaderGroup(ctx, cs); err != nil {
		return err
	}
	for i := range classes {
		sc := &classes[i]
		sc.ReclaimPolicy, sc.AllowVolumeExpansion = &del, &yes
		if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{FieldManager: "aks"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
