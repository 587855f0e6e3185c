package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/regionctl/regionctl/providers"
)

var _ providers.Importer = (*Driver)(nil)

// importKinds is, per type, the ARM resource type of its objects, the
// input that holds the ID of the parent they live in, and the path from
// that parent to an object of the type.
var importKinds = map[string]struct{ armType, parentInput, path string }{
	TypeResourceGroup:  {"Microsoft.Resources/resourceGroups", "", "/resourceGroups/"},
	TypeVirtualNetwork: {"Microsoft.Network/virtualNetworks", "resource_group_id", "/providers/Microsoft.Network/virtualNetworks/"},
	TypeSubnet:         {"Microsoft.Network/virtualNetworks/subnets", "virtual_network_id", "/subnets/"},
	TypePublicIP:       {"Microsoft.Network/publicIPAddresses", "resource_group_id", "/providers/Microsoft.Network/publicIPAddresses/"},
	TypeCluster:        {"Microsoft.ContainerService/managedClusters", "resource_group_id", "/providers/Microsoft.ContainerService/managedClusters/"},
	TypeNodePool:       {"Microsoft.ContainerService/managedClusters/agentPools", "cluster_id", "/agentPools/"},
	TypeRoleAssignment: {"Microsoft.Authorization/roleAssignments", "cluster_id", assignmentsPath},
}

// ImportID accepts, for `regionctl import` and import blocks, an object's
// ARM ID (as the portal and `az ... show --query id` give it) or its name,
// which is looked for where the region's spec puts it: the resource group,
// virtual network or cluster the inputs name, or for a resource group the
// region's subscription. An ARM ID must name an object of the type in that
// same parent.
//
// ARM IDs compare case-insensitively and services spell them differently
// (AKS answers .../resourcegroups/...), so it reads the object and returns
// its ID as ARM spells it: the ID the driver records when it creates one,
// so an object state already manages is recognised whatever case the user
// typed.
func (d *Driver) ImportID(ctx context.Context, req providers.ImportIDRequest) (providers.ImportIDResponse, error) {
	id, err := importARMID(req.Type, req.ID, req.Inputs, d.subscription)
	if err != nil {
		return providers.ImportIDResponse{}, fmt.Errorf("azure: import %s (%s): %v: %w", req.Address, req.ID, err, providers.ErrPermanent)
	}
	req.ID = id
	resp, err := d.Router.ImportID(ctx, req)
	if err != nil {
		return resp, err
	}
	read, err := d.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: req.Address, Type: req.Type, ID: resp.ID, Inputs: req.Inputs}})
	if err != nil {
		return providers.ImportIDResponse{}, fmt.Errorf("azure: import %s (%s): %w", req.Address, req.ID, err)
	}
	if live, _ := read.Outputs["id"].(string); read.Exists && strings.EqualFold(live, resp.ID) {
		resp.ID = live
	}
	return resp, nil // one that does not exist is the engine's to report
}

// importARMID returns the ARM ID the driver records for what a user gave
// for an object of type typ: an ARM ID, checked against the parent the
// inputs name, or a name, placed in that parent. The ID's fixed segments
// are spelled as ARM documents them.
func importARMID(typ, id string, in providers.Values, subscription string) (string, error) {
	kind, known := importKinds[typ]
	if !known {
		return id, nil
	}
	parent := ""
	if kind.parentInput == "" {
		sub, _ := in["subscription_id"].(string)
		if sub == "" {
			sub = subscription
		}
		if sub != "" {
			parent = "/subscriptions/" + sub
		}
	} else {
		parent, _ = in[kind.parentInput].(string)
	}
	if !strings.HasPrefix(id, "/") {
		if strings.Contains(id, "/") {
			return "", fmt.Errorf("it is neither a name nor an ARM ID (/subscriptions/...)")
		}
		if parent == "" {
			return "", fmt.Errorf("the %s is not known yet, so a name alone cannot be placed: give the full ARM ID (/subscriptions/...%sNAME)", parentWhat(kind.parentInput), kind.path)
		}
		return parent + kind.path + id, nil
	}
	r, err := arm.ParseResourceID(strings.TrimSuffix(id, "/"))
	if err != nil {
		return "", fmt.Errorf("not an ARM ID: %v", err)
	}
	if !strings.EqualFold(r.ResourceType.String(), kind.armType) {
		return "", fmt.Errorf("the ARM ID names a %s, not a %s (want .../%sNAME)", r.ResourceType, kind.armType, strings.TrimPrefix(kind.path, "/"))
	}
	got := canonicalParent(r)
	if parent != "" && !strings.EqualFold(got, parent) {
		return "", fmt.Errorf("it is in %s, but the region's %s is %s", got, parentWhat(kind.parentInput), parent)
	}
	return got + kind.path + r.Name, nil
}

// canonicalParent is the ID of the parent r lives in, its fixed segments
// spelled as ARM returns them: the subscription of a resource group, the
// resource group of a top-level resource, and the virtual network or
// cluster of a subnet, agent pool or role assignment.
func canonicalParent(r *arm.ResourceID) string {
	if r.ResourceGroupName == "" || strings.EqualFold(r.ResourceType.String(), importKinds[TypeResourceGroup].armType) {
		return "/subscriptions/" + r.SubscriptionID
	}
	group := groupID(r.SubscriptionID, r.ResourceGroupName)
	switch {
	case strings.EqualFold(r.ResourceType.String(), importKinds[TypeSubnet].armType):
		return group + importKinds[TypeVirtualNetwork].path + r.Parent.Name
	case strings.EqualFold(r.ResourceType.String(), importKinds[TypeNodePool].armType),
		strings.EqualFold(r.ResourceType.String(), importKinds[TypeRoleAssignment].armType): // an extension of its cluster
		return group + importKinds[TypeCluster].path + r.Parent.Name
	}
	return group
}

// parentWhat names the parent an input holds, for messages.
func parentWhat(input string) string {
	switch input {
	case "resource_group_id":
		return "resource group"
	case "virtual_network_id":
		return "virtual network"
	case "cluster_id":
		return "AKS cluster"
	}
	return "subscription"
}
