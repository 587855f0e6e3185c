package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// waitUpdate polls an EKS update (cluster, node group or add-on) until it
// succeeds, and turns a failed or cancelled one into an error.
func (e *env) waitUpdate(ctx context.Context, cluster string, u *ekstypes.Update, nodegroup, addon string) error {
	if u == nil || u.Id == nil {
		return nil
	}
	in := &eks.DescribeUpdateInput{Name: aws.String(cluster), UpdateId: u.Id}
	if nodegroup != "" {
		in.NodegroupName = aws.String(nodegroup)
	}
	if addon != "" {
		in.AddonName = aws.String(addon)
	}
	return e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		out, err := e.cl.eks.DescribeUpdate(ctx, in)
		if err != nil {
			return false, fmt.Errorf("describe update %s: %w", aws.ToString(u.Id), err)
		}
		switch out.Update.Status {
		case ekstypes.UpdateStatusSuccessful:
			return true, nil
		case ekstypes.UpdateStatusFailed, ekstypes.UpdateStatusCancelled:
			var msgs []string
			for _, e := range out.Update.Errors {
				msgs = append(msgs, fmt.Sprintf("%s: %s", e.ErrorCode, aws.ToString(e.ErrorMessage)))
			}
			return false, fmt.Errorf("EKS update %s (%s) %s: %s", aws.ToString(u.Id), out.Update.Type, strings.ToLower(string(out.Update.Status)), strings.Join(msgs, "; "))
		}
		return false, nil
	})
}

// dropFailedCreate deletes an object whose create ended failed
// (CREATE_FAILED, FAILED), waits until it is gone and returns cause with no
// ID: the engine then records no object, and the next apply creates it
// again under the same name. A failed object kept as tainted could not be
// replaced, since its replacement gets the same name. Only when the delete
// fails too is the ID returned, so the engine keeps it (tainted). The error
// is of class providers.ErrCreateFailed.
func dropFailedCreate(name, what string, issues []string, cause error, del func() error) (string, error) {
	if len(issues) > 0 {
		cause = fmt.Errorf("%w (%s)", cause, strings.Join(issues, "; "))
	}
	cause = kit.Classed(cause, providers.ErrCreateFailed)
	if err := del(); err != nil {
		return name, fmt.Errorf("%w; deleting the failed %s %s failed too: %v", cause, what, name, err)
	}
	return "", fmt.Errorf("%w; deleted the failed %s %s, so the next apply creates it again", cause, what, name)
}

// ---- aws_eks_cluster ----
//
// A cluster's ID is its name.

type clusterIn struct {
	Location              string   `kit:"location,replace" why:"a cluster lives in one AWS region"`
	Name                  string   `kit:"name,replace" why:"EKS cannot rename a cluster"`
	Version               string   `kit:"version"`
	RoleARN               string   `kit:"role_arn,replace" why:"EKS cannot change a cluster's IAM role"`
	SubnetIDs             []string `kit:"subnet_ids,replace,set" why:"EKS cannot move a cluster's control plane to other subnets"`
	SecurityGroupIDs      []string `kit:"security_group_ids,replace,set" why:"EKS cannot change a cluster's additional security groups"`
	EndpointPublicAccess  bool     `kit:"endpoint_public_access"`
	EndpointPrivateAccess bool     `kit:"endpoint_private_access"`
	// AuthenticationMode is how EKS maps IAM principals into the cluster
	// (access.go); it changes in place, forward only.
	AuthenticationMode string `kit:"authentication_mode,omitempty"`
}

type clusterOut struct {
	ID              string `kit:"id"`
	ARN             string `kit:"arn"`
	Endpoint        string `kit:"endpoint"`
	PlatformVersion string `kit:"platform_version"`
	Status          string `kit:"status"`
	// The CA certificate is public (every kubeconfig holds it); no token
	// or other secret is ever an output.
	CertificateAuthorityData *string `kit:"certificate_authority_data,omitempty"`
	ClusterSecurityGroupID   *string `kit:"cluster_security_group_id,omitempty"`
	OIDCIssuer               *string `kit:"oidc_issuer,omitempty"`
}

type clusterCall = call[clusterIn, clusterOut]

type clusterHandler struct{}

// describeCluster returns the cluster called name, or nil.
func (e *env) describeCluster(ctx context.Context, name string) (*ekstypes.Cluster, error) {
	out, err := e.cl.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Cluster, nil
}

