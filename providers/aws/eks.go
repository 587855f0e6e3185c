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
)

// waitUpdate polls an EKS update (cluster, node group or add-on) until it
// succeeds, and turns a failed or cancelled one into an error.
func (c *call) waitUpdate(ctx context.Context, cluster string, u *ekstypes.Update, nodegroup, addon string) error {
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
	return c.d.poll(ctx, func() (bool, error) {
		out, err := c.cl.eks.DescribeUpdate(ctx, in)
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

// ---- aws_eks_cluster ----
//
// A cluster's ID is its name.

type clusterHandler struct{}

func (clusterHandler) describe(ctx context.Context, c *call, name string) (*ekstypes.Cluster, error) {
	out, err := c.cl.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Cluster, nil
}

func (h clusterHandler) find(ctx context.Context, c *call) (string, error) {
	names := []string{str(c.in, "name")}
	if names[0] == "" {
		names = nil
		p := eks.NewListClustersPaginator(c.cl.eks, &eks.ListClustersInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return "", err
			}
			names = append(names, out.Clusters...)
		}
	}
	for _, n := range names {
		cl, err := h.describe(ctx, c, n)
		if err != nil {
			return "", err
		}
		if cl != nil && cl.Status != ekstypes.ClusterStatusDeleting && cl.Status != ekstypes.ClusterStatusFailed && c.matchTags(cl.Tags) {
			return n, nil
		}
	}
	return "", nil
}

// retryRolePropagation retries fn while EKS cannot yet assume a role IAM
// has just created (IAM is eventually consistent).
func (c *call) retryRolePropagation(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(min(c.d.dependencyWait, 2*time.Minute))
	var last error
	err := c.d.poll(ctx, func() (bool, error) {
		last = fn()
		if errCode(last) == "InvalidParameterException" && strings.Contains(strings.ToLower(last.Error()), "role") && time.Now().Before(deadline) {
			return false, nil
		}
		return true, last
	})
	if err != nil {
		return err
	}
	return last
}

func (h clusterHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	cl, err := h.describe(ctx, c, name)
	if err != nil {
		return "", err
	}
	if cl != nil && !c.matchTags(cl.Tags) {
		return "", fmt.Errorf("EKS cluster %s already exists in %s and was not made by this create (its %s tag is %q)", name, c.loc, TagAddress, cl.Tags[TagAddress])
	}
	if cl != nil && cl.Status == ekstypes.ClusterStatusFailed {
		// An earlier attempt of this create failed and could not be
		// removed then: remove it now, then create it again.
		c.id = name
		if err := h.delete(ctx, c); err != nil {
			return "", fmt.Errorf("delete EKS cluster %s, left FAILED by an earlier attempt: %w", name, err)
		}
		cl = nil
	}
	if cl == nil {
		err := c.retryRolePropagation(ctx, func() error {
			_, err := c.cl.eks.CreateCluster(ctx, &eks.CreateClusterInput{
				Name: aws.String(name), Version: aws.String(str(c.in, "version")), RoleArn: aws.String(str(c.in, "role_arn")),
				ResourcesVpcConfig: &ekstypes.VpcConfigRequest{
					SubnetIds: strList(c.in, "subnet_ids"), SecurityGroupIds: strList(c.in, "security_group_ids"),
					EndpointPublicAccess:  aws.Bool(boolean(c.in, "endpoint_public_access")),
					EndpointPrivateAccess: aws.Bool(boolean(c.in, "endpoint_private_access")),
				},
				Tags: c.tags(), ClientRequestToken: c.clientToken(),
			})
			return err
		})
		if errCode(err) == "ResourceInUseException" {
			if cl, derr := h.describe(ctx, c, name); derr == nil && cl != nil && c.matchTags(cl.Tags) {
				err = nil // our earlier attempt made it
			}
		}
		if err != nil {
			return "", err
		}
	}
	lo, hi := c.d.waitDelays()
	w := eks.NewClusterActiveWaiter(c.cl.eks, func(o *eks.ClusterActiveWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String(name)}, 45*time.Minute); err != nil {
		err = fmt.Errorf("wait for EKS cluster %s to become active: %w", name, err)
		if cl, derr := h.describe(ctx, c, name); derr == nil && cl != nil && cl.Status == ekstypes.ClusterStatusFailed {
			var msgs []string
			if cl.Health != nil {
				for _, i := range cl.Health.Issues {
					msgs = append(msgs, fmt.Sprintf("%s: %s", i.Code, aws.ToString(i.Message)))
				}
			}
			return dropFailedCreate(ctx, c, h, name, "EKS cluster", msgs, err)
		}
		return name, err
	}
	return name, nil
}

// dropFailedCreate deletes an object whose create ended failed
// (CREATE_FAILED, FAILED), waits until it is gone and returns cause with no
// ID: the engine then records no object, and the next apply creates it
// again under the same name. A failed object kept as tainted could not be
// replaced, since its replacement gets the same name. Only when the delete
// fails too is the ID returned, so the engine keeps it (tainted: the error
// wraps providers.ErrCreateFailed).
func dropFailedCreate(ctx context.Context, c *call, h handler, name, what string, issues []string, cause error) (string, error) {
	if len(issues) > 0 {
		cause = fmt.Errorf("%w (%s)", cause, strings.Join(issues, "; "))
	}
	cause = fmt.Errorf("%w: %w", providers.ErrCreateFailed, cause)
	c.id = name
	if err := h.delete(ctx, c); err != nil {
		return name, fmt.Errorf("%w; deleting the failed %s %s failed too: %v", cause, what, name, err)
	}
	return "", fmt.Errorf("%w; deleted the failed %s %s, so the next apply creates it again", cause, what, name)
}

func (h clusterHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	cl, err := h.describe(ctx, c, c.id)
	if err != nil || cl == nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"location": c.loc, "name": aws.ToString(cl.Name), "version": aws.ToString(cl.Version),
		"role_arn": aws.ToString(cl.RoleArn),
	}
	out := providers.Values{
		"id": c.id, "arn": aws.ToString(cl.Arn), "endpoint": aws.ToString(cl.Endpoint),
		"platform_version": aws.ToString(cl.PlatformVersion), "status": string(cl.Status),
	}
	if v := cl.ResourcesVpcConfig; v != nil {
		in["subnet_ids"] = orderLike(v.SubnetIds, strList(c.prev, "subnet_ids"))
		in["security_group_ids"] = orderLike(v.SecurityGroupIds, strList(c.prev, "security_group_ids"))
		in["endpoint_public_access"] = v.EndpointPublicAccess
		in["endpoint_private_access"] = v.EndpointPrivateAccess
		if v.ClusterSecurityGroupId != nil {
			out["cluster_security_group_id"] = aws.ToString(v.ClusterSecurityGroupId)
		}
	}
	// The CA certificate is public (every kubeconfig holds it); no token
	// or other secret is ever an output.
	if cl.CertificateAuthority != nil && cl.CertificateAuthority.Data != nil {
		out["certificate_authority_data"] = aws.ToString(cl.CertificateAuthority.Data)
	}
	if cl.Identity != nil && cl.Identity.Oidc != nil && cl.Identity.Oidc.Issuer != nil {
		out["oidc_issuer"] = aws.ToString(cl.Identity.Oidc.Issuer)
	}
	return true, in, out, nil
}

// CheckUpgrade returns an error unless moving a cluster from Kubernetes
// minor from to minor to is one step forward (or no change): EKS upgrades
// one minor at a time and never downgrades.
func CheckUpgrade(from, to string) error {
	if from == to {
		return nil
	}
	fa, fb, ok1 := minorOf(from)
	ta, tb, ok2 := minorOf(to)
	switch {
	case !ok1 || !ok2:
		return fmt.Errorf("cannot compare Kubernetes versions %q and %q", from, to)
	case ta < fa || ta == fa && tb < fb:
		return fmt.Errorf("cannot downgrade Kubernetes %s to %s: EKS does not downgrade; set kubernetesVersion back to %s", from, to, from)
	case ta != fa || tb != fb+1:
		return fmt.Errorf("cannot upgrade Kubernetes %s to %s in one step: EKS upgrades one minor version at a time; set kubernetesVersion to %d.%d, apply, then continue", from, to, fa, fb+1)
	}
	return nil
}

func (h clusterHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		switch k {
		case "version", "endpoint_public_access", "endpoint_private_access":
		default:
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	cl, err := h.describe(ctx, c, c.id)
	if err != nil {
		return err
	}
	if cl == nil {
		return fmt.Errorf("EKS cluster %s: %w", c.id, providers.ErrNotFound)
	}
	if want, have := str(c.in, "version"), aws.ToString(cl.Version); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("EKS cluster %s: %w", c.id, err)
		}
		out, err := c.cl.eks.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String(c.id), Version: aws.String(want)})
		if err != nil {
			return fmt.Errorf("upgrade to Kubernetes %s: %w", want, err)
		}
		if err := c.waitUpdate(ctx, c.id, out.Update, "", ""); err != nil {
			return err
		}
	}
	pub, priv := boolean(c.in, "endpoint_public_access"), boolean(c.in, "endpoint_private_access")
	if v := cl.ResourcesVpcConfig; v == nil || v.EndpointPublicAccess != pub || v.EndpointPrivateAccess != priv {
		out, err := c.cl.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{
			Name:               aws.String(c.id),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{EndpointPublicAccess: aws.Bool(pub), EndpointPrivateAccess: aws.Bool(priv)},
		})
		if err != nil {
			return fmt.Errorf("set endpoint access (public %v, private %v): %w", pub, priv, err)
		}
		if err := c.waitUpdate(ctx, c.id, out.Update, "", ""); err != nil {
			return err
		}
	}
	return nil
}

