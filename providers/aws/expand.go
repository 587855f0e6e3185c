package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// Resource types of the AWS driver.
const (
	TypeVPC             = "aws_vpc"
	TypeSubnet          = "aws_subnet"
	TypeInternetGateway = "aws_internet_gateway"
	TypeEIP             = "aws_eip"
	TypeNATGateway      = "aws_nat_gateway"
	TypeRouteTable      = "aws_route_table"
	TypeSecurityGroup   = "aws_security_group"
	TypeIAMRole         = "aws_iam_role"
	TypeEKSCluster      = "aws_eks_cluster"
	TypeEKSNodeGroup    = "aws_eks_node_group"
	TypeEKSAddon        = "aws_eks_addon"
)

// Managed IAM policies the two roles get.
const (
	policyPrefix         = "arn:aws:iam::aws:policy/"
	PolicyEKSCluster     = policyPrefix + "AmazonEKSClusterPolicy"
	PolicyEKSWorkerNode  = policyPrefix + "AmazonEKSWorkerNodePolicy"
	PolicyECRPullOnly    = policyPrefix + "AmazonEC2ContainerRegistryPullOnly"
	PolicyEKSCNI         = policyPrefix + "AmazonEKS_CNI_Policy"
	PolicyEBSCSIDriver   = policyPrefix + "service-role/AmazonEBSCSIDriverPolicy"
	ebsCSIAddon          = "aws-ebs-csi-driver"
	defaultRouteCIDR     = "0.0.0.0/0"
	maxRoleNameLength    = 64
	maxNodegroupNameLen  = 63
	clusterSGDescription = "regionctl: extra security group of the EKS cluster (HTTPS from the VPC)"
)

// EKS AMI types by architecture and accelerator.
const (
	amiAMD64  = "AL2023_x86_64_STANDARD"
	amiARM64  = "AL2023_ARM_64_STANDARD"
	amiNVIDIA = "AL2023_x86_64_NVIDIA"
)

// subnetPlan is how the network CIDR is carved: the network is cut into 8
// blocks; private subnet z is block z, and public subnet z is slot z of the
// last block cut into 8 again. A /16 gives /19 private and /22 public
// subnets. Adding a zone never moves an existing subnet.
type subnetPlan struct{ private, public []string }

func carveSubnets(cidr string, zones int) (subnetPlan, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return subnetPlan{}, fmt.Errorf("network CIDR %q is not an IPv4 prefix like 10.20.0.0/16", cidr)
	}
	if p.Masked() != p {
		return subnetPlan{}, fmt.Errorf("network CIDR %s has host bits set; did you mean %s?", cidr, p.Masked())
	}
	if p.Bits() < 16 || p.Bits() > 22 {
		return subnetPlan{}, fmt.Errorf("network CIDR %s: the AWS driver needs a prefix between /16 and /22 (an AWS VPC is at most a /16, and each zone needs a private and a public subnet)", cidr)
	}
	if zones > 7 {
		return subnetPlan{}, fmt.Errorf("%d zones: the AWS driver carves at most 7 zones out of the network", zones)
	}
	var out subnetPlan
	for z := range zones {
		out.private = append(out.private, subPrefix(p, 3, z).String())
		out.public = append(out.public, subPrefix(subPrefix(p, 3, 7), 3, z).String())
	}
	return out, nil
}

// subPrefix returns the i-th of the 2^extra sub-prefixes of p.
func subPrefix(p netip.Prefix, extra, i int) netip.Prefix {
	bits := p.Bits() + extra
	b := p.Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	a := base + uint32(i)<<(32-bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits)
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])[:8]
}

// roleName is "regionctl-<region>-<kind>", shortened with a hash when it
// would pass IAM's 64 characters. Role names are account-wide, and region
// names are unique across a fleet, so the name is unique per account.
func roleName(region, kind string) string {
	n := "regionctl-" + region + "-" + kind
	if len(n) <= maxRoleNameLength {
		return n
	}
	keep := maxRoleNameLength - len("regionctl--") - len(kind) - 9
	return "regionctl-" + region[:keep] + "-" + shortHash(region) + "-" + kind
}

