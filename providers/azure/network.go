package azure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/providers"
)

// errNoUpdate is returned for a change the driver cannot make in place;
// Expand lists such keys in ForceNew, so the engine never asks for it.
var errNoUpdate = errors.New("cannot be changed in place (it forces a replacement)")

// groupID is the ARM ID of a resource group.
func groupID(sub, group string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + group
}

// sameID reports an ID read from the cloud the way it was recorded when
// the two name the same object: ARM IDs compare case-insensitively, and a
// differently cased copy must not look like a change.
func sameID(live, recorded string) string {
	if recorded != "" && strings.EqualFold(live, recorded) {
		return recorded
	}
	return live
}

// groupOf returns the subscription and resource group named by the ARM ID
// in input k of v (a resource group ID, or any ID inside a group).
func groupOf(v providers.Values, k string) (sub, group string, err error) {
	id := str(v, k)
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return "", "", fmt.Errorf("input %s = %q is not an Azure resource ID: %w", k, id, err)
	}
	return r.SubscriptionID, r.ResourceGroupName, nil
}

// parseID parses c.id.
func (c *call) parseID() (*arm.ResourceID, error) {
	r, err := arm.ParseResourceID(c.id)
	if err != nil {
		return nil, fmt.Errorf("%q is not an Azure resource ID: %w", c.id, err)
	}
	return r, nil
}

// retryInUse retries fn while Azure reports the object is still in use by
// one that is being deleted (a subnet's NICs, an IP's load balancer), for
// at most a few minutes (seconds in the sandbox).
func (c *call) retryInUse(ctx context.Context, fn func() error) error {
	limit := 10 * time.Minute
	if c.d.sandbox {
		limit = 5 * time.Second
	}
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		switch errorCode(err) {
		case "InUseSubnetCannotBeDeleted", "PublicIPAddressInUse", "InUseNetworkSecurityGroupCannotBeDeleted", "AnotherOperationInProgress":
			if time.Now().Before(deadline) {
				if serr := sleep(ctx, c.d.pollDelay(nil)); serr != nil {
					return serr
				}
				continue
			}
		}
		return err
	}
}

// deleteLRO runs a delete and treats "already gone" as done.
func deleteLRO[T any](ctx context.Context, c *call, start func(ctx context.Context) (*runtime.Poller[T], error)) error {
	return c.retryInUse(ctx, func() error {
		_, err := run(ctx, c.d, start)
		if isNotFound(err) {
			return nil
		}
		return err
	})
}

// ---- azure_resource_group ----
//
// A resource group's ID is its ARM ID.

type groupHandler struct{}

func (groupHandler) get(ctx context.Context, c *call, name string) (*armresources.ResourceGroup, error) {
	out, err := c.cl.groups.Get(ctx, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.ResourceGroup, nil
}

func deleting(state *string) bool { return strings.EqualFold(deref(state), "Deleting") }

func (h groupHandler) find(ctx context.Context, c *call) (string, error) {
	g, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || g == nil || !c.matchTags(g.Tags) || g.Properties != nil && deleting(g.Properties.ProvisioningState) {
		return "", err
	}
	return deref(g.ID), nil
}

func (h groupHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	g, err := h.get(ctx, c, name)
	if err != nil {
		return "", err
	}
	if g != nil && !c.matchTags(g.Tags) {
		return "", c.notOurs("resource group", name, g.Tags)
	}
	if g != nil {
		return deref(g.ID), nil
	}
	out, err := c.cl.groups.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to(str(c.in, "location")), Tags: c.tags()}, nil)
	if err != nil {
		return "", err
	}
	return deref(out.ID), nil
}

func (h groupHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rid, err := c.parseID()
	if err != nil {
		return false, nil, nil, nil
	}
	g, err := h.get(ctx, c, rid.ResourceGroupName)
	if err != nil || g == nil {
		return false, nil, nil, err
	}
	in := providers.Values{"location": normLocation(deref(g.Location)), "name": deref(g.Name)}
	if str(c.prev, "subscription_id") != "" {
		in["subscription_id"] = rid.SubscriptionID
	}
	return true, in, providers.Values{"id": deref(g.ID), "name": deref(g.Name)}, nil
}