func (clusterHandler) delete(ctx context.Context, c *call) error {
	_, err := c.cl.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String(c.id)})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.d.waitDelays()
	w := eks.NewClusterDeletedWaiter(c.cl.eks, func(o *eks.ClusterDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String(c.id)}, 45*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS cluster %s to be deleted: %w", c.id, err)
	}
	return nil
}

// ---- aws_eks_node_group ----
//
// A node group's ID is its name; its cluster comes from the cluster_name
// input.

type nodegroupHandler struct{}

func clusterOf(c *call) string {
	if n := str(c.in, "cluster_name"); n != "" {
		return n
	}
	return str(c.prev, "cluster_name")
}

func (nodegroupHandler) describe(ctx context.Context, c *call, name string) (*ekstypes.Nodegroup, error) {
	out, err := c.cl.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(clusterOf(c)), NodegroupName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Nodegroup, nil
}

func (h nodegroupHandler) find(ctx context.Context, c *call) (string, error) {
	if clusterOf(c) == "" {
		return "", nil
	}
	names := []string{str(c.in, "name")}
	if names[0] == "" {
		names = nil
		p := eks.NewListNodegroupsPaginator(c.cl.eks, &eks.ListNodegroupsInput{ClusterName: aws.String(clusterOf(c))})
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
		if ng != nil && ng.Status != ekstypes.NodegroupStatusDeleting && ng.Status != ekstypes.NodegroupStatusCreateFailed && c.matchTags(ng.Tags) {
			return n, nil
		}
	}
	return "", nil
}