func (h clusterHandler) Find(ctx context.Context, c *clusterCall) (string, error) {
	names := []string{c.In.Name}
	if names[0] == "" {
		names = nil
		p := eks.NewListClustersPaginator(c.Env.cl.eks, &eks.ListClustersInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return "", err
			}
			names = append(names, out.Clusters...)
		}
	}
	for _, n := range names {
		cl, err := c.Env.describeCluster(ctx, n)
		if err != nil {
			return "", err
		}
		if cl != nil && cl.Status != ekstypes.ClusterStatusDeleting && cl.Status != ekstypes.ClusterStatusFailed && matchTags(c.Meta, cl.Tags) {
			return n, nil
		}
	}
	return "", nil
}

// retryRolePropagation retries fn while EKS cannot yet assume a role IAM
// has just created (IAM is eventually consistent).
func (e *env) retryRolePropagation(ctx context.Context, fn func() error) error {
	roleNotReady := func(err error) bool {
		return errCode(err) == "InvalidParameterException" && strings.Contains(strings.ToLower(err.Error()), "role")
	}
	return kit.Retry{Backoff: e.d.pollBackoff(), For: min(e.d.dependencyWait, 2*time.Minute), Retryable: roleNotReady}.Do(ctx, fn)
}

func (h clusterHandler) Create(ctx context.Context, c *clusterCall) (string, error) {
	name := c.In.Name
	cl, err := c.Env.describeCluster(ctx, name)
	if err != nil {
		return "", err
	}
	if cl != nil && cl.Status == ekstypes.ClusterStatusFailed && sameAddress(c.Meta, cl.Tags) {
		// An earlier attempt of this create (or the failed cluster this
		// create replaces) could not be removed then: remove it now, then
		// create it again.
		c.ID = name
		if err := h.Delete(ctx, c); err != nil {
			return "", fmt.Errorf("delete EKS cluster %s, left FAILED by an earlier attempt: %w", name, err)
		}
		cl = nil
	}
	if cl != nil && !matchTags(c.Meta, cl.Tags) {
		return "", fmt.Errorf("EKS cluster %s already exists in %s and was not made by this create (its %s tag is %q)", name, c.In.Location, TagAddress, cl.Tags[TagAddress])
	}
	if cl == nil {
		err := c.Env.retryRolePropagation(ctx, func() error {
			_, err := c.Env.cl.eks.CreateCluster(ctx, &eks.CreateClusterInput{
				Name: aws.String(name), Version: aws.String(c.In.Version), RoleArn: aws.String(c.In.RoleARN),
				ResourcesVpcConfig: &ekstypes.VpcConfigRequest{
					SubnetIds: c.In.SubnetIDs, SecurityGroupIds: c.In.SecurityGroupIDs,
					EndpointPublicAccess:  aws.Bool(c.In.EndpointPublicAccess),
					EndpointPrivateAccess: aws.Bool(c.In.EndpointPrivateAccess),
				},
				AccessConfig: accessConfig(c.In.AuthenticationMode),
				Tags:         tags(c.Meta), ClientRequestToken: clientToken(c.Meta),
			})
			return err
		})
		if errCode(err) == "ResourceInUseException" {
			if cl, derr := c.Env.describeCluster(ctx, name); derr == nil && cl != nil && matchTags(c.Meta, cl.Tags) {
				err = nil // our earlier attempt made it
			}
		}
		if err != nil {
			return "", err
		}
	}
	lo, hi := c.Env.d.waitDelays()
	w := eks.NewClusterActiveWaiter(c.Env.cl.eks, func(o *eks.ClusterActiveWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String(name)}, 45*time.Minute); err != nil {
		err = fmt.Errorf("wait for EKS cluster %s to become active: %w", name, err)
		if cl, derr := c.Env.describeCluster(ctx, name); derr == nil && cl != nil && cl.Status == ekstypes.ClusterStatusFailed {
			var msgs []string
			if cl.Health != nil {
				for _, i := range cl.Health.Issues {
					msgs = append(msgs, fmt.Sprintf("%s: %s", i.Code, aws.ToString(i.Message)))
				}
			}
			c.ID = name
			return dropFailedCreate(name, "EKS cluster", msgs, err, func() error { return h.Delete(ctx, c) })
		}
		return name, err
	}
	return name, nil
}