func (groupHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

// delete refuses to delete a group that still holds a virtual network, a
// public IP or an AKS cluster: deleting a resource group deletes
// everything in it, and regionctl deletes its own objects first, so what
// is left is someone else's (or a leak worth looking at).
func (groupHandler) delete(ctx context.Context, c *call) error {
	rid, err := c.parseID()
	if err != nil {
		return nil
	}
	name := rid.ResourceGroupName
	left, err := c.groupContents(ctx, name)
	if isNotFound(err) && errorCode(err) == "ResourceGroupNotFound" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list what resource group %s still holds: %w", name, err)
	}
	if len(left) > 0 {
		slices.Sort(left)
		return fmt.Errorf("resource group %s still holds %s; deleting the group would delete them too, so move or delete them first",
			name, strings.Join(left, ", "))
	}
	return deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[armresources.ResourceGroupsClientDeleteResponse], error) {
		return c.cl.groups.BeginDelete(ctx, name, nil)
	})
}

// groupContents lists the virtual networks, public IPs and AKS clusters in
// a resource group, as "type name".
func (c *call) groupContents(ctx context.Context, group string) ([]string, error) {
	var out []string
	vnets := c.cl.vnets.NewListPager(group, nil)
	for vnets.More() {
		page, err := vnets.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			out = append(out, "virtual network "+deref(v.Name))
		}
	}
	pips := c.cl.pips.NewListPager(group, nil)
	for pips.More() {
		page, err := pips.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Value {
			out = append(out, "public IP "+deref(p.Name))
		}
	}
	clusters := c.cl.clusters.NewListByResourceGroupPager(group, nil)
	for clusters.More() {
		page, err := clusters.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Value {
			out = append(out, "AKS cluster "+deref(m.Name))
		}
	}
	return out, nil
}

// ---- azure_virtual_network ----

type vnetHandler struct{}

func (vnetHandler) get(ctx context.Context, c *call, group, name string) (*armnetwork.VirtualNetwork, error) {
	out, err := c.cl.vnets.Get(ctx, group, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.VirtualNetwork, nil
}

func (h vnetHandler) find(ctx context.Context, c *call) (string, error) {
	_, group, err := groupOf(c.in, "resource_group_id")
	if err != nil {
		return "", nil
	}
	v, err := h.get(ctx, c, group, str(c.in, "name"))
	if err != nil || v == nil || !c.matchTags(v.Tags) {
		return "", err
	}
	return deref(v.ID), nil
}

func (h vnetHandler) create(ctx context.Context, c *call) (string, error) {
	_, group, err := groupOf(c.in, "resource_group_id")
	if err != nil {
		return "", err
	}
	name := str(c.in, "name")
	v, err := h.get(ctx, c, group, name)
	if err != nil {
		return "", err
	}
	if v != nil && !c.matchTags(v.Tags) {
		return "", c.notOurs("virtual network", name, v.Tags)
	}
	if v != nil {
		// Never PUT an existing network again: a PUT without its subnets
		// would delete them.
		return deref(v.ID), nil
	}
	out, err := run(ctx, c.d, func(ctx context.Context) (*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], error) {
		return c.cl.vnets.BeginCreateOrUpdate(ctx, group, name, armnetwork.VirtualNetwork{
			Location: to(str(c.in, "location")), Tags: c.tags(),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{
				AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: ptrList(strList(c.in, "address_space"))},
			},
		}, nil)
	})
	if err != nil {
		if v, gerr := h.get(ctx, c, group, name); gerr == nil && v != nil && c.matchTags(v.Tags) {
			if conflictInProgress(err) {
				err = settleState(ctx, c.d, "virtual network "+name, func() (*string, bool, error) {
					v, err := h.get(ctx, c, group, name)
					if v == nil || v.Properties == nil {
						return nil, v != nil, err
					}
					return (*string)(v.Properties.ProvisioningState), true, err
				})
			} else if v.Properties != nil {
				err = markFailed((*string)(v.Properties.ProvisioningState), err)
			}
			return deref(v.ID), err
		}
		return "", err
	}
	return deref(out.ID), nil
}