func eksTaints(v any) []ekstypes.Taint {
	var out []ekstypes.Taint
	l, _ := v.([]any)
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		t := ekstypes.Taint{Key: aws.String(str(m, "key")), Effect: ekstypes.TaintEffect(str(m, "effect"))}
		if val := str(m, "value"); val != "" {
			t.Value = aws.String(val)
		}
		out = append(out, t)
	}
	return out
}

func taintID(t ekstypes.Taint) string {
	return aws.ToString(t.Key) + "=" + aws.ToString(t.Value) + ":" + string(t.Effect)
}

// taintValues renders taints as inputs, in the order of prev when both hold
// the same set.
func taintValues(live []ekstypes.Taint, prev any) []any {
	ids := make([]string, len(live))
	byID := map[string]ekstypes.Taint{}
	for i, t := range live {
		ids[i] = taintID(t)
		byID[ids[i]] = t
	}
	var want []string
	for _, t := range eksTaints(prev) {
		want = append(want, taintID(t))
	}
	order := orderLike(ids, want)
	out := make([]any, 0, len(order))
	for _, id := range order {
		t := byID[id.(string)]
		out = append(out, map[string]any{"key": aws.ToString(t.Key), "value": aws.ToString(t.Value), "effect": string(t.Effect)})
	}
	return out
}