func (h clusterHandler) Read(ctx context.Context, c *clusterCall) (*kit.Live[clusterIn, clusterOut], error) {
	cl, err := c.Env.describeCluster(ctx, c.ID)
	if err != nil || cl == nil {
		return nil, err
	}
	in := clusterIn{Location: c.In.Location, Name: aws.ToString(cl.Name), Version: aws.ToString(cl.Version), RoleARN: aws.ToString(cl.RoleArn)}
	out := clusterOut{
		ID: c.ID, ARN: aws.ToString(cl.Arn), Endpoint: aws.ToString(cl.Endpoint),
		PlatformVersion: aws.ToString(cl.PlatformVersion), Status: string(cl.Status),
	}
	if v := cl.ResourcesVpcConfig; v != nil {
		in.SubnetIDs, in.SecurityGroupIDs = v.SubnetIds, v.SecurityGroupIds
		in.EndpointPublicAccess, in.EndpointPrivateAccess = v.EndpointPublicAccess, v.EndpointPrivateAccess
		out.ClusterSecurityGroupID = v.ClusterSecurityGroupId
	}
	if cl.CertificateAuthority != nil {
		out.CertificateAuthorityData = cl.CertificateAuthority.Data
	}
	if cl.Identity != nil && cl.Identity.Oidc != nil {
		out.OIDCIssuer = cl.Identity.Oidc.Issuer
	}
	if cl.AccessConfig != nil {
		in.AuthenticationMode = string(cl.AccessConfig.AuthenticationMode)
	}
	if cl.Status == ekstypes.ClusterStatusFailed {
		return c.FoundFailed(in, out), nil
	}
	return c.Found(in, out), nil
}

// Settle waits until an adopted cluster is ACTIVE with its endpoint and
// CA (or FAILED, or gone: Read reports which). EKS refuses node groups and
// add-ons on a cluster that is not ACTIVE.
func (clusterHandler) Settle(ctx context.Context, c *clusterCall) error {
	return c.Env.settle(ctx, 45*time.Minute, "EKS cluster "+c.ID, func() (bool, error) {
		cl, err := c.Env.describeCluster(ctx, c.ID)
		if err != nil || cl == nil {
			return cl == nil, err
		}
		switch cl.Status {
		case ekstypes.ClusterStatusActive:
			return aws.ToString(cl.Endpoint) != "" && cl.CertificateAuthority != nil && aws.ToString(cl.CertificateAuthority.Data) != "", nil
		case ekstypes.ClusterStatusFailed:
			return true, nil
		}
		return false, nil // CREATING, UPDATING, PENDING, DELETING
	})
}

// settle polls done until it reports true, for at most limit.
func (e *env) settle(ctx context.Context, limit time.Duration, what string, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := e.d.pollBackoff().Poll(ctx, done); err != nil {
		return fmt.Errorf("wait for %s: %w", what, err)
	}
	return nil
}

// CheckUpgrade returns an error unless moving a cluster from Kubernetes
// minor from to minor to is one step forward (or no change): EKS upgrades
// one minor at a time and never downgrades.
func CheckUpgrade(from, to string) error {
	return providers.CheckMinorUpgrade("EKS", from, to)
}

// Update upgrades the control plane one minor and sets endpoint access.
func (h clusterHandler) Update(ctx context.Context, c *clusterCall, _ []string) error {
	cl, err := c.Env.describeCluster(ctx, c.ID)
	if err != nil {
		return err
	}
	if cl == nil {
		return fmt.Errorf("EKS cluster %s: %w", c.ID, providers.ErrNotFound)
	}
	if want, have := c.In.Version, aws.ToString(cl.Version); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("EKS cluster %s: %w", c.ID, err)
		}
		out, err := c.Env.cl.eks.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String(c.ID), Version: aws.String(want)})
		if err != nil {
			return fmt.Errorf("upgrade to Kubernetes %s: %w", want, err)
		}
		if err := c.Env.waitUpdate(ctx, c.ID, out.Update, "", ""); err != nil {
			return err
		}
	}
	if err := c.Env.updateAuthenticationMode(ctx, c.ID, cl, c.In.AuthenticationMode); err != nil {
		return err
	}
	pub, priv := c.In.EndpointPublicAccess, c.In.EndpointPrivateAccess
	if v := cl.ResourcesVpcConfig; v == nil || v.EndpointPublicAccess != pub || v.EndpointPrivateAccess != priv {
		out, err := c.Env.cl.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{
			Name:               aws.String(c.ID),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{EndpointPublicAccess: aws.Bool(pub), EndpointPrivateAccess: aws.Bool(priv)},
		})
		if err != nil {
			return fmt.Errorf("set endpoint access (public %v, private %v): %w", pub, priv, err)
		}
		if err := c.Env.waitUpdate(ctx, c.ID, out.Update, "", ""); err != nil {
			return err
		}
	}
	return nil
}