func (h vnetHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rid, err := c.parseID()
	if err != nil {
		return false, nil, nil, nil
	}
	v, err := h.get(ctx, c, rid.ResourceGroupName, rid.Name)
	if err != nil || v == nil {
		return false, nil, nil, err
	}
	var space []string
	if v.Properties != nil && v.Properties.AddressSpace != nil {
		space = fromPtrList(v.Properties.AddressSpace.AddressPrefixes)
	}
	in := providers.Values{
		"resource_group_id": sameID(groupID(rid.SubscriptionID, rid.ResourceGroupName), str(c.prev, "resource_group_id")),
		"location":          normLocation(deref(v.Location)), "name": deref(v.Name),
		"address_space": orderLike(space, strList(c.prev, "address_space")),
	}
	return true, in, providers.Values{"id": deref(v.ID), "name": deref(v.Name)}, nil
}

func (vnetHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (vnetHandler) delete(ctx context.Context, c *call) error {
	rid, err := c.parseID()
	if err != nil {
		return nil
	}
	return deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[armnetwork.VirtualNetworksClientDeleteResponse], error) {
		return c.cl.vnets.BeginDelete(ctx, rid.ResourceGroupName, rid.Name, nil)
	})
}

// ---- azure_subnet ----
//
// Subnets take no tags; Find and an interrupted create adopt the subnet
// of the wanted name in the (regionctl-made) virtual network.

type subnetHandler struct{}

func vnetOf(v providers.Values) (group, vnet string, err error) {
	id := str(v, "virtual_network_id")
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return "", "", fmt.Errorf("input virtual_network_id = %q is not an Azure resource ID: %w", id, err)
	}
	return r.ResourceGroupName, r.Name, nil
}

func (subnetHandler) get(ctx context.Context, c *call, group, vnet, name string) (*armnetwork.Subnet, error) {
	out, err := c.cl.subnets.Get(ctx, group, vnet, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.Subnet, nil
}

func subnetCIDR(s *armnetwork.Subnet) string {
	if s.Properties == nil {
		return ""
	}
	if s.Properties.AddressPrefix != nil {
		return *s.Properties.AddressPrefix
	}
	if len(s.Properties.AddressPrefixes) > 0 {
		return deref(s.Properties.AddressPrefixes[0])
	}
	return ""
}

func (h subnetHandler) find(ctx context.Context, c *call) (string, error) {
	group, vnet, err := vnetOf(c.in)
	if err != nil {
		return "", nil
	}
	s, err := h.get(ctx, c, group, vnet, str(c.in, "name"))
	if err != nil || s == nil {
		return "", err
	}
	return deref(s.ID), nil
}

func (h subnetHandler) create(ctx context.Context, c *call) (string, error) {
	group, vnet, err := vnetOf(c.in)
	if err != nil {
		return "", err
	}
	name, cidr := str(c.in, "name"), str(c.in, "cidr")
	s, err := h.get(ctx, c, group, vnet, name)
	if err != nil {
		return "", err
	}
	if s != nil {
		if got := subnetCIDR(s); got != cidr {
			return "", fmt.Errorf("subnet %s of %s already exists with CIDR %s, not %s", name, vnet, got, cidr)
		}
		return deref(s.ID), nil
	}
	out, err := run(ctx, c.d, func(ctx context.Context) (*runtime.Poller[armnetwork.SubnetsClientCreateOrUpdateResponse], error) {
		return c.cl.subnets.BeginCreateOrUpdate(ctx, group, vnet, name, armnetwork.Subnet{
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to(cidr)},
		}, nil)
	})
	if err != nil {
		if s, gerr := h.get(ctx, c, group, vnet, name); gerr == nil && s != nil {
			if conflictInProgress(err) {
				err = settleState(ctx, c.d, "subnet "+name, func() (*string, bool, error) {
					s, err := h.get(ctx, c, group, vnet, name)
					if s == nil || s.Properties == nil {
						return nil, s != nil, err
					}
					return (*string)(s.Properties.ProvisioningState), true, err
				})
			} else if s.Properties != nil {
				err = markFailed((*string)(s.Properties.ProvisioningState), err)
			}
			return deref(s.ID), err
		}
		return "", err
	}
	return deref(out.ID), nil
}

func (h subnetHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rid, err := c.parseID()
	if err != nil || rid.Parent == nil {
		return false, nil, nil, nil
	}
	s, err := h.get(ctx, c, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
	if err != nil || s == nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"virtual_network_id": sameID(rid.Parent.String(), str(c.prev, "virtual_network_id")),
		"name":               deref(s.Name), "cidr": subnetCIDR(s),
	}
	return true, in, providers.Values{"id": deref(s.ID), "name": deref(s.Name)}, nil
}

