package azure

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

// computedView adds to a cluster's reply what AKS reports without being
// asked: for a managed-identity cluster servicePrincipalProfile
// {"clientId": "msi"} and the kubelet identity (a user-assigned identity in
// the node resource group), and the references into the node resource
// group (nodeGroupRefs). Clients rely on them: az aks show and az aks list
// read servicePrincipalProfile unconditionally.
func (e *Emulator) computedView(c *clusterRec, props *armcontainerservice.ManagedClusterProperties) {
	if id := c.V.Identity; id != nil && deref(id.Type) != armcontainerservice.ResourceIdentityTypeNone {
		if props.ServicePrincipalProfile == nil {
			props.ServicePrincipalProfile = &armcontainerservice.ManagedClusterServicePrincipalProfile{ClientID: ptr("msi")}
		}
		if _, ok := props.IdentityProfile["kubeletidentity"]; !ok && props.NodeResourceGroup != nil {
			cid := deref(c.V.ID)
			sub := strings.Split(cid, "/")[2]
			rid := "/subscriptions/" + sub + "/resourcegroups/" + *props.NodeResourceGroup +
				"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + deref(c.V.Name) + "-agentpool"
			ip := map[string]*armcontainerservice.UserAssignedIdentity{}
			for k, v := range props.IdentityProfile {
				ip[k] = v
			}
			ip["kubeletidentity"] = &armcontainerservice.UserAssignedIdentity{ResourceID: ptr(rid),
				ClientID: ptr(stableUUID(rid + "/client")), ObjectID: ptr(stableUUID(rid + "/object"))}
			props.IdentityProfile = ip
		}
	}
	e.nodeGroupRefs(c, props)
}