func (clusterHandler) Delete(ctx context.Context, c *clusterCall) error {
	_, err := c.Env.cl.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String(c.ID)})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.Env.d.waitDelays()
	w := eks.NewClusterDeletedWaiter(c.Env.cl.eks, func(o *eks.ClusterDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String(c.ID)}, 45*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS cluster %s to be deleted: %w", c.ID, err)
	}
	return nil
}

// ---- aws_eks_node_group ----
//
// A node group's ID is its name; its cluster comes from the cluster_name
// input.

type nodegroupIn struct {
	Location    string   `kit:"location,replace" why:"a node group lives in one AWS region"`
	ClusterName string   `kit:"cluster_name,replace" why:"a node group belongs to one cluster"`
	Name        string   `kit:"name,replace" why:"EKS cannot rename a node group"`
	NodeRoleARN string   `kit:"node_role_arn,replace" why:"EKS cannot change a node group's IAM role"`
	SubnetIDs   []string `kit:"subnet_ids,replace,set" why:"EKS cannot move a node group to other subnets"`
	// InstanceType is nil when the group has other than one type.
	InstanceType *string `kit:"instance_type,replace" why:"EKS cannot change a node group's instance types"`
	CapacityType string  `kit:"capacity_type,replace" why:"EKS cannot switch a node group between on-demand and Spot"`
	AmiType      string  `kit:"ami_type,replace" why:"EKS cannot change a node group's AMI type"`
	// DiskSizeGiB is the nodes' root volume size; nil for EKS's default
	// (20 GiB), which Read then does not report either.
	DiskSizeGiB *int              `kit:"disk_size,omitempty,replace" why:"EKS cannot change a node group's disk size"`
	Version     string            `kit:"version"`
	MinSize     int               `kit:"min_size"`
	MaxSize     int               `kit:"max_size"`
	Labels      map[string]string `kit:"labels"`
	Taints      []eksTaint        `kit:"taints,set"`
	// MaxUnavailable is updateConfig.maxUnavailable; nil leaves EKS's.
	MaxUnavailable *int `kit:"max_unavailable,omitempty"`
}

// updateConfig is the node group's update config, nil when the spec sets
// none.
func (in nodegroupIn) updateConfig() *ekstypes.NodegroupUpdateConfig {
	if in.MaxUnavailable == nil {
		return nil
	}
	return &ekstypes.NodegroupUpdateConfig{MaxUnavailable: aws.Int32(int32(*in.MaxUnavailable))}
}

// eksTaint is one node taint, with EKS's effect names (NO_SCHEDULE).
type eksTaint struct {
	Key    string `kit:"key"`
	Value  string `kit:"value"`
	Effect string `kit:"effect"`
}

type nodegroupOut struct {
	ID             string  `kit:"id"`
	ARN            string  `kit:"arn"`
	Status         string  `kit:"status"`
	DesiredSize    *int    `kit:"desired_size,omitempty"`
	ReleaseVersion *string `kit:"release_version,omitempty"`
}

type nodegroupCall = call[nodegroupIn, nodegroupOut]

type nodegroupHandler struct{}

// clusterOf is the node group's or add-on's cluster: the desired one, else
// the recorded one.
func clusterOf(in, prev string) string {
	if in != "" {
		return in
	}
	return prev
}

func (nodegroupHandler) describe(ctx context.Context, c *nodegroupCall, name string) (*ekstypes.Nodegroup, error) {
	out, err := c.Env.cl.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{
		ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), NodegroupName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Nodegroup, nil
}

