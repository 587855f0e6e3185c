package azure

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
)

func TestImportARMID(t *testing.T) {
	const (
		sub   = "00000000-0000-0000-0000-000000000001"
		group = "/subscriptions/" + sub + "/resourceGroups/rg-prod"
		vnet  = group + "/providers/Microsoft.Network/virtualNetworks/vnet-prod"
		aks   = group + "/providers/Microsoft.ContainerService/managedClusters/prod"
	)
	inGroup := providers.Values{"resource_group_id": group}
	tests := []struct {
		name, typ, id string
		in            providers.Values
		want, wantErr string
	}{
		{"group by name", TypeResourceGroup, "rg-prod", providers.Values{}, group, ""},
		{"group by name in the spec's subscription", TypeResourceGroup, "rg-prod", providers.Values{"subscription_id": "other"}, "/subscriptions/other/resourceGroups/rg-prod", ""},
		{"group by lower-case ID", TypeResourceGroup, "/subscriptions/" + sub + "/resourcegroups/rg-prod/", providers.Values{}, group, ""},
		{"group in another subscription", TypeResourceGroup, "/subscriptions/other/resourceGroups/rg-prod", providers.Values{}, "", "but the region's subscription is /subscriptions/" + sub},
		{"vnet by name", TypeVirtualNetwork, "vnet-prod", inGroup, vnet, ""},
		{"vnet by ID", TypeVirtualNetwork, strings.ToLower(vnet), inGroup, vnet, ""},
		{"vnet in another group", TypeVirtualNetwork, "/subscriptions/" + sub + "/resourceGroups/rg-other/providers/Microsoft.Network/virtualNetworks/vnet-prod", inGroup, "", "but the region's resource group is " + group},
		{"vnet ID of a public IP", TypeVirtualNetwork, group + "/providers/Microsoft.Network/publicIPAddresses/ip", inGroup, "", "names a Microsoft.Network/publicIPAddresses"},
		{"vnet name without its group", TypeVirtualNetwork, "vnet-prod", providers.Values{}, "", "give the full ARM ID"},
		{"subnet by name", TypeSubnet, "nodes", providers.Values{"virtual_network_id": vnet}, vnet + "/subnets/nodes", ""},
		{"subnet by ID", TypeSubnet, strings.ReplaceAll(vnet, "virtualNetworks", "virtualnetworks") + "/subnets/nodes", providers.Values{}, vnet + "/subnets/nodes", ""},
		{"public IP by ID", TypePublicIP, group + "/providers/Microsoft.Network/publicIPAddresses/lb-web", inGroup, group + "/providers/Microsoft.Network/publicIPAddresses/lb-web", ""},
		{"cluster by name", TypeCluster, "prod", inGroup, aks, ""},
		{"pool by name", TypeNodePool, "batch", providers.Values{"cluster_id": aks}, aks + "/agentPools/batch", ""},
		{"pool of another cluster", TypeNodePool, group + "/providers/Microsoft.ContainerService/managedClusters/staging/agentPools/batch", providers.Values{"cluster_id": aks}, "", "but the region's AKS cluster is " + aks},
		{"a path that is no ID", TypeCluster, "rg-prod/prod", inGroup, "", "neither a name nor an ARM ID"},
		{"role assignment by name", TypeRoleAssignment, "0dc7454b-6e4d-53e0-af62-61b6834cab74", providers.Values{"cluster_id": aks}, aks + "/providers/Microsoft.Authorization/roleAssignments/0dc7454b-6e4d-53e0-af62-61b6834cab74", ""},
		{"role assignment by ID", TypeRoleAssignment, strings.ToLower(aks) + "/providers/microsoft.authorization/roleassignments/0dc7454b-6e4d-53e0-af62-61b6834cab74", providers.Values{"cluster_id": aks}, aks + "/providers/Microsoft.Authorization/roleAssignments/0dc7454b-6e4d-53e0-af62-61b6834cab74", ""},
		{"role assignment at another cluster", TypeRoleAssignment, group + "/providers/Microsoft.ContainerService/managedClusters/staging/providers/Microsoft.Authorization/roleAssignments/0dc7454b-6e4d-53e0-af62-61b6834cab74", providers.Values{"cluster_id": aks}, "", "but the region's AKS cluster is " + aks},
	}
	for _, tt := range tests {
		got, err := importARMID(tt.typ, tt.id, tt.in, sub)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: importARMID(%s) error %v, want %q", tt.name, tt.id, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("%s: importARMID(%s) = %q, %v; want %q", tt.name, tt.id, got, err, tt.want)
		}
	}
}