// nodegroupName is the pool name plus a short hash of the inputs that force
// a replacement, so a create-before-destroy replacement gets a new name and
// can live beside the node group it replaces.
func nodegroupName(pool string, forceNew ...string) string {
	h := shortHash(forceNew...)
	if len(pool) > maxNodegroupNameLen-9 {
		pool = pool[:maxNodegroupNameLen-9]
	}
	return pool + "-" + h
}

func endpointAccess(mode string) (public, private bool) {
	switch mode {
	case spec.EndpointPrivate:
		return false, true
	case spec.EndpointBoth:
		return true, true
	default:
		return true, false
	}
}

func amiType(m providers.MachineType) string {
	switch {
	case m.GPU > 0:
		return amiNVIDIA
	case m.Arch == spec.ArchARM64:
		return amiARM64
	default:
		return amiAMD64
	}
}

// Expand translates a region into its AWS resources; see docs/providers/aws.md
// for the full mapping. It makes no cloud call.
func (d *Driver) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	if r == nil {
		return providers.ExpandResponse{}, errors.New("aws: expand: no region")
	}
	var resp providers.ExpandResponse
	ov, ds := parseOverrides(r)
	for _, x := range ds {
		if x.Severity == diag.Error { // Validate reports the warnings
			resp.Diagnostics = append(resp.Diagnostics, x)
		}
	}

	name := r.Metadata.Name
	loc := r.Spec.Location
	addr := func(typ, n string) string { return providers.Address(name, typ, n) }
	add := func(res providers.Resource) { resp.Resources = append(resp.Resources, res) }

	zoneCount := r.Spec.Zones
	if zoneCount <= 0 {
		zoneCount = spec.DefaultZones
	}
	zones := zoneNames(loc, zoneCount)
	if len(zones) < zoneCount {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.zones"), "spec.zones", "%d zones requested but %s has %d", zoneCount, loc, len(zones))
		return resp, nil
	}
	plan, err := carveSubnets(r.Spec.Network.CIDR, len(zones))
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.network.cidr"), "spec.network.cidr", "%v", err)
		return resp, nil
	}
	letter := func(zone string) string { return zone[len(zone)-1:] }

	vpc := addr(TypeVPC, "main")
	add(providers.Resource{
		Address: vpc, Type: TypeVPC, Element: spec.ElementNetwork,
		Inputs: providers.Values{
			"location": loc, "cidr": r.Spec.Network.CIDR,
			"enable_dns_support": true, "enable_dns_hostnames": true,
		},
	})
	vpcID := providers.Ref(vpc, "id")
	publicSubnets := make([]string, len(zones))
	privateSubnets := make([]string, len(zones))
	for i, z := range zones {
		for _, tier := range []string{"public", "private"} {
			a := addr(TypeSubnet, tier+"-"+letter(z))
			cidr := plan.private[i]
			if tier == "public" {
				cidr = plan.public[i]
				publicSubnets[i] = a
			} else {
				privateSubnets[i] = a
			}
			add(providers.Resource{
				Address: a, Type: TypeSubnet,
				Inputs: providers.Values{
					"location": loc, "vpc_id": vpcID, "cidr": cidr, "availability_zone": z, "tier": tier,
				},
			})
		}
	}
	igw := addr(TypeInternetGateway, "main")
	add(providers.Resource{
		Address: igw, Type: TypeInternetGateway,
		Inputs: providers.Values{"location": loc, "vpc_id": vpcID},
	})

	natZones := zones
	if r.Spec.Network.SingleNATGateway {
		natZones = zones[:1]
	}
	natFor := map[string]string{}
	for _, z := range natZones {
		eip := addr(TypeEIP, "nat-"+letter(z))
		add(providers.Resource{
			Address: eip, Type: TypeEIP,
			Inputs: providers.Values{"location": loc},
		})
		nat := addr(TypeNATGateway, letter(z))
		add(providers.Resource{
			Address: nat, Type: TypeNATGateway,
			Inputs: providers.Values{
				"location": loc, "subnet_id": providers.Ref(publicSubnets[slices.Index(zones, z)], "id"),
				"allocation_id": providers.Ref(eip, "id"),
			},
			// A public NAT gateway needs the VPC's internet gateway.
			DependsOn: []string{igw},
		})
		natFor[z] = nat
	}
	publicIDs := make([]any, len(zones))
	for i, a := range publicSubnets {
		publicIDs[i] = providers.Ref(a, "id")
	}
	add(providers.Resource{
		Address: addr(TypeRouteTable, "public"), Type: TypeRouteTable,
		Inputs: providers.Values{
			"location": loc, "vpc_id": vpcID, "gateway_id": providers.Ref(igw, "id"), "subnet_ids": publicIDs,
		},
	})
	var privateTables []string
	for i, z := range zones {
		nat := natFor[z]
		if nat == "" {
			nat = natFor[natZones[0]]
		}
		a := addr(TypeRouteTable, "private-"+letter(z))
		privateTables = append(privateTables, a)
		add(providers.Resource{
			Address: a, Type: TypeRouteTable,
			Inputs: providers.Values{
				"location": loc, "vpc_id": vpcID, "nat_gateway_id": providers.Ref(nat, "id"),
				"subnet_ids": []any{providers.Ref(privateSubnets[i], "id")},
			},
		})
	}

	sg := addr(TypeSecurityGroup, "cluster")
	add(providers.Resource{
		Address: sg, Type: TypeSecurityGroup,
		Inputs: providers.Values{
			"location": loc, "vpc_id": vpcID, "name": "regionctl-" + name + "-cluster",
			"description": clusterSGDescription, "ingress_cidr": r.Spec.Network.CIDR,
		},
	})
	clusterRole := addr(TypeIAMRole, "cluster")
	add(providers.Resource{
		Address: clusterRole, Type: TypeIAMRole,
		Inputs: providers.Values{
			"name": roleName(name, "cluster"), "service": "eks.amazonaws.com",
			"policy_arns": []any{PolicyEKSCluster},
		},
	})
	nodeRole := addr(TypeIAMRole, "node")
	add(providers.Resource{
		Address: nodeRole, Type: TypeIAMRole,
		Inputs: providers.Values{
			"name": roleName(name, "node"), "service": "ec2.amazonaws.com",
			"policy_arns": []any{PolicyECRPullOnly, PolicyEKSCNI, PolicyEKSWorkerNode, PolicyEBSCSIDriver},
		},
	})

	var cpSubnets []any
	var cpZones int
	for i, z := range zones {
		if !controlPlaneExcluded[z] {
			cpSubnets = append(cpSubnets, providers.Ref(privateSubnets[i], "id"))
			cpZones++
		}
	}
	if cpZones < 2 {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.zones"), "spec.zones",
			"EKS needs subnets in at least two availability zones; this region has %d usable for the control plane", cpZones)
	}
	public, private := endpointAccess(r.Spec.Cluster.EndpointAccess)
	cluster := addr(TypeEKSCluster, "main")
	add(providers.Resource{
		Address: cluster, Type: TypeEKSCluster, Element: spec.ElementCluster,
		Inputs: providers.Values{
			"location": loc, "name": name, "version": r.Spec.Cluster.KubernetesVersion,
			"role_arn": providers.Ref(clusterRole, "arn"), "subnet_ids": cpSubnets,
			"security_group_ids":     []any{providers.Ref(sg, "id")},
			"endpoint_public_access": public, "endpoint_private_access": private,
		},
		Stateful: true,
	})

	nodeSubnets := make([]any, len(privateSubnets))
	for i, a := range privateSubnets {
		nodeSubnets[i] = providers.Ref(a, "id")
	}
	var pools []string
	for i, p := range r.Spec.Cluster.NodePools {
		path := fmt.Sprintf("spec.cluster.nodePools[%d]", i)
		mt, how, err := d.poolMachine(p, ov)
		if err != nil {
			resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(path+".machine"), path+".machine", "node pool %q: %v", p.Name, err)
			continue
		}
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: %s → %s (%d vCPU, %g GiB%s)",
			p.Name, how, mt.Name, mt.CPU, mt.MemoryGiB, gpuNote(mt)))
		capacity := "ON_DEMAND"
		if p.Spot {
			capacity = "SPOT"
		}
		ami := amiType(mt)
		labels := map[string]any{}
		for k, v := range p.Labels {
			labels[k] = v
		}
		taints := []any{}
		for j, t := range p.Taints {
			tt, err := providers.ParseTaint(t)
			if err != nil {
				tp := fmt.Sprintf("%s.taints[%d]", path, j)
				resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(tp), tp, "%v", err)
				continue
			}
			taints = append(taints, map[string]any{"key": tt.Key, "value": tt.Value, "effect": tt.EffectConstant()})
		}
		ngName := nodegroupName(p.Name, append([]string{mt.Name, capacity, ami}, privateSubnets...)...)
		a := addr(TypeEKSNodeGroup, p.Name)
		pools = append(pools, a)
		add(providers.Resource{
			Address: a, Type: TypeEKSNodeGroup, Element: spec.NodePoolElement(p.Name),
			Inputs: providers.Values{
				"location": loc, "cluster_name": providers.Ref(cluster, "id"), "name": ngName,
				"node_role_arn": providers.Ref(nodeRole, "arn"), "subnet_ids": nodeSubnets,
				"instance_type": mt.Name, "capacity_type": capacity, "ami_type": ami,
				"version":  r.Spec.Cluster.KubernetesVersion,
				"min_size": p.Min, "max_size": p.Max, "labels": labels, "taints": taints,
			},
			// Nodes need a route out (NAT) to join the cluster and pull images.
			DependsOn:           slices.Clone(privateTables),
			CreateBeforeDestroy: true,
		})
	}
	add(providers.Resource{
		Address: addr(TypeEKSAddon, "ebs-csi"), Type: TypeEKSAddon,
		Inputs:    providers.Values{"location": loc, "cluster_name": providers.Ref(cluster, "id"), "addon_name": ebsCSIAddon},
		DependsOn: pools, // the add-on's controller runs on nodes
	})
	addon := addr(TypeEKSAddon, "ebs-csi")
	lbEIPs := map[string][]string{}
	for _, lb := range r.Spec.LoadBalancers {
		if lb.Scheme != spec.SchemeExternal {
			continue
		}
		for _, z := range zones {
			a := addr(TypeEIP, "lb-"+lb.Name+"-"+letter(z))
			lbEIPs[lb.Name] = append(lbEIPs[lb.Name], a)
			add(providers.Resource{
				Address: a, Type: TypeEIP, Element: spec.LoadBalancerAddressElement(lb.Name),
				Inputs:   providers.Values{"location": loc},
				Stateful: true,
			})
		}
	}
	for _, res := range expandInCluster(r, cluster, addon, pools, publicSubnets, privateSubnets, lbEIPs) {
		add(res)
	}
	// What forces a replacement comes from the resource types' schemas.
	if err := d.Finish(resp.Resources); err != nil {
		return providers.ExpandResponse{}, err
	}
	return resp, nil
}

func gpuNote(m providers.MachineType) string {
	if m.GPU > 0 {
		return fmt.Sprintf(", %d GPU", m.GPU)
	}
	return ""
}

// poolMachine returns the instance type of a pool: the override when there
// is one, else PickMachine over the catalog; how says which.
func (d *Driver) poolMachine(p spec.NodePool, ov overrides) (providers.MachineType, string, error) {
	return providers.ChooseMachine(machines, p, ov.NodePools[p.Name].InstanceType,
		"spec.overrides.aws.nodePools."+p.Name+".instanceType", "AWS instance type")
}