func (h nodegroupHandler) Find(ctx context.Context, c *nodegroupCall) (string, error) {
	cluster := clusterOf(c.In.ClusterName, c.Prev.ClusterName)
	if cluster == "" {
		return "", nil
	}
	names := []string{c.In.Name}
	if names[0] == "" {
		names = nil
		p := eks.NewListNodegroupsPaginator(c.Env.cl.eks, &eks.ListNodegroupsInput{ClusterName: aws.String(cluster)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if isNotFound(err) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			names = append(names, out.Nodegroups...)
		}
	}
	for _, n := range names {
		ng, err := h.describe(ctx, c, n)
		if err != nil {
			return "", err
		}
		if ng != nil && ng.Status != ekstypes.NodegroupStatusDeleting && ng.Status != ekstypes.NodegroupStatusCreateFailed && matchTags(c.Meta, ng.Tags) {
			return n, nil
		}
	}
	return "", nil
}

func sdkTaints(ts []eksTaint) []ekstypes.Taint {
	var out []ekstypes.Taint
	for _, t := range ts {
		et := ekstypes.Taint{Key: aws.String(t.Key), Effect: ekstypes.TaintEffect(t.Effect)}
		if t.Value != "" {
			et.Value = aws.String(t.Value)
		}
		out = append(out, et)
	}
	return out
}

func taintID(t ekstypes.Taint) string {
	return aws.ToString(t.Key) + "=" + aws.ToString(t.Value) + ":" + string(t.Effect)
}

func (h nodegroupHandler) Create(ctx context.Context, c *nodegroupCall) (string, error) {
	name, cluster := c.In.Name, c.In.ClusterName
	ng, err := h.describe(ctx, c, name)
	if err != nil {
		return "", err
	}
	if ng != nil && ng.Status == ekstypes.NodegroupStatusCreateFailed && sameAddress(c.Meta, ng.Tags) {
		// An earlier attempt of this create (or the failed group this
		// create replaces) could not be removed then: remove it now, then
		// create it again.
		c.ID = name
		if err := h.Delete(ctx, c); err != nil {
			return "", fmt.Errorf("delete EKS node group %s, left CREATE_FAILED by an earlier attempt: %w", name, err)
		}
		ng = nil
	}
	if ng != nil && !matchTags(c.Meta, ng.Tags) {
		return "", fmt.Errorf("EKS node group %s already exists in cluster %s and was not made by this create (its %s tag is %q)", name, cluster, TagAddress, ng.Tags[TagAddress])
	}
	if ng == nil {
		minSize, maxSize := int32(c.In.MinSize), int32(c.In.MaxSize)
		_, err := c.Env.cl.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{
			ClusterName: aws.String(cluster), NodegroupName: aws.String(name),
			NodeRole: aws.String(c.In.NodeRoleARN), Subnets: c.In.SubnetIDs,
			InstanceTypes: []string{aws.ToString(c.In.InstanceType)},
			CapacityType:  ekstypes.CapacityTypes(c.In.CapacityType),
			AmiType:       ekstypes.AMITypes(c.In.AmiType),
			DiskSize:      int32Ptr(c.In.DiskSizeGiB),
			Version:       aws.String(c.In.Version),
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(minSize), MaxSize: aws.Int32(maxSize), DesiredSize: aws.Int32(minSize)},
			Labels:        c.In.Labels, Taints: sdkTaints(c.In.Taints),
			UpdateConfig: c.In.updateConfig(),
			Tags:         tags(c.Meta), ClientRequestToken: clientToken(c.Meta),
		})
		if errCode(err) == "ResourceInUseException" {
			if ng, derr := h.describe(ctx, c, name); derr == nil && ng != nil && matchTags(c.Meta, ng.Tags) {
				err = nil
			}
		}
		if err != nil {
			return "", err
		}
	}
	if err := h.waitActive(ctx, c, name); err != nil {
		if ng, derr := h.describe(ctx, c, name); derr == nil && ng != nil && ng.Status == ekstypes.NodegroupStatusCreateFailed {
			var msgs []string
			if ng.Health != nil {
				for _, i := range ng.Health.Issues {
					msgs = append(msgs, fmt.Sprintf("%s: %s", i.Code, aws.ToString(i.Message)))
				}
			}
			c.ID = name
			return dropFailedCreate(name, "EKS node group", msgs, err, func() error { return h.Delete(ctx, c) })
		}
		return name, err
	}
	return name, nil
}

func (nodegroupHandler) waitActive(ctx context.Context, c *nodegroupCall, name string) error {
	lo, hi := c.Env.d.waitDelays()
	w := eks.NewNodegroupActiveWaiter(c.Env.cl.eks, func(o *eks.NodegroupActiveWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(c.In.ClusterName), NodegroupName: aws.String(name)}, 45*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS node group %s to become active: %w", name, err)
	}
	return nil
}