func (h nodegroupHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	ng, err := h.describe(ctx, c, name)
	if err != nil {
		return "", err
	}
	if ng != nil && !c.matchTags(ng.Tags) {
		return "", fmt.Errorf("EKS node group %s already exists in cluster %s and was not made by this create (its %s tag is %q)", name, clusterOf(c), TagAddress, ng.Tags[TagAddress])
	}
	if ng != nil && ng.Status == ekstypes.NodegroupStatusCreateFailed {
		// An earlier attempt of this create failed and could not be
		// removed then: remove it now, then create it again.
		c.id = name
		if err := h.delete(ctx, c); err != nil {
			return "", fmt.Errorf("delete EKS node group %s, left CREATE_FAILED by an earlier attempt: %w", name, err)
		}
		ng = nil
	}
	if ng == nil {
		minSize, maxSize := int32(integer(c.in, "min_size")), int32(integer(c.in, "max_size"))
		_, err := c.cl.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{
			ClusterName: aws.String(clusterOf(c)), NodegroupName: aws.String(name),
			NodeRole: aws.String(str(c.in, "node_role_arn")), Subnets: strList(c.in, "subnet_ids"),
			InstanceTypes: []string{str(c.in, "instance_type")},
			CapacityType:  ekstypes.CapacityTypes(str(c.in, "capacity_type")),
			AmiType:       ekstypes.AMITypes(str(c.in, "ami_type")),
			Version:       aws.String(str(c.in, "version")),
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(minSize), MaxSize: aws.Int32(maxSize), DesiredSize: aws.Int32(minSize)},
			Labels:        strMap(c.in, "labels"), Taints: eksTaints(c.in["taints"]),
			Tags: c.tags(), ClientRequestToken: c.clientToken(),
		})
		if errCode(err) == "ResourceInUseException" {
			if ng, derr := h.describe(ctx, c, name); derr == nil && ng != nil && c.matchTags(ng.Tags) {
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
			return dropFailedCreate(ctx, c, h, name, "EKS node group", msgs, err)
		}
		return name, err
	}
	return name, nil
}

func (nodegroupHandler) waitActive(ctx context.Context, c *call, name string) error {
	lo, hi := c.d.waitDelays()
	w := eks.NewNodegroupActiveWaiter(c.cl.eks, func(o *eks.NodegroupActiveWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(clusterOf(c)), NodegroupName: aws.String(name)}, 45*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS node group %s to become active: %w", name, err)
	}
	return nil
}