func (subnetHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (subnetHandler) delete(ctx context.Context, c *call) error {
	rid, err := c.parseID()
	if err != nil || rid.Parent == nil {
		return nil
	}
	return deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[armnetwork.SubnetsClientDeleteResponse], error) {
		return c.cl.subnets.BeginDelete(ctx, rid.ResourceGroupName, rid.Parent.Name, rid.Name, nil)
	})
}

// ---- azure_public_ip ----

type pipHandler struct{}

func (pipHandler) get(ctx context.Context, c *call, group, name string) (*armnetwork.PublicIPAddress, error) {
	out, err := c.cl.pips.Get(ctx, group, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.PublicIPAddress, nil
}

func (h pipHandler) find(ctx context.Context, c *call) (string, error) {
	_, group, err := groupOf(c.in, "resource_group_id")
	if err != nil {
		return "", nil
	}
	p, err := h.get(ctx, c, group, str(c.in, "name"))
	if err != nil || p == nil || !c.matchTags(p.Tags) {
		return "", err
	}
	return deref(p.ID), nil
}

func (h pipHandler) create(ctx context.Context, c *call) (string, error) {
	_, group, err := groupOf(c.in, "resource_group_id")
	if err != nil {
		return "", err
	}
	name := str(c.in, "name")
	p, err := h.get(ctx, c, group, name)
	if err != nil {
		return "", err
	}
	if p != nil && !c.matchTags(p.Tags) {
		return "", c.notOurs("public IP address", name, p.Tags)
	}
	if p != nil {
		return deref(p.ID), nil
	}
	out, err := run(ctx, c.d, func(ctx context.Context) (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return c.cl.pips.BeginCreateOrUpdate(ctx, group, name, armnetwork.PublicIPAddress{
			Location: to(str(c.in, "location")), Tags: c.tags(),
			SKU:   &armnetwork.PublicIPAddressSKU{Name: to(armnetwork.PublicIPAddressSKUName(str(c.in, "sku"))), Tier: to(armnetwork.PublicIPAddressSKUTierRegional)},
			Zones: ptrList(strList(c.in, "zones")),
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{
				PublicIPAllocationMethod: to(armnetwork.IPAllocationMethod(str(c.in, "allocation"))),
				PublicIPAddressVersion:   to(armnetwork.IPVersionIPv4),
			},
		}, nil)
	})
	if err != nil {
		if p, gerr := h.get(ctx, c, group, name); gerr == nil && p != nil && c.matchTags(p.Tags) {
			if conflictInProgress(err) {
				err = settleState(ctx, c.d, "public IP address "+name, func() (*string, bool, error) {
					p, err := h.get(ctx, c, group, name)
					if p == nil || p.Properties == nil {
						return nil, p != nil, err
					}
					return (*string)(p.Properties.ProvisioningState), true, err
				})
			} else if p.Properties != nil {
				err = markFailed((*string)(p.Properties.ProvisioningState), err)
			}
			return deref(p.ID), err
		}
		return "", err
	}
	return deref(out.ID), nil
}

func (h pipHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rid, err := c.parseID()
	if err != nil {
		return false, nil, nil, nil
	}
	p, err := h.get(ctx, c, rid.ResourceGroupName, rid.Name)
	if err != nil || p == nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"resource_group_id": sameID(groupID(rid.SubscriptionID, rid.ResourceGroupName), str(c.prev, "resource_group_id")),
		"location":          normLocation(deref(p.Location)), "name": deref(p.Name),
		"zones": orderLike(fromPtrList(p.Zones), strList(c.prev, "zones")),
	}
	if p.SKU != nil {
		in["sku"] = string(deref(p.SKU.Name))
	}
	out := providers.Values{"id": deref(p.ID), "name": deref(p.Name)}
	if p.Properties != nil {
		in["allocation"] = string(deref(p.Properties.PublicIPAllocationMethod))
		out["ip_address"] = deref(p.Properties.IPAddress)
	}
	return true, in, out, nil
}

func (pipHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (pipHandler) delete(ctx context.Context, c *call) error {
	rid, err := c.parseID()
	if err != nil {
		return nil
	}
	return deleteLRO(ctx, c, func(ctx context.Context) (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return c.cl.pips.BeginDelete(ctx, rid.ResourceGroupName, rid.Name, nil)
	})
}