func (h nodegroupHandler) Read(ctx context.Context, c *nodegroupCall) (*kit.Live[nodegroupIn, nodegroupOut], error) {
	ng, err := h.describe(ctx, c, c.ID)
	if err != nil || ng == nil {
		return nil, err
	}
	in := nodegroupIn{
		Location: c.In.Location, ClusterName: aws.ToString(ng.ClusterName), Name: aws.ToString(ng.NodegroupName),
		NodeRoleARN: aws.ToString(ng.NodeRole), SubnetIDs: ng.Subnets,
		CapacityType: string(ng.CapacityType), AmiType: string(ng.AmiType),
		Version: aws.ToString(ng.Version), Labels: ng.Labels,
	}
	if len(ng.InstanceTypes) == 1 {
		in.InstanceType = aws.String(ng.InstanceTypes[0])
	}
	if c.In.DiskSizeGiB != nil || c.Prev.DiskSizeGiB != nil { // a default size is no drift
		if ng.DiskSize != nil {
			in.DiskSizeGiB = aws.Int(int(*ng.DiskSize))
		}
	}
	if u := ng.UpdateConfig; c.Prev.MaxUnavailable != nil && u != nil && u.MaxUnavailable != nil {
		n := int(*u.MaxUnavailable)
		in.MaxUnavailable = &n
	}
	for _, t := range ng.Taints {
		in.Taints = append(in.Taints, eksTaint{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value), Effect: string(t.Effect)})
	}
	out := nodegroupOut{ID: c.ID, ARN: aws.ToString(ng.NodegroupArn), Status: string(ng.Status), ReleaseVersion: ng.ReleaseVersion}
	if s := ng.ScalingConfig; s != nil {
		in.MinSize, in.MaxSize = int(aws.ToInt32(s.MinSize)), int(aws.ToInt32(s.MaxSize))
		desired := int(aws.ToInt32(s.DesiredSize))
		out.DesiredSize = &desired
	}
	if ng.Status == ekstypes.NodegroupStatusCreateFailed {
		return c.FoundFailed(in, out), nil
	}
	return c.Found(in, out), nil
}

// Settle waits until an adopted node group is no longer being created or
// updated.
func (h nodegroupHandler) Settle(ctx context.Context, c *nodegroupCall) error {
	return c.Env.settle(ctx, 45*time.Minute, "EKS node group "+c.ID, func() (bool, error) {
		ng, err := h.describe(ctx, c, c.ID)
		if err != nil || ng == nil {
			return ng == nil, err
		}
		return ng.Status != ekstypes.NodegroupStatusCreating && ng.Status != ekstypes.NodegroupStatusUpdating, nil
	})
}

