package azure

import (
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

// An agent pool's OS disk, max pods and OS, as AKS checks and defaults
// them. AKS changes none but the OS SKU of an existing pool (and that
// only between Linux SKUs: its OS SKU migration).

// Bounds AKS enforces.
const (
	minOSDiskGB      = 30
	maxOSDiskGB      = 2048
	defaultOSDiskGB  = 128
	minPods          = 10
	maxPodsKubenet   = 110
	maxPodsAzureCNI  = 250
	minSystemPods    = 30
	maxWindowsName   = 6
	defaultAdminUser = "azureuser"
)

// linuxSKUs are the OS SKUs of osType Linux; the others are Windows'.
var linuxSKUs = []armcontainerservice.OSSKU{armcontainerservice.OSSKUUbuntu, armcontainerservice.OSSKUAzureLinux, armcontainerservice.OSSKUCBLMariner}

// windowsProfileFor gives a new cluster the Windows profile AKS generates
// when the cluster could run Windows pools (Azure CNI, a Standard load
// balancer) and the request names none; Windows pools need one.
func windowsProfileFor(props *armcontainerservice.ManagedClusterProperties) {
	np := props.NetworkProfile
	if props.WindowsProfile != nil || np == nil || deref(np.NetworkPlugin) != armcontainerservice.NetworkPluginAzure ||
		!strings.EqualFold(string(deref(np.LoadBalancerSKU)), string(armcontainerservice.LoadBalancerSKUStandard)) {
		return
	}
	props.WindowsProfile = &armcontainerservice.ManagedClusterWindowsProfile{AdminUsername: ptr(defaultAdminUser)}
}

// checkNodeOptions validates and defaults pool name's osType, osSKU, OS
// disk and maxPods (in), against the pool's current properties (old, nil
// for a new pool) and its cluster.
func checkNodeOptions(name string, in, old *armcontainerservice.ManagedClusterAgentPoolProfileProperties, cl *clusterRec) *armErr {
	np := cl.V.Properties.NetworkProfile
	azureCNI := np != nil && deref(np.NetworkPlugin) == armcontainerservice.NetworkPluginAzure
	system := deref(in.Mode) == armcontainerservice.AgentPoolModeSystem
	if in.OSType == nil {
		in.OSType = ptr(armcontainerservice.OSTypeLinux)
	}
	switch *in.OSType {
	case armcontainerservice.OSTypeLinux:
		if in.OSSKU == nil {
			in.OSSKU = ptr(armcontainerservice.OSSKUUbuntu)
		}
		if !slices.Contains(linuxSKUs, *in.OSSKU) {
			return badParam("Agent pool '%s': osSKU '%s' is not valid for osType Linux; use Ubuntu or AzureLinux.", name, *in.OSSKU)
		}
	case armcontainerservice.OSTypeWindows:
		if in.OSSKU == nil {
			in.OSSKU = ptr(armcontainerservice.OSSKUWindows2022)
		}
		if *in.OSSKU != armcontainerservice.OSSKUWindows2019 && *in.OSSKU != armcontainerservice.OSSKUWindows2022 {
			return badParam("Agent pool '%s': osSKU '%s' is not valid for osType Windows; use Windows2022.", name, *in.OSSKU)
		}
		if system {
			return badParam("Agent pool '%s': System agent pools must use osType Linux; Windows pools can only be User pools.", name)
		}
		if len(name) > maxWindowsName {
			return badParam("Windows agent pool name '%s' can not be longer than %d characters.", name, maxWindowsName)
		}
		if !azureCNI {
			return badParam("Windows agent pools can only be added to AKS clusters using Azure-CNI.")
		}
		if cl.V.Properties.WindowsProfile == nil {
			return badParam("Windows profile definition is missing for the cluster.")
		}
		if _, _, arch := vmCapacity(deref(in.VMSize)); arch != "amd64" {
			return badParam("Agent pool '%s': VM size '%s' is Arm64, which Windows agent pools do not support.", name, deref(in.VMSize))
		}
	default:
		return badParam("Agent pool '%s': osType '%s' is not valid; use Linux or Windows.", name, *in.OSType)
	}
	if deref(in.OSDiskSizeGB) == 0 { // az sends 0 for "the default"
		in.OSDiskSizeGB = ptr[int32](defaultOSDiskGB)
	}
	if s := *in.OSDiskSizeGB; s < minOSDiskGB || s > maxOSDiskGB {
		return badParam("Agent pool '%s': osDiskSizeGB %d is not valid; it must be between %d and %d.", name, s, minOSDiskGB, maxOSDiskGB)
	}
	if in.OSDiskType == nil {
		in.OSDiskType = ptr(armcontainerservice.OSDiskTypeManaged)
	}
	if t := *in.OSDiskType; t != armcontainerservice.OSDiskTypeManaged && t != armcontainerservice.OSDiskTypeEphemeral {
		return badParam("Agent pool '%s': osDiskType '%s' is not valid; use Managed or Ephemeral.", name, t)
	}
	maxPods, upper := int32(110), int32(maxPodsKubenet)
	if azureCNI {
		maxPods, upper = 30, maxPodsAzureCNI
		if deref(np.NetworkPluginMode) == armcontainerservice.NetworkPluginModeOverlay {
			maxPods = 250
		}
	}
	if in.MaxPods == nil {
		in.MaxPods = ptr(maxPods)
	}
	if m := *in.MaxPods; m < minPods || m > upper {
		return badParam("Agent pool '%s': maxPods %d is not valid for network plugin %s; it must be between %d and %d.", name, m, pluginName(np), minPods, upper)
	}
	if system && *in.MaxPods < minSystemPods {
		return badParam("Agent pool '%s': System agent pools need maxPods of at least %d; it is %d.", name, minSystemPods, *in.MaxPods)
	}
	if old == nil {
		return nil
	}
	for _, f := range []struct {
		name     string
		old, new any
	}{
		{"osType", deref(old.OSType), deref(in.OSType)},
		{"osDiskSizeGB", deref(old.OSDiskSizeGB), deref(in.OSDiskSizeGB)},
		{"osDiskType", deref(old.OSDiskType), deref(in.OSDiskType)},
		{"maxPods", deref(old.MaxPods), deref(in.MaxPods)},
	} {
		if f.old != f.new {
			return propertyChange(f.name)
		}
	}
	if o, n := deref(old.OSSKU), deref(in.OSSKU); o != n && !(slices.Contains(linuxSKUs, o) && slices.Contains(linuxSKUs, n)) {
		return errf(http.StatusBadRequest, "OperationNotAllowed", "Agent pool '%s': osSKU can only be migrated between Linux SKUs (Ubuntu, AzureLinux), not from %s to %s.", name, o, n)
	}
	return nil
}

func pluginName(np *armcontainerservice.NetworkProfile) string {
	if np == nil || np.NetworkPlugin == nil {
		return string(armcontainerservice.NetworkPluginKubenet)
	}
	return string(*np.NetworkPlugin)
}