func (h nodegroupHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	ng, err := h.describe(ctx, c, c.id)
	if err != nil || ng == nil {
		return false, nil, nil, err
	}
	var instanceType any
	if len(ng.InstanceTypes) == 1 {
		instanceType = ng.InstanceTypes[0]
	}
	labels := map[string]any{}
	for k, v := range ng.Labels {
		labels[k] = v
	}
	in := providers.Values{
		"location": c.loc, "cluster_name": aws.ToString(ng.ClusterName), "name": aws.ToString(ng.NodegroupName),
		"node_role_arn": aws.ToString(ng.NodeRole), "subnet_ids": orderLike(ng.Subnets, strList(c.prev, "subnet_ids")),
		"instance_type": instanceType, "capacity_type": string(ng.CapacityType), "ami_type": string(ng.AmiType),
		"version": aws.ToString(ng.Version), "labels": labels, "taints": taintValues(ng.Taints, c.prev["taints"]),
	}
	out := providers.Values{"id": c.id, "arn": aws.ToString(ng.NodegroupArn), "status": string(ng.Status)}
	if s := ng.ScalingConfig; s != nil {
		in["min_size"], in["max_size"] = int(aws.ToInt32(s.MinSize)), int(aws.ToInt32(s.MaxSize))
		out["desired_size"] = int(aws.ToInt32(s.DesiredSize))
	}
	if ng.ReleaseVersion != nil {
		out["release_version"] = aws.ToString(ng.ReleaseVersion)
	}
	return true, in, out, nil
}

// update upgrades the node group's Kubernetes version, then sets scaling,
// labels and taints. The desired size is kept (a cluster autoscaler owns
// it), clamped into the new min..max.
func (h nodegroupHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		switch k {
		case "version", "min_size", "max_size", "labels", "taints":
		default:
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	cluster := clusterOf(c)
	ng, err := h.describe(ctx, c, c.id)
	if err != nil {
		return err
	}
	if ng == nil {
		return fmt.Errorf("EKS node group %s: %w", c.id, providers.ErrNotFound)
	}
	if want, have := str(c.in, "version"), aws.ToString(ng.Version); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("EKS node group %s: %w", c.id, err)
		}
		out, err := c.cl.eks.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{
			ClusterName: aws.String(cluster), NodegroupName: aws.String(c.id), Version: aws.String(want),
		})
		if err != nil {
			return fmt.Errorf("upgrade to Kubernetes %s: %w", want, err)
		}
		if err := c.waitUpdate(ctx, cluster, out.Update, c.id, ""); err != nil {
			return err
		}
	}
	in := &eks.UpdateNodegroupConfigInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(c.id)}
	send := false
	minSize, maxSize := int32(integer(c.in, "min_size")), int32(integer(c.in, "max_size"))
	if s := ng.ScalingConfig; s == nil || aws.ToInt32(s.MinSize) != minSize || aws.ToInt32(s.MaxSize) != maxSize {
		desired := minSize
		if s != nil {
			desired = min(max(aws.ToInt32(s.DesiredSize), minSize), maxSize)
		}
		in.ScalingConfig = &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(minSize), MaxSize: aws.Int32(maxSize), DesiredSize: aws.Int32(desired)}
		send = true
	}
	wantLabels := strMap(c.in, "labels")
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
	wantTaints := eksTaints(c.in["taints"])
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
	out, err := c.cl.eks.UpdateNodegroupConfig(ctx, in)
	if err != nil {
		return fmt.Errorf("update scaling, labels and taints: %w", err)
	}
	return c.waitUpdate(ctx, cluster, out.Update, c.id, "")
}

func (nodegroupHandler) delete(ctx context.Context, c *call) error {
	in := &eks.DeleteNodegroupInput{ClusterName: aws.String(clusterOf(c)), NodegroupName: aws.String(c.id)}
	_, err := c.cl.eks.DeleteNodegroup(ctx, in)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.d.waitDelays()
	w := eks.NewNodegroupDeletedWaiter(c.cl.eks, func(o *eks.NodegroupDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: in.ClusterName, NodegroupName: in.NodegroupName}, 45*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS node group %s to be deleted: %w", c.id, err)
	}
	return nil
}

// ---- aws_eks_addon ----
//
// An add-on's ID is its name; its cluster comes from the cluster_name input.

type addonHandler struct{}