// Update upgrades the node group's Kubernetes version, then sets scaling,
// labels and taints. The desired size is kept (a cluster autoscaler owns
// it), clamped into the new min..max.
func (h nodegroupHandler) Update(ctx context.Context, c *nodegroupCall, _ []string) error {
	cluster := clusterOf(c.In.ClusterName, c.Prev.ClusterName)
	ng, err := h.describe(ctx, c, c.ID)
	if err != nil {
		return err
	}
	if ng == nil {
		return fmt.Errorf("EKS node group %s: %w", c.ID, providers.ErrNotFound)
	}
	if want := c.In.updateConfig(); want != nil && (ng.UpdateConfig == nil || aws.ToInt32(ng.UpdateConfig.MaxUnavailable) != *want.MaxUnavailable) {
		// First, so a version upgrade below replaces nodes as asked.
		out, err := c.Env.cl.eks.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(c.ID), UpdateConfig: want})
		if err != nil {
			return fmt.Errorf("set update config (maxUnavailable %d): %w", *want.MaxUnavailable, err)
		}
		if err := c.Env.waitUpdate(ctx, cluster, out.Update, c.ID, ""); err != nil {
			return err
		}
	}
	if want, have := c.In.Version, aws.ToString(ng.Version); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("EKS node group %s: %w", c.ID, err)
		}
		out, err := c.Env.cl.eks.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{
			ClusterName: aws.String(cluster), NodegroupName: aws.String(c.ID), Version: aws.String(want),
		})
		if err != nil {
			return fmt.Errorf("upgrade to Kubernetes %s: %w", want, err)
		}
		if err := c.Env.waitUpdate(ctx, cluster, out.Update, c.ID, ""); err != nil {
			return err
		}
	}
	in := &eks.UpdateNodegroupConfigInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(c.ID)}
	send := false
	minSize, maxSize := int32(c.In.MinSize), int32(c.In.MaxSize)
	if s := ng.ScalingConfig; s == nil || aws.ToInt32(s.MinSize) != minSize || aws.ToInt32(s.MaxSize) != maxSize {
		desired := minSize
		if s != nil {
			desired = min(max(aws.ToInt32(s.DesiredSize), minSize), maxSize)
		}
		in.ScalingConfig = &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(minSize), MaxSize: aws.Int32(maxSize), DesiredSize: aws.Int32(desired)}
		send = true
	}
	wantLabels := c.In.Labels
	lp := &ekstypes.UpdateLabelsPayload{AddOrUpdateLabels: map[string]string{}}
	for _, k := range slices.Sorted(maps.Keys(wantLabels)) {
		if v, ok := ng.Labels[k]; !ok || v != wantLabels[k] {
			lp.AddOrUpdateLabels[k] = wantLabels[k]
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ng.Labels)) {
		if _, ok := wantLabels[k]; !ok {
			lp.RemoveLabels = append(lp.RemoveLabels, k)
		}
	}
	if len(lp.AddOrUpdateLabels) > 0 || len(lp.RemoveLabels) > 0 {
		in.Labels, send = lp, true
	}
	wantTaints := sdkTaints(c.In.Taints)
	tp := &ekstypes.UpdateTaintsPayload{}
	haveIDs := map[string]bool{}
	for _, t := range ng.Taints {
		haveIDs[taintID(t)] = true
	}
	wantKeys := map[string]bool{}
	for _, t := range wantTaints {
		wantKeys[aws.ToString(t.Key)+":"+string(t.Effect)] = true
		if !haveIDs[taintID(t)] {
			tp.AddOrUpdateTaints = append(tp.AddOrUpdateTaints, t)
		}
	}
	for _, t := range ng.Taints {
		if !wantKeys[aws.ToString(t.Key)+":"+string(t.Effect)] {
			tp.RemoveTaints = append(tp.RemoveTaints, t)
		}
	}
	sort.Slice(tp.RemoveTaints, func(i, j int) bool { return taintID(tp.RemoveTaints[i]) < taintID(tp.RemoveTaints[j]) })
	if len(tp.AddOrUpdateTaints) > 0 || len(tp.RemoveTaints) > 0 {
		in.Taints, send = tp, true
	}
	if !send {
		return nil
	}
	out, err := c.Env.cl.eks.UpdateNodegroupConfig(ctx, in)
	if err != nil {
		return fmt.Errorf("update scaling, labels and taints: %w", err)
	}
	return c.Env.waitUpdate(ctx, cluster, out.Update, c.ID, "")
}

func (nodegroupHandler) Delete(ctx context.Context, c *nodegroupCall) error {
	in := &eks.DeleteNodegroupInput{ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), NodegroupName: aws.String(c.ID)}
	if c.DeleteReason.Drains() {
		if err := c.Env.drainNodegroup(ctx, c.In.Location, aws.ToString(in.ClusterName), c.ID); err != nil {
			return err
		}
	}
	_, err := c.Env.cl.eks.DeleteNodegroup(ctx, in)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.Env.d.waitDelays()
	w := eks.NewNodegroupDeletedWaiter(c.Env.cl.eks, func(o *eks.NodegroupDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: in.ClusterName, NodegroupName: in.NodegroupName}, 45*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS node group %s to be deleted: %w", c.ID, err)
	}
	return nil
}

// ---- aws_eks_addon ----
//
// An add-on's ID is its name; its cluster comes from the cluster_name input.

type addonIn struct {
	Location    string `kit:"location,replace" why:"an add-on lives in one AWS region"`
	ClusterName string `kit:"cluster_name,replace" why:"an add-on belongs to one cluster"`
	AddonName   string `kit:"addon_name,replace" why:"an add-on is known by its name"`
}

type addonOut struct {
	ID           string `kit:"id"`
	ARN          string `kit:"arn"`
	AddonVersion string `kit:"addon_version"`
	Status       string `kit:"status"`
}

type addonCall = call[addonIn, addonOut]

type addonHandler struct{}

func (addonHandler) describe(ctx context.Context, c *addonCall, name string) (*ekstypes.Addon, error) {
	out, err := c.Env.cl.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{
		ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), AddonName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Addon, nil
}

func (h addonHandler) Find(ctx context.Context, c *addonCall) (string, error) {
	name := c.In.AddonName
	if c.In.ClusterName == "" || name == "" {
		return "", nil
	}
	a, err := h.describe(ctx, c, name)
	if err != nil || a == nil || a.Status == ekstypes.AddonStatusDeleting || a.Status == ekstypes.AddonStatusCreateFailed || !matchTags(c.Meta, a.Tags) {
		return "", err
	}
	return name, nil
}