func (addonHandler) describe(ctx context.Context, c *call, name string) (*ekstypes.Addon, error) {
	out, err := c.cl.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(clusterOf(c)), AddonName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Addon, nil
}

func (h addonHandler) find(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "addon_name")
	if clusterOf(c) == "" || name == "" {
		return "", nil
	}
	a, err := h.describe(ctx, c, name)
	if err != nil || a == nil || a.Status == ekstypes.AddonStatusDeleting || a.Status == ekstypes.AddonStatusCreateFailed || !c.matchTags(a.Tags) {
		return "", err
	}
	return name, nil
}

func (h addonHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "addon_name")
	a, err := h.describe(ctx, c, name)
	if err != nil {
		return "", err
	}
	if a != nil && !c.matchTags(a.Tags) {
		return "", fmt.Errorf("EKS add-on %s already exists in cluster %s and was not made by this create", name, clusterOf(c))
	}
	if a != nil && a.Status == ekstypes.AddonStatusCreateFailed {
		// An earlier attempt of this create failed and could not be
		// removed then: remove it now, then create it again.
		c.id = name
		if err := h.delete(ctx, c); err != nil {
			return "", fmt.Errorf("delete EKS add-on %s, left CREATE_FAILED by an earlier attempt: %w", name, err)
		}
		a = nil
	}
	if a == nil {
		_, err := c.cl.eks.CreateAddon(ctx, &eks.CreateAddonInput{
			ClusterName: aws.String(clusterOf(c)), AddonName: aws.String(name),
			ResolveConflicts: ekstypes.ResolveConflictsOverwrite, Tags: c.tags(), ClientRequestToken: c.clientToken(),
		})
		if errCode(err) == "ResourceInUseException" {
			if a, derr := h.describe(ctx, c, name); derr == nil && a != nil && c.matchTags(a.Tags) {
				err = nil
			}
		}
		if err != nil {
			return "", err
		}
	}
	lo, hi := c.d.waitDelays()
	w := eks.NewAddonActiveWaiter(c.cl.eks, func(o *eks.AddonActiveWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(clusterOf(c)), AddonName: aws.String(name)}, 30*time.Minute); err != nil {
		err = fmt.Errorf("wait for EKS add-on %s to become active: %w", name, err)
		if a, derr := h.describe(ctx, c, name); derr == nil && a != nil && a.Status == ekstypes.AddonStatusCreateFailed {
			var msgs []string
			if a.Health != nil {
				for _, i := range a.Health.Issues {
					msgs = append(msgs, fmt.Sprintf("%s: %s", i.Code, aws.ToString(i.Message)))
				}
			}
			return dropFailedCreate(ctx, c, h, name, "EKS add-on", msgs, err)
		}
		return name, err
	}
	return name, nil
}

func (h addonHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	a, err := h.describe(ctx, c, c.id)
	if err != nil || a == nil {
		return false, nil, nil, err
	}
	in := providers.Values{"location": c.loc, "cluster_name": aws.ToString(a.ClusterName), "addon_name": aws.ToString(a.AddonName)}
	return true, in, providers.Values{"id": c.id, "arn": aws.ToString(a.AddonArn), "addon_version": aws.ToString(a.AddonVersion), "status": string(a.Status)}, nil
}

func (addonHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (addonHandler) delete(ctx context.Context, c *call) error {
	in := &eks.DeleteAddonInput{ClusterName: aws.String(clusterOf(c)), AddonName: aws.String(c.id)}
	_, err := c.cl.eks.DeleteAddon(ctx, in)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.d.waitDelays()
	w := eks.NewAddonDeletedWaiter(c.cl.eks, func(o *eks.AddonDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &eks.DescribeAddonInput{ClusterName: in.ClusterName, AddonName: in.AddonName}, 30*time.Minute); err != nil {
		return fmt.Errorf("wait for EKS add-on %s to be deleted: %w", c.id, err)
	}
	return nil
}