func (h addonHandler) Create(ctx context.Context, c *addonCall) (string, error) {
	name, cluster := c.In.AddonName, c.In.ClusterName
	a, err := h.describe(ctx, c, name)
	if err != nil {
		return "", err
	}
	if a != nil && a.Status == ekstypes.AddonStatusCreateFailed && sameAddress(c.Meta, a.Tags) {
		// An earlier attempt of this create (or the failed add-on this
		// create replaces) could not be removed then: remove it now, then
		// create it again.
		c.ID = name
		if err := h.Delete(ctx, c); err != nil {
			return "", fmt.Errorf("delete EKS add-on %s, left CREATE_FAILED by an earlier attempt: %w", name, err)
		}
		a = nil
	}
	if a != nil && !matchTags(c.Meta, a.Tags) {
		return "", fmt.Errorf("EKS add-on %s already exists in cluster %s and was not made by this create", name, cluster)
	}
	if a == nil {
		_, err := c.Env.cl.eks.CreateAddon(ctx, &eks.CreateAddonInput{
			ClusterName: aws.String(cluster), AddonName: aws.String(name),
			ResolveConflicts: ekstypes.ResolveConflictsOverwrite, Tags: tags(c.Meta), ClientRequestToken: clientToken(c.Meta),
		})
		if errCode(err) == "ResourceInUseException" {
			if a, derr := h.describe(ctx, c, name); derr == nil && a != nil && matchTags(c.Meta, a.Tags) {
				err = nil
			}
		}
		if err != nil {
			return "", err
		}
	}
	lo, hi := c.Env.d.waitDelays()
	w := eks.NewAddonActiveWaiter(c.Env.cl.eks, func(o *eks.AddonActiveWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(cluster), AddonName: aws.String(name)}, 30*time.Minute); err != nil {
		err = fmt.Errorf("wait for EKS add-on %s to become active: %w", name, err)
		if a, derr := h.describe(ctx, c, name); derr == nil && a != nil && a.Status == ekstypes.AddonStatusCreateFailed {
			var msgs []string
			if a.Health != nil {
				for _, i := range a.Health.Issues {
					msgs = append(msgs, fmt.Sprintf("%s: %s", i.Code, aws.ToString(i.Message)))
				}
			}
			c.ID = name
			return dropFailedCreate(name, "EKS add-on", msgs, err, func() error { return h.Delete(ctx, c) })
		}
		return name, err
	}
	return name, nil
}

func (h addonHandler) Read(ctx context.Context, c *addonCall) (*kit.Live[addonIn, addonOut], error) {
	a, err := h.describe(ctx, c, c.ID)
	if err != nil || a == nil {
		return nil, err
	}
	in := addonIn{Location: c.In.Location, ClusterName: aws.ToString(a.ClusterName), AddonName: aws.ToString(a.AddonName)}
	out := addonOut{ID: c.ID, ARN: aws.ToString(a.AddonArn), AddonVersion: aws.ToString(a.AddonVersion), Status: string(a.Status)}
	if a.Status == ekstypes.AddonStatusCreateFailed {
		return c.FoundFailed(in, out), nil
	}
	return c.Found(in, out), nil
}

// Settle waits until an adopted add-on is no longer being created or
// updated.
func (h addonHandler) Settle(ctx context.Context, c *addonCall) error {
	return c.Env.settle(ctx, 30*time.Minute, "EKS add-on "+c.ID, func() (bool, error) {
		a, err := h.describe(ctx, c, c.ID)
		if err != nil || a == nil {
			return a == nil, err
		}
		return a.Status != ekstypes.AddonStatusCreating && a.Status != ekstypes.AddonStatusUpdating, nil
	})
}

func (addonHandler) Delete(ctx context.Context, c *addonCall) error {
	in := &eks.DeleteAddonInput{ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), AddonName: aws.String(c.ID)}
	_, err := c.Env.cl.eks.DeleteAddon(ctx, in)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.Env.d.waitDelays()
	w := eks.NewAddonDeletedWaiter(c.Env.cl.eks, func(o *eks.AddonDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeAddonInput{ClusterName: in.ClusterName, AddonName: in.AddonName}, 30*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS add-on %s to be deleted: %w", c.ID, err)
	}
	return nil
}

// int32Ptr converts an optional int for the SDK.
func int32Ptr(v *int) *int32 {
	if v == nil {
		return nil
	}
	return aws.Int32(int32(*v))
}
