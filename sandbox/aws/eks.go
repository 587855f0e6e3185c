package aws

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/schemas"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/traits"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/internal/wire"
)

type eksRoute struct {
	op     string
	method string
	parts  []string // literal segments, or "{label}"
}

// eksRoutes are built from the SDK's own operation schemas (method + URI).
var eksRoutes = func() []eksRoute {
	ops := map[string]*smithy.Schema{
		"CreateCluster": schemas.CreateCluster, "DescribeCluster": schemas.DescribeCluster, "DeleteCluster": schemas.DeleteCluster,
		"ListClusters": schemas.ListClusters, "UpdateClusterVersion": schemas.UpdateClusterVersion, "UpdateClusterConfig": schemas.UpdateClusterConfig,
		"DescribeUpdate": schemas.DescribeUpdate, "CreateNodegroup": schemas.CreateNodegroup, "DescribeNodegroup": schemas.DescribeNodegroup,
		"ListNodegroups": schemas.ListNodegroups, "UpdateNodegroupConfig": schemas.UpdateNodegroupConfig, "UpdateNodegroupVersion": schemas.UpdateNodegroupVersion,
		"DeleteNodegroup": schemas.DeleteNodegroup, "CreateAddon": schemas.CreateAddon, "DescribeAddon": schemas.DescribeAddon,
		"UpdateAddon": schemas.UpdateAddon, "DeleteAddon": schemas.DeleteAddon, "DescribeAddonVersions": schemas.DescribeAddonVersions,
		"ListAddons": schemas.ListAddons, "TagResource": schemas.TagResource, "ListTagsForResource": schemas.ListTagsForResource,
		"UntagResource": schemas.UntagResource,
		// Access entries.
		"CreateAccessEntry": schemas.CreateAccessEntry, "DescribeAccessEntry": schemas.DescribeAccessEntry, "ListAccessEntries": schemas.ListAccessEntries,
		"UpdateAccessEntry": schemas.UpdateAccessEntry, "DeleteAccessEntry": schemas.DeleteAccessEntry, "AssociateAccessPolicy": schemas.AssociateAccessPolicy,
		"DisassociateAccessPolicy": schemas.DisassociateAccessPolicy, "ListAssociatedAccessPolicies": schemas.ListAssociatedAccessPolicies,
		"ListAccessPolicies": schemas.ListAccessPolicies,
	}
	var out []eksRoute
	for op, sc := range ops {
		h, ok := smithy.SchemaTrait[*traits.HTTP](sc)
		if !ok {
			panic("eks schema without http trait: " + op) // programmer error: SDK changed shape
		}
		uri, _, _ := strings.Cut(h.URI, "?")
		out = append(out, eksRoute{op: op, method: h.Method, parts: strings.Split(strings.Trim(uri, "/"), "/")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].op < out[j].op })
	return out
}()

// matchEKS finds the operation for a method and escaped path, with its
// path labels unescaped.
func matchEKS(method, path string) (string, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range eksRoutes {
		if r.method != method || len(r.parts) != len(segs) {
			continue
		}
		labels := map[string]string{}
		ok := true
		for i, p := range r.parts {
			if strings.HasPrefix(p, "{") {
				v, err := url.PathUnescape(segs[i])
				if err != nil || v == "" {
					ok = false
					break
				}
				labels[strings.Trim(p, "{}")] = v
			} else if p != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return r.op, labels
		}
	}
	return "", nil
}

func writeEKSError(w http.ResponseWriter, reqID string, a *apiErr) {
	body := map[string]string{"message": a.msg}
	for k, v := range a.extra {
		body[k] = v
	}
	data, _ := json.Marshal(body) // a map of strings always marshals
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", a.code)
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(a.status)
	_, _ = w.Write(data)
}

// EKS Kubernetes versions the emulator supports, oldest first.
var eksVersions = []string{"1.30", "1.31", "1.32", "1.33", "1.34", "1.35"}

// DefaultEKSVersion is the version a cluster gets when none is asked for.
const DefaultEKSVersion = "1.34"

// addonCatalog lists the add-ons and versions DescribeAddonVersions returns.
var addonCatalog = map[string][]string{
	"aws-ebs-csi-driver": {"v1.48.0-eksbuild.1", "v1.49.0-eksbuild.1", "v1.50.1-eksbuild.1"},
	"vpc-cni":            {"v1.20.1-eksbuild.1", "v1.20.4-eksbuild.2"},
	"coredns":            {"v1.12.1-eksbuild.2", "v1.12.3-eksbuild.1"},
	"kube-proxy":         {"v1.33.3-eksbuild.6", "v1.34.0-eksbuild.2"},
}

var addonType = map[string]string{"aws-ebs-csi-driver": "storage", "vpc-cni": "networking", "coredns": "networking", "kube-proxy": "networking"}

func badParam(format string, args ...any) *apiErr {
	return errf(400, "InvalidParameterException", format, args...)
}

func notFound(msg string, extra map[string]string) *apiErr {
	a := errf(404, "ResourceNotFoundException", "%s", msg)
	a.extra = extra
	return a
}

var (
	eksNameRE  = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)
	roleArnRE  = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$`)
	eksArnRE   = regexp.MustCompile(`^arn:aws:eks:([a-z0-9-]+):(\d{12}):(cluster|nodegroup|addon)/(.+)$`)
	releaseFmt = "%s.0-20251120"
)

func (e *Emulator) serveEKS(w http.ResponseWriter, r *http.Request, region string, c emu.Call, reqID string, caller principal) bool {
	op, labels := matchEKS(r.Method, r.URL.EscapedPath())
	if op == "" {
		writeEKSError(w, reqID, errf(404, "NotFoundException", "Unknown operation %s %s", r.Method, r.URL.Path))
		return false
	}
	var out smithy.Serializable
	var changed bool
	var aerr *apiErr
	if accessOps[op] {
		out, changed, aerr = e.accessOp(op, labels, r.URL.Query(), c, region)
		if changed {
			e.nudgeAccessController(region + "/" + labels["clusterName"])
		}
	} else {
		out, changed, aerr = e.eksOp(op, labels, r.URL.Query(), c, region, caller)
	}
	if aerr != nil {
		writeEKSError(w, reqID, aerr)
		return changed
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", reqID)
	_, _ = w.Write(wire.MarshalJSON(out))
	return changed
}

func (e *Emulator) cluster(region, name string) (*clusterRec, *apiErr) {
	c, ok := e.st.Clusters[region+"/"+name]
	if !ok {
		return nil, notFound("No cluster found for name: "+name+".", map[string]string{"clusterName": name})
	}
	return c, nil
}

func (c *clusterRec) nodegroup(name string) (*ngRec, *apiErr) {
	n, ok := c.Nodegroups[name]
	if !ok {
		return nil, notFound("No node group found for name: "+name+".", map[string]string{"clusterName": deref(c.V.Name), "nodegroupName": name})
	}
	return n, nil
}

func (c *clusterRec) addon(name string) (*addonRec, *apiErr) {
	a, ok := c.Addons[name]
	if !ok {
		return nil, notFound(fmt.Sprintf("No addon: %s found in cluster: %s", name, deref(c.V.Name)), map[string]string{"clusterName": deref(c.V.Name), "addonName": name})
	}
	return a, nil
}

func decode(body []byte, v any) *apiErr {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errf(400, "BadRequestException", "Invalid JSON in request body: %v", err)
	}
	return nil
}

func (e *Emulator) checkSubnets(region string, ids []string, needTwoAZs bool) (vpcID string, aerr *apiErr) {
	azs := map[string]bool{}
	for _, id := range ids {
		sn, ok := e.st.Subnets[id]
		if !ok || sn.Region != region {
			return "", badParam("The subnet ID '%s' does not exist (Service: Ec2, Status Code: 400, Request ID: %s)", id, uuid.NewString())
		}
		if vpcID != "" && vpcID != deref(sn.V.VpcId) {
			return "", badParam("Subnets specified must belong to the same VPC.")
		}
		vpcID = deref(sn.V.VpcId)
		azs[deref(sn.V.AvailabilityZone)] = true
	}
	if needTwoAZs && len(azs) < 2 {
		return "", badParam("Subnets specified must be in at least two different AZs")
	}
	return vpcID, nil
}

// noControlPlane are zones where EKS refuses to place a cluster's network
// interfaces, as us-east-1e does.
var noControlPlane = map[string]bool{"us-east-1e": true}

// checkControlPlaneZones refuses cluster subnets in a zone EKS does not
// support, with EKS's UnsupportedAvailabilityZoneException.
func (e *Emulator) checkControlPlaneZones(region, cluster string, subnetIDs []string) *apiErr {
	for _, id := range subnetIDs {
		az := deref(e.st.Subnets[id].V.AvailabilityZone) // checkSubnets proved it exists
		if !noControlPlane[az] {
			continue
		}
		var valid []string
		for _, z := range e.zones(region) {
			if n := deref(z.ZoneName); !noControlPlane[n] {
				valid = append(valid, n)
			}
		}
		a := errf(400, "UnsupportedAvailabilityZoneException", "Cannot create cluster '%s' because %s, the targeted availability zone, does not currently have sufficient capacity to support the cluster. Retry and choose from these availability zones: %s", cluster, az, strings.Join(valid, ", "))
		a.extra = map[string]string{"clusterName": cluster}
		return a
	}
	return nil
}

func (e *Emulator) checkRole(arn, what string) *apiErr {
	m := roleArnRE.FindStringSubmatch(arn)
	if m == nil {
		return badParam("%s %s is not a valid role ARN.", what, arn)
	}
	if _, ok := e.st.Roles[m[2]]; !ok || m[1] != e.env.Account {
		return badParam("Role with arn: %s, does not exist", arn)
	}
	return nil
}

func (e *Emulator) newUpdate(c *clusterRec, op string, typ ekstypes.UpdateType, fail bool, params ...ekstypes.UpdateParam) *updateRec {
	now := e.env.Now().UTC()
	u := &updateRec{V: ekstypes.Update{Id: ptr(uuid.NewString()), Status: ekstypes.UpdateStatusInProgress, Type: typ, Params: params,
		CreatedAt: ptr(now), Errors: []ekstypes.ErrorDetail{}}, ReadyAt: e.after(op), Fail: fail}
	c.Updates[*u.V.Id] = u
	return u
}

func param(t ekstypes.UpdateParamType, v string) ekstypes.UpdateParam {
	return ekstypes.UpdateParam{Type: t, Value: ptr(v)}
}

func (c *clusterRec) busy() bool {
	for _, u := range c.Updates {
		if u.V.Status == ekstypes.UpdateStatusInProgress && u.Nodegroup == "" && u.Addon == "" {
			return true
		}
	}
	return false
}

func (e *Emulator) settleEKS() bool {
	changed := false
	for key, c := range e.st.Clusters {
		switch {
		case c.V.Status == ekstypes.ClusterStatusCreating && e.due(c.ReadyAt):
			// With Kubernetes, ACTIVE means the API server answers.
			kubeErr := c.KubeErr
			if e.env.Kube != nil && kubeErr == "" {
				st := e.env.Kube.State(kubeID(c.Region, deref(c.V.Name)))
				if st.Err != nil {
					kubeErr = st.Err.Error()
				} else if !st.Ready {
					break
				}
			}
			changed = true
			if kubeErr != "" {
				c.V.Status = ekstypes.ClusterStatusFailed
				c.V.Health = &ekstypes.ClusterHealth{Issues: []ekstypes.ClusterIssue{{Code: ekstypes.ClusterIssueCodeInternalFailure,
					Message: ptr("The cluster's Kubernetes API server did not start: " + kubeErr), ResourceIds: []string{deref(c.V.Name)}}}}
			} else if c.Fail {
				c.V.Status = ekstypes.ClusterStatusFailed
				c.V.Health = &ekstypes.ClusterHealth{Issues: []ekstypes.ClusterIssue{{Code: ekstypes.ClusterIssueCodeInternalFailure,
					Message: ptr("Cluster creation failed because of an internal failure."), ResourceIds: []string{deref(c.V.Name)}}}}
			} else {
				c.V.Status = ekstypes.ClusterStatusActive
			}
		case c.V.Status == ekstypes.ClusterStatusDeleting && e.due(c.ReadyAt):
			changed = true
			e.stopAccessController(key)
			if e.env.Kube != nil {
				// The API server goes with the cluster, and its data too.
				_ = e.env.Kube.Remove(kubeID(c.Region, deref(c.V.Name))) // best effort: a leftover directory is removed by the next Remove
			}
			for id, g := range e.st.SGs {
				if g.Cluster == key {
					delete(e.st.SGs, id)
				}
			}
			delete(e.st.Clusters, key)
			continue
		}
		nodesChanged := false
		for name, n := range c.Nodegroups {
			if !e.due(n.ReadyAt) {
				continue
			}
			if !n.Fail && !e.nodesReady(c) {
				continue // ACTIVE, or gone, once its nodes have joined, or left, the cluster
			}
			switch n.V.Status {
			case ekstypes.NodegroupStatusCreating:
				changed, nodesChanged = true, true
				if n.Fail {
					n.V.Status = ekstypes.NodegroupStatusCreateFailed
					n.V.Health = &ekstypes.NodegroupHealth{Issues: []ekstypes.Issue{{Code: ekstypes.NodegroupIssueCodeNodeCreationFailure,
						Message: ptr("Instances failed to join the kubernetes cluster"), ResourceIds: []string{"i-0a1b2c3d4e5f60718"}}}}
				} else {
					n.V.Status = ekstypes.NodegroupStatusActive
				}
			case ekstypes.NodegroupStatusDeleting:
				changed, nodesChanged = true, true
				delete(c.Nodegroups, name)
				e.syncNodegroup(c, name)
			}
		}
		for name, a := range c.Addons {
			if !e.due(a.ReadyAt) {
				continue
			}
			switch a.V.Status {
			case ekstypes.AddonStatusCreating, ekstypes.AddonStatusUpdating:
				changed = true
				if a.Fail {
					if a.V.Status == ekstypes.AddonStatusCreating {
						a.V.Status = ekstypes.AddonStatusCreateFailed
					} else {
						a.V.Status = ekstypes.AddonStatusUpdateFailed
					}
					a.V.Health = &ekstypes.AddonHealth{Issues: []ekstypes.AddonIssue{{Code: ekstypes.AddonIssueCodeInsufficientNumberOfReplicas,
						Message: ptr("The add-on is unhealthy because it doesn't have the desired number of replicas.")}}}
				} else {
					a.V.Status = ekstypes.AddonStatusActive
				}
			case ekstypes.AddonStatusDeleting:
				changed = true
				delete(c.Addons, name)
			}
		}
		for _, u := range c.Updates {
			if u.V.Status != ekstypes.UpdateStatusInProgress || !e.due(u.ReadyAt) {
				continue
			}
			if u.Nodegroup == "" && u.Addon == "" && u.Version != "" && !u.Fail && e.kubeUpgrading(c) {
				continue // done once the API server answers at the new version
			}
			if u.Nodegroup != "" && !u.Fail && !e.nodesReady(c) {
				continue // done once the group's nodes are what it now says
			}
			changed = true
			nodesChanged = nodesChanged || u.Nodegroup != ""
			if u.Fail {
				u.V.Status = ekstypes.UpdateStatusFailed
				u.V.Errors = []ekstypes.ErrorDetail{{ErrorCode: ekstypes.ErrorCodeUnknown, ErrorMessage: ptr("The update failed because of an internal failure.")}}
			} else {
				u.V.Status = ekstypes.UpdateStatusSuccessful
			}
			switch {
			case u.Nodegroup != "":
				if n, ok := c.Nodegroups[u.Nodegroup]; ok {
					if !u.Fail && u.Version != "" {
						n.V.Version = ptr(u.Version)
						n.V.ReleaseVersion = ptr(u.Release)
					}
					if n.V.Status == ekstypes.NodegroupStatusUpdating {
						n.V.Status = ekstypes.NodegroupStatusActive
						if u.Fail {
							n.V.Status = ekstypes.NodegroupStatusDegraded
						}
					}
				}
			case u.Addon != "":
			default:
				if !u.Fail && u.Version != "" {
					c.V.Version = ptr(u.Version)
				}
				if c.V.Status == ekstypes.ClusterStatusUpdating {
					c.V.Status = ekstypes.ClusterStatusActive
				}
			}
		}
		if nodesChanged {
			e.syncNodes(c)
		}
	}
	return changed
}

func (e *Emulator) eksOp(op string, labels map[string]string, q url.Values, call emu.Call, region string, caller principal) (smithy.Serializable, bool, *apiErr) {
	s := e.st
	now := e.env.Now().UTC()
	switch op {
	case "CreateCluster":
		var in eks.CreateClusterInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		name := deref(in.Name)
		if tok := deref(in.ClientRequestToken); tok != "" {
			if t, ok := s.Tokens["eks:CreateCluster:"+tok]; ok && t.ID == region+"/"+name {
				if c, ok := s.Clusters[t.ID]; ok {
					return &eks.CreateClusterOutput{Cluster: ptr(c.V)}, false, nil
				}
			}
		}
		if !eksNameRE.MatchString(name) {
			return nil, false, badParam("The cluster name %q is invalid: use 1-100 letters, digits, hyphens and underscores, starting with a letter or digit.", name)
		}
		if aerr := checkTags("eks:CreateCluster", nil, in.Tags); aerr != nil {
			return nil, false, aerr
		}
		if _, ok := s.Clusters[region+"/"+name]; ok {
			a := errf(409, "ResourceInUseException", "Cluster already exists with name: %s", name)
			a.extra = map[string]string{"clusterName": name}
			return nil, false, a
		}
		if in.RoleArn == nil {
			return nil, false, badParam("roleArn is required")
		}
		if aerr := e.checkRole(*in.RoleArn, "Role"); aerr != nil {
			return nil, false, aerr
		}
		if in.ResourcesVpcConfig == nil || len(in.ResourcesVpcConfig.SubnetIds) == 0 {
			return nil, false, badParam("resourcesVpcConfig.subnetIds is required")
		}
		vpcID, aerr := e.checkSubnets(region, in.ResourcesVpcConfig.SubnetIds, true)
		if aerr != nil {
			return nil, false, aerr
		}
		if aerr := e.checkControlPlaneZones(region, name, in.ResourcesVpcConfig.SubnetIds); aerr != nil {
			return nil, false, aerr
		}
		for _, id := range in.ResourcesVpcConfig.SecurityGroupIds {
			if g, ok := s.SGs[id]; !ok || g.Region != region {
				return nil, false, badParam("The security group '%s' does not exist", id)
			}
		}
		version := deref(in.Version)
		if version == "" {
			version = DefaultEKSVersion
		}
		if !contains(eksVersions, version) {
			return nil, false, badParam("unsupported Kubernetes version %s", version)
		}
		access, upgrade, aerr := clusterAccessDefaults(&in)
		if aerr != nil {
			return nil, false, aerr
		}
		if e.env.Kube != nil {
			if err := e.env.Kube.Check(); err != nil {
				return nil, false, errf(400, "InvalidRequestException", "%v", err)
			}
		}
		pub, priv := true, false
		if in.ResourcesVpcConfig.EndpointPublicAccess != nil {
			pub = *in.ResourcesVpcConfig.EndpointPublicAccess
		}
		if in.ResourcesVpcConfig.EndpointPrivateAccess != nil {
			priv = *in.ResourcesVpcConfig.EndpointPrivateAccess
		}
		cidrs := in.ResourcesVpcConfig.PublicAccessCidrs
		if len(cidrs) == 0 {
			cidrs = []string{"0.0.0.0/0"}
		}
		sgID := hexID("sg")
		s.SGs[sgID] = &sgRec{Region: region, Cluster: region + "/" + name, V: sgFor(sgID, name, vpcID, e.env.Account, region)}
		hexName := strings.ToUpper(strings.TrimPrefix(hexID("x"), "x-")) + "0123456789ABCDEF"
		var askedCIDR string
		if in.KubernetesNetworkConfig != nil {
			askedCIDR = deref(in.KubernetesNetworkConfig.ServiceIpv4Cidr)
		}
		svcCIDR, aerr := eksServiceCIDR(askedCIDR, e.vpcCIDRs(vpcID))
		if aerr != nil {
			delete(s.SGs, sgID)
			return nil, false, aerr
		}
		tags := in.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		cl := ekstypes.Cluster{
			Name: ptr(name), Arn: ptr(fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", region, e.env.Account, name)), CreatedAt: ptr(now),
			Version: ptr(version), Endpoint: ptr(fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", hexName[:32], region)), RoleArn: in.RoleArn,
			ResourcesVpcConfig: &ekstypes.VpcConfigResponse{SubnetIds: in.ResourcesVpcConfig.SubnetIds, SecurityGroupIds: nonNil(in.ResourcesVpcConfig.SecurityGroupIds),
				ClusterSecurityGroupId: ptr(sgID), VpcId: ptr(vpcID), EndpointPublicAccess: pub, EndpointPrivateAccess: priv, PublicAccessCidrs: cidrs},
			KubernetesNetworkConfig: &ekstypes.KubernetesNetworkConfigResponse{ServiceIpv4Cidr: ptr(svcCIDR), IpFamily: ekstypes.IpFamilyIpv4},
			Logging:                 &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Types: []ekstypes.LogType{"api", "audit", "authenticator", "controllerManager", "scheduler"}, Enabled: ptr(false)}}},
			Identity:                &ekstypes.Identity{Oidc: &ekstypes.OIDC{Issuer: ptr(fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", region, hexName[:32]))}},
			Status:                  ekstypes.ClusterStatusCreating,
			CertificateAuthority:    &ekstypes.Certificate{Data: ptr(base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nregionctl-sandbox\n-----END CERTIFICATE-----\n")))},
			PlatformVersion:         ptr("eks.1"), Tags: tags, ClientRequestToken: in.ClientRequestToken,
			AccessConfig:       access,
			UpgradePolicy:      upgrade,
			DeletionProtection: ptr(deref(in.DeletionProtection)),
			Health:             &ekstypes.ClusterHealth{Issues: []ekstypes.ClusterIssue{}},
		}
		if in.ControlPlaneScalingConfig != nil {
			cl.ControlPlaneScalingConfig = &ekstypes.ControlPlaneScalingConfig{Tier: in.ControlPlaneScalingConfig.Tier}
		}
		rec := &clusterRec{Region: region, V: cl, ReadyAt: e.after("eks:CreateCluster"), Fail: call.Fail, Creator: caller.Arn,
			Nodegroups: map[string]*ngRec{}, Addons: map[string]*addonRec{}, Updates: map[string]*updateRec{}, AccessEntries: map[string]*accessEntryRec{}}
		e.bootstrapCreatorAccess(rec, region)
		if e.env.Kube != nil {
			// A real API server per cluster: its endpoint and CA replace
			// the made-up ones.
			if err := e.ensureKube(rec, version); err != nil {
				delete(s.SGs, sgID)
				return nil, false, errf(400, "InvalidRequestException", "%v", err)
			}
			cl = rec.V
		}
		s.Clusters[region+"/"+name] = rec
		if tok := deref(in.ClientRequestToken); tok != "" {
			s.Tokens["eks:CreateCluster:"+tok] = tokenRec{ID: region + "/" + name}
		}
		return &eks.CreateClusterOutput{Cluster: ptr(cl)}, true, nil

	case "DescribeCluster":
		c, aerr := e.cluster(region, labels["name"])
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.DescribeClusterOutput{Cluster: ptr(c.V)}, false, nil

	case "ListClusters":
		var names []string
		for _, c := range s.Clusters {
			if c.Region == region {
				names = append(names, deref(c.V.Name))
			}
		}
		sort.Strings(names)
		page, next, aerr := paginate(names, q)
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.ListClustersOutput{Clusters: page, NextToken: next}, false, nil

	case "DeleteCluster":
		c, aerr := e.cluster(region, labels["name"])
		if aerr != nil {
			return nil, false, aerr
		}
		if deref(c.V.DeletionProtection) {
			return nil, false, errf(400, "InvalidRequestException", "Cannot delete cluster %s because deletion protection is enabled. Disable it with update-cluster-config --no-deletion-protection first.", labels["name"])
		}
		if len(c.Nodegroups) > 0 {
			a := errf(409, "ResourceInUseException", "Cluster has nodegroups attached")
			a.extra = map[string]string{"clusterName": labels["name"]}
			return nil, false, a
		}
		if c.V.Status != ekstypes.ClusterStatusDeleting {
			c.V.Status = ekstypes.ClusterStatusDeleting
			c.ReadyAt = e.after("eks:DeleteCluster")
			c.Addons = map[string]*addonRec{} // EKS removes add-ons with the cluster
		}
		return &eks.DeleteClusterOutput{Cluster: ptr(c.V)}, true, nil

	case "UpdateClusterVersion":
		c, aerr := e.cluster(region, labels["name"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.UpdateClusterVersionInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		if aerr := clusterReady(c); aerr != nil {
			return nil, false, aerr
		}
		cur, want := deref(c.V.Version), deref(in.Version)
		if !nextMinor(cur, want) {
			return nil, false, badParam("Unsupported Kubernetes minor version update from %s to %s", cur, want)
		}
		u := e.newUpdate(c, "eks:UpdateClusterVersion", ekstypes.UpdateTypeVersionUpdate, call.Fail,
			param(ekstypes.UpdateParamTypeVersion, want), param(ekstypes.UpdateParamTypePlatformVersion, "eks.1"))
		u.Version = want
		c.V.Status = ekstypes.ClusterStatusUpdating
		e.upgradeKube(c)
		return &eks.UpdateClusterVersionOutput{Update: ptr(u.V)}, true, nil

	case "UpdateClusterConfig":
		c, aerr := e.cluster(region, labels["name"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.UpdateClusterConfigInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		if aerr := clusterReady(c); aerr != nil {
			return nil, false, aerr
		}
		var u *updateRec
		switch {
		case in.ResourcesVpcConfig != nil:
			vc := c.V.ResourcesVpcConfig
			var ps []ekstypes.UpdateParam
			if v := in.ResourcesVpcConfig.EndpointPublicAccess; v != nil {
				vc.EndpointPublicAccess = *v
				ps = append(ps, param(ekstypes.UpdateParamTypeEndpointPublicAccess, strconv.FormatBool(*v)))
			}
			if v := in.ResourcesVpcConfig.EndpointPrivateAccess; v != nil {
				vc.EndpointPrivateAccess = *v
				ps = append(ps, param(ekstypes.UpdateParamTypeEndpointPrivateAccess, strconv.FormatBool(*v)))
			}
			if v := in.ResourcesVpcConfig.PublicAccessCidrs; v != nil {
				vc.PublicAccessCidrs = v
				b, _ := json.Marshal(v)
				ps = append(ps, param(ekstypes.UpdateParamTypePublicAccessCidrs, string(b)))
			}
			if !vc.EndpointPublicAccess && !vc.EndpointPrivateAccess {
				return nil, false, badParam("Cluster must have either public or private access enabled")
			}
			if len(ps) == 0 {
				return nil, false, badParam("No changes needed for the endpoint access configuration")
			}
			u = e.newUpdate(c, "eks:UpdateClusterConfig", ekstypes.UpdateTypeEndpointAccessUpdate, call.Fail, ps...)
		case in.ControlPlaneScalingConfig != nil:
			c.V.ControlPlaneScalingConfig = &ekstypes.ControlPlaneScalingConfig{Tier: in.ControlPlaneScalingConfig.Tier}
			u = e.newUpdate(c, "eks:UpdateClusterConfig", ekstypes.UpdateTypeConfigUpdate, call.Fail,
				param(ekstypes.UpdateParamType("ControlPlaneScalingTier"), string(in.ControlPlaneScalingConfig.Tier)))
		case in.Logging != nil:
			c.V.Logging = in.Logging
			u = e.newUpdate(c, "eks:UpdateClusterConfig", ekstypes.UpdateTypeLoggingUpdate, call.Fail)
		case in.AccessConfig != nil || in.UpgradePolicy != nil || in.DeletionProtection != nil:
			var aerr *apiErr
			if u, aerr = e.updateClusterAccess(c, &in, call.Fail); aerr != nil {
				return nil, false, aerr
			}
		default:
			return nil, false, badParam("No changes needed for the cluster configuration")
		}
		c.V.Status = ekstypes.ClusterStatusUpdating
		return &eks.UpdateClusterConfigOutput{Update: ptr(u.V)}, true, nil

	case "DescribeUpdate":
		c, aerr := e.cluster(region, labels["name"])
		if aerr != nil {
			return nil, false, aerr
		}
		u, ok := c.Updates[labels["updateId"]]
		if !ok || u.Nodegroup != q.Get("nodegroupName") || u.Addon != q.Get("addonName") {
			return nil, false, notFound("No update found for ID: "+labels["updateId"], map[string]string{"clusterName": labels["name"]})
		}
		return &eks.DescribeUpdateOutput{Update: ptr(u.V)}, false, nil

	case "CreateNodegroup":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.CreateNodegroupInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		name := deref(in.NodegroupName)
		if tok := deref(in.ClientRequestToken); tok != "" {
			if n, ok := c.Nodegroups[name]; ok && deref(n.V.NodegroupArn) != "" && s.Tokens["eks:CreateNodegroup:"+tok].ID == deref(n.V.NodegroupArn) {
				return &eks.CreateNodegroupOutput{Nodegroup: ptr(n.V)}, false, nil
			}
		}
		if !eksNameRE.MatchString(name) {
			return nil, false, badParam("The node group name %q is invalid.", name)
		}
		if c.V.Status != ekstypes.ClusterStatusActive {
			return nil, false, errf(400, "InvalidRequestException", "Cluster '%s' is not in ACTIVE status", deref(c.V.Name))
		}
		if _, ok := c.Nodegroups[name]; ok {
			a := errf(409, "ResourceInUseException", "NodeGroup already exists with name %s and cluster name %s", name, deref(c.V.Name))
			a.extra = map[string]string{"clusterName": deref(c.V.Name), "nodegroupName": name}
			return nil, false, a
		}
		if in.NodeRole == nil {
			return nil, false, badParam("nodeRole is required")
		}
		if aerr := e.checkRole(*in.NodeRole, "NodeRole"); aerr != nil {
			return nil, false, aerr
		}
		if len(in.Subnets) == 0 {
			return nil, false, badParam("subnets is required")
		}
		if _, aerr := e.checkSubnets(region, in.Subnets, false); aerr != nil {
			return nil, false, aerr
		}
		sc := ekstypes.NodegroupScalingConfig{MinSize: ptr(int32(1)), MaxSize: ptr(int32(2)), DesiredSize: ptr(int32(2))}
		if in.ScalingConfig != nil {
			if in.ScalingConfig.MinSize != nil {
				sc.MinSize = in.ScalingConfig.MinSize
			}
			if in.ScalingConfig.MaxSize != nil {
				sc.MaxSize = in.ScalingConfig.MaxSize
			}
			if in.ScalingConfig.DesiredSize != nil {
				sc.DesiredSize = in.ScalingConfig.DesiredSize
			}
		}
		if aerr := checkScaling(sc); aerr != nil {
			return nil, false, aerr
		}
		version := deref(in.Version)
		if version == "" {
			version = deref(c.V.Version)
		}
		if version != deref(c.V.Version) && !nextMinor(version, deref(c.V.Version)) && version != deref(c.V.Version) {
			return nil, false, badParam("Requested Nodegroup version %s is invalid for cluster version %s.", version, deref(c.V.Version))
		}
		types := in.InstanceTypes
		if len(types) == 0 {
			types = []string{"t3.medium"}
		}
		ami := in.AmiType
		if ami == "" {
			ami = ekstypes.AMITypesAl2023X8664Standard
		}
		capType := in.CapacityType
		if capType == "" {
			capType = ekstypes.CapacityTypesOnDemand
		}
		disk := in.DiskSize
		if disk == nil && in.LaunchTemplate == nil {
			disk = ptr(int32(20))
		}
		if aerr := checkTags("eks:CreateNodegroup", nil, in.Tags); aerr != nil {
			return nil, false, aerr
		}
		id := uuid.NewString()
		tags := in.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		labelsMap := in.Labels
		if labelsMap == nil {
			labelsMap = map[string]string{}
		}
		ng := ekstypes.Nodegroup{
			NodegroupName: ptr(name), ClusterName: c.V.Name, NodegroupArn: ptr(fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/%s", region, e.env.Account, deref(c.V.Name), name, id)),
			Version: ptr(version), ReleaseVersion: ptr(fmt.Sprintf(releaseFmt, version)), CreatedAt: ptr(now), ModifiedAt: ptr(now),
			Status: ekstypes.NodegroupStatusCreating, CapacityType: capType, ScalingConfig: &sc, InstanceTypes: types, Subnets: in.Subnets,
			AmiType: ami, NodeRole: in.NodeRole, Labels: labelsMap, Taints: in.Taints, DiskSize: disk, Tags: tags, LaunchTemplate: in.LaunchTemplate,
			Resources:    &ekstypes.NodegroupResources{AutoScalingGroups: []ekstypes.AutoScalingGroup{{Name: ptr("eks-" + name + "-" + id)}}},
			Health:       &ekstypes.NodegroupHealth{Issues: []ekstypes.Issue{}},
			UpdateConfig: &ekstypes.NodegroupUpdateConfig{MaxUnavailable: ptr(int32(1))},
		}
		if in.UpdateConfig != nil {
			ng.UpdateConfig = in.UpdateConfig
		}
		c.Nodegroups[name] = &ngRec{V: ng, ReadyAt: e.after("eks:CreateNodegroup"), Fail: call.Fail, Slot: freeSlot(c)}
		e.nodeRoleAccess(c, region, ng)
		e.syncNodegroup(c, name) // its instances join the cluster while it is CREATING
		if tok := deref(in.ClientRequestToken); tok != "" {
			s.Tokens["eks:CreateNodegroup:"+tok] = tokenRec{ID: deref(ng.NodegroupArn)}
		}
		return &eks.CreateNodegroupOutput{Nodegroup: ptr(ng)}, true, nil

	case "DescribeNodegroup":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		n, aerr := c.nodegroup(labels["nodegroupName"])
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.DescribeNodegroupOutput{Nodegroup: ptr(n.V)}, false, nil

	case "ListNodegroups":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		page, next, aerr := paginate(sortedKeys(c.Nodegroups), q)
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.ListNodegroupsOutput{Nodegroups: page, NextToken: next}, false, nil

	case "UpdateNodegroupConfig":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		n, aerr := c.nodegroup(labels["nodegroupName"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.UpdateNodegroupConfigInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		if n.V.Status != ekstypes.NodegroupStatusActive {
			return nil, false, errf(409, "ResourceInUseException", "Nodegroup %s is currently in %s status", labels["nodegroupName"], n.V.Status)
		}
		var ps []ekstypes.UpdateParam
		if in.ScalingConfig != nil {
			sc := *n.V.ScalingConfig
			if v := in.ScalingConfig.MinSize; v != nil {
				sc.MinSize = v
				ps = append(ps, param(ekstypes.UpdateParamTypeMinSize, strconv.Itoa(int(*v))))
			}
			if v := in.ScalingConfig.MaxSize; v != nil {
				sc.MaxSize = v
				ps = append(ps, param(ekstypes.UpdateParamTypeMaxSize, strconv.Itoa(int(*v))))
			}
			if v := in.ScalingConfig.DesiredSize; v != nil {
				sc.DesiredSize = v
				ps = append(ps, param(ekstypes.UpdateParamTypeDesiredSize, strconv.Itoa(int(*v))))
			}
			if aerr := checkScaling(sc); aerr != nil {
				return nil, false, aerr
			}
			n.V.ScalingConfig = &sc
		}
		if in.Labels != nil {
			for k, v := range in.Labels.AddOrUpdateLabels {
				n.V.Labels[k] = v
			}
			for _, k := range in.Labels.RemoveLabels {
				delete(n.V.Labels, k)
			}
			if len(in.Labels.AddOrUpdateLabels) > 0 {
				b, _ := json.Marshal(in.Labels.AddOrUpdateLabels)
				ps = append(ps, param(ekstypes.UpdateParamTypeLabelsToAdd, string(b)))
			}
			if len(in.Labels.RemoveLabels) > 0 {
				b, _ := json.Marshal(in.Labels.RemoveLabels)
				ps = append(ps, param(ekstypes.UpdateParamTypeLabelsToRemove, string(b)))
			}
		}
		if in.Taints != nil {
			for _, t := range in.Taints.RemoveTaints {
				kept := n.V.Taints[:0]
				for _, have := range n.V.Taints {
					if deref(have.Key) != deref(t.Key) || have.Effect != t.Effect {
						kept = append(kept, have)
					}
				}
				n.V.Taints = kept
			}
			for _, t := range in.Taints.AddOrUpdateTaints {
				kept := n.V.Taints[:0]
				for _, have := range n.V.Taints {
					if deref(have.Key) != deref(t.Key) || have.Effect != t.Effect {
						kept = append(kept, have)
					}
				}
				n.V.Taints = append(kept, t)
			}
			if len(in.Taints.AddOrUpdateTaints) > 0 {
				b, _ := json.Marshal(in.Taints.AddOrUpdateTaints)
				ps = append(ps, param(ekstypes.UpdateParamTypeTaintsToAdd, string(b)))
			}
			if len(in.Taints.RemoveTaints) > 0 {
				b, _ := json.Marshal(in.Taints.RemoveTaints)
				ps = append(ps, param(ekstypes.UpdateParamTypeTaintsToRemove, string(b)))
			}
		}
		if in.UpdateConfig != nil {
			n.V.UpdateConfig = in.UpdateConfig
		}
		if len(ps) == 0 && in.UpdateConfig == nil {
			return nil, false, badParam("No changes needed")
		}
		n.V.ModifiedAt = ptr(now)
		n.V.Status = ekstypes.NodegroupStatusUpdating
		n.ReadyAt = e.after("eks:UpdateNodegroupConfig")
		u := e.newUpdate(c, "eks:UpdateNodegroupConfig", ekstypes.UpdateTypeConfigUpdate, call.Fail, ps...)
		u.Nodegroup = labels["nodegroupName"]
		e.syncNodegroup(c, labels["nodegroupName"]) // the Auto Scaling group and labels change at once
		return &eks.UpdateNodegroupConfigOutput{Update: ptr(u.V)}, true, nil

	case "UpdateNodegroupVersion":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		n, aerr := c.nodegroup(labels["nodegroupName"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.UpdateNodegroupVersionInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		if n.V.Status != ekstypes.NodegroupStatusActive {
			return nil, false, errf(409, "ResourceInUseException", "Nodegroup %s is currently in %s status", labels["nodegroupName"], n.V.Status)
		}
		want := deref(in.Version)
		if want == "" {
			want = deref(c.V.Version)
		}
		cur := deref(n.V.Version)
		if want != cur && !nextMinor(cur, want) || versionLess(deref(c.V.Version), want) {
			return nil, false, badParam("Requested Nodegroup version %s is invalid for cluster version %s and node group version %s.", want, deref(c.V.Version), cur)
		}
		release := deref(in.ReleaseVersion)
		if release == "" {
			release = fmt.Sprintf(releaseFmt, want)
		}
		n.V.Status = ekstypes.NodegroupStatusUpdating
		n.V.ModifiedAt = ptr(now)
		u := e.newUpdate(c, "eks:UpdateNodegroupVersion", ekstypes.UpdateTypeVersionUpdate, call.Fail,
			param(ekstypes.UpdateParamTypeVersion, want), param(ekstypes.UpdateParamTypeReleaseVersion, release))
		u.Nodegroup, u.Version, u.Release = labels["nodegroupName"], want, release
		return &eks.UpdateNodegroupVersionOutput{Update: ptr(u.V)}, true, nil

	case "DeleteNodegroup":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		n, aerr := c.nodegroup(labels["nodegroupName"])
		if aerr != nil {
			return nil, false, aerr
		}
		if n.V.Status != ekstypes.NodegroupStatusDeleting {
			n.V.Status = ekstypes.NodegroupStatusDeleting
			n.ReadyAt = e.after("eks:DeleteNodegroup")
			e.syncNodegroup(c, labels["nodegroupName"]) // its instances are drained and terminated while it is DELETING
		}
		return &eks.DeleteNodegroupOutput{Nodegroup: ptr(n.V)}, true, nil

	case "CreateAddon":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.CreateAddonInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		name := deref(in.AddonName)
		versions, ok := addonCatalog[name]
		if !ok {
			return nil, false, badParam("Addon %s specified is not supported", name)
		}
		if a, ok := c.Addons[name]; ok {
			if tok := deref(in.ClientRequestToken); tok != "" && s.Tokens["eks:CreateAddon:"+tok].ID == deref(a.V.AddonArn) {
				return &eks.CreateAddonOutput{Addon: ptr(a.V)}, false, nil
			}
			x := errf(409, "ResourceInUseException", "Addon already exists.")
			x.extra = map[string]string{"clusterName": deref(c.V.Name), "addonName": name}
			return nil, false, x
		}
		if c.V.Status != ekstypes.ClusterStatusActive {
			return nil, false, errf(400, "InvalidRequestException", "Cluster '%s' is not in ACTIVE status", deref(c.V.Name))
		}
		version := deref(in.AddonVersion)
		if version == "" {
			version = versions[len(versions)-1]
		}
		if !contains(versions, version) {
			return nil, false, badParam("Addon version specified is not supported")
		}
		if in.ServiceAccountRoleArn != nil {
			if aerr := e.checkRole(*in.ServiceAccountRoleArn, "ServiceAccountRoleArn"); aerr != nil {
				return nil, false, aerr
			}
		}
		if aerr := checkTags("eks:CreateAddon", nil, in.Tags); aerr != nil {
			return nil, false, aerr
		}
		tags := in.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		a := ekstypes.Addon{AddonName: ptr(name), ClusterName: c.V.Name, Status: ekstypes.AddonStatusCreating, AddonVersion: ptr(version),
			AddonArn:  ptr(fmt.Sprintf("arn:aws:eks:%s:%s:addon/%s/%s/%s", region, e.env.Account, deref(c.V.Name), name, uuid.NewString())),
			CreatedAt: ptr(now), ModifiedAt: ptr(now), ServiceAccountRoleArn: in.ServiceAccountRoleArn, Tags: tags, ConfigurationValues: in.ConfigurationValues,
			Health: &ekstypes.AddonHealth{Issues: []ekstypes.AddonIssue{}}}
		c.Addons[name] = &addonRec{V: a, ReadyAt: e.after("eks:CreateAddon"), Fail: call.Fail}
		if tok := deref(in.ClientRequestToken); tok != "" {
			s.Tokens["eks:CreateAddon:"+tok] = tokenRec{ID: deref(a.AddonArn)}
		}
		return &eks.CreateAddonOutput{Addon: ptr(a)}, true, nil

	case "DescribeAddon":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		a, aerr := c.addon(labels["addonName"])
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.DescribeAddonOutput{Addon: ptr(a.V)}, false, nil

	case "ListAddons":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		page, next, aerr := paginate(sortedKeys(c.Addons), q)
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.ListAddonsOutput{Addons: page, NextToken: next}, false, nil

	case "UpdateAddon":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		a, aerr := c.addon(labels["addonName"])
		if aerr != nil {
			return nil, false, aerr
		}
		var in eks.UpdateAddonInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		if a.V.Status != ekstypes.AddonStatusActive && a.V.Status != ekstypes.AddonStatusDegraded {
			return nil, false, errf(409, "ResourceInUseException", "Addon %s is in %s status", labels["addonName"], a.V.Status)
		}
		var ps []ekstypes.UpdateParam
		if v := deref(in.AddonVersion); v != "" {
			if !contains(addonCatalog[labels["addonName"]], v) {
				return nil, false, badParam("Addon version specified is not supported")
			}
			a.V.AddonVersion = ptr(v)
			ps = append(ps, param(ekstypes.UpdateParamTypeAddonVersion, v))
		}
		if in.ServiceAccountRoleArn != nil {
			if *in.ServiceAccountRoleArn != "" {
				if aerr := e.checkRole(*in.ServiceAccountRoleArn, "ServiceAccountRoleArn"); aerr != nil {
					return nil, false, aerr
				}
			}
			a.V.ServiceAccountRoleArn = optional(*in.ServiceAccountRoleArn)
			ps = append(ps, param(ekstypes.UpdateParamTypeServiceAccountRoleArn, *in.ServiceAccountRoleArn))
		}
		if in.ConfigurationValues != nil {
			a.V.ConfigurationValues = in.ConfigurationValues
			ps = append(ps, param(ekstypes.UpdateParamTypeConfigurationValues, *in.ConfigurationValues))
		}
		a.V.Status = ekstypes.AddonStatusUpdating
		a.V.ModifiedAt = ptr(now)
		a.ReadyAt = e.after("eks:UpdateAddon")
		a.Fail = call.Fail
		u := e.newUpdate(c, "eks:UpdateAddon", ekstypes.UpdateTypeAddonUpdate, call.Fail, ps...)
		u.Addon = labels["addonName"]
		return &eks.UpdateAddonOutput{Update: ptr(u.V)}, true, nil

	case "DeleteAddon":
		c, aerr := e.cluster(region, labels["clusterName"])
		if aerr != nil {
			return nil, false, aerr
		}
		a, aerr := c.addon(labels["addonName"])
		if aerr != nil {
			return nil, false, aerr
		}
		if a.V.Status != ekstypes.AddonStatusDeleting {
			a.V.Status = ekstypes.AddonStatusDeleting
			a.ReadyAt = e.after("eks:DeleteAddon")
		}
		return &eks.DeleteAddonOutput{Addon: ptr(a.V)}, true, nil

	case "DescribeAddonVersions":
		kv := q.Get("kubernetesVersion")
		var out []ekstypes.AddonInfo
		for _, name := range sortedKeys(addonCatalog) {
			if n := q.Get("addonName"); n != "" && n != name {
				continue
			}
			info := ekstypes.AddonInfo{AddonName: ptr(name), Type: ptr(addonType[name]), Owner: ptr("aws"), Publisher: ptr("eks")}
			vs := addonCatalog[name]
			for i := len(vs) - 1; i >= 0; i-- {
				var comp []ekstypes.Compatibility
				for _, cv := range eksVersions {
					if kv != "" && kv != cv {
						continue
					}
					comp = append(comp, ekstypes.Compatibility{ClusterVersion: ptr(cv), DefaultVersion: i == len(vs)-1, PlatformVersions: []string{"*"}})
				}
				info.AddonVersions = append(info.AddonVersions, ekstypes.AddonVersionInfo{AddonVersion: ptr(vs[i]), Architecture: []string{"amd64", "arm64"},
					Compatibilities: comp, RequiresConfiguration: false})
			}
			out = append(out, info)
		}
		return &eks.DescribeAddonVersionsOutput{Addons: out}, false, nil

	case "TagResource", "UntagResource", "ListTagsForResource":
		tags, aerr := e.eksTags(labels["resourceArn"])
		if aerr != nil {
			return nil, false, aerr
		}
		switch op {
		case "TagResource":
			var in eks.TagResourceInput
			if aerr := decode(call.Body, &in); aerr != nil {
				return nil, false, aerr
			}
			if len(in.Tags) == 0 {
				return nil, false, errf(400, "BadRequestException", "tags must not be empty")
			}
			if aerr := checkTags("eks:TagResource", tags, in.Tags); aerr != nil {
				return nil, false, aerr
			}
			for k, v := range in.Tags {
				tags[k] = v
			}
			return &eks.TagResourceOutput{}, true, nil
		case "UntagResource":
			if aerr := checkReservedKeys("eks:UntagResource", q["tagKeys"]); aerr != nil {
				return nil, false, aerr
			}
			for _, k := range q["tagKeys"] {
				delete(tags, k)
			}
			return &eks.UntagResourceOutput{}, true, nil
		}
		out := map[string]string{}
		for k, v := range tags {
			out[k] = v
		}
		return &eks.ListTagsForResourceOutput{Tags: out}, false, nil
	}
	return nil, false, errf(404, "NotFoundException", "Unknown operation %s", op)
}

// eksTags finds the tag map of a cluster, nodegroup or add-on by ARN.
func (e *Emulator) eksTags(arn string) (map[string]string, *apiErr) {
	m := eksArnRE.FindStringSubmatch(arn)
	if m == nil {
		return nil, errf(400, "BadRequestException", "%s is not a valid ARN", arn)
	}
	missing := errf(404, "NotFoundException", "Resource %s not found", arn)
	parts := strings.Split(m[4], "/")
	c, ok := e.st.Clusters[m[1]+"/"+parts[0]]
	if !ok {
		return nil, missing
	}
	switch m[3] {
	case "cluster":
		if c.V.Tags == nil {
			c.V.Tags = map[string]string{}
		}
		return c.V.Tags, nil
	case "nodegroup":
		if len(parts) > 1 {
			if n, ok := c.Nodegroups[parts[1]]; ok && deref(n.V.NodegroupArn) == arn {
				if n.V.Tags == nil {
					n.V.Tags = map[string]string{}
				}
				return n.V.Tags, nil
			}
		}
	case "addon":
		if len(parts) > 1 {
			if a, ok := c.Addons[parts[1]]; ok && deref(a.V.AddonArn) == arn {
				if a.V.Tags == nil {
					a.V.Tags = map[string]string{}
				}
				return a.V.Tags, nil
			}
		}
	}
	return nil, missing
}

func clusterReady(c *clusterRec) *apiErr {
	if c.busy() {
		a := errf(409, "ResourceInUseException", "Cluster %s has an update in progress", deref(c.V.Name))
		a.extra = map[string]string{"clusterName": deref(c.V.Name)}
		return a
	}
	if c.V.Status != ekstypes.ClusterStatusActive {
		return errf(400, "InvalidRequestException", "Cluster '%s' is not in ACTIVE status", deref(c.V.Name))
	}
	return nil
}

func checkScaling(sc ekstypes.NodegroupScalingConfig) *apiErr {
	mn, mx, d := deref(sc.MinSize), deref(sc.MaxSize), deref(sc.DesiredSize)
	if mn < 0 || mx < 1 || mn > mx || d < mn || d > mx {
		return badParam("Minimum capacity %d can't be greater than desired size %d and desired size can't be greater than maximum capacity %d (maxSize ≥ 1)", mn, d, mx)
	}
	return nil
}

func minor(v string) (int, bool) {
	maj, mn, ok := strings.Cut(v, ".")
	if !ok || maj != "1" {
		return 0, false
	}
	return atoi(mn)
}

// nextMinor reports whether to is exactly one minor version after from.
func nextMinor(from, to string) bool {
	a, ok1 := minor(from)
	b, ok2 := minor(to)
	return ok1 && ok2 && b == a+1 && contains(eksVersions, to)
}

func versionLess(a, b string) bool {
	x, _ := minor(a)
	y, _ := minor(b)
	return x < y
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func paginate(items []string, q url.Values) ([]string, *string, *apiErr) {
	max := 100
	if v := q.Get("maxResults"); v != "" {
		n, ok := atoi(v)
		if !ok || n < 1 || n > 100 {
			return nil, nil, badParam("maxResults must be between 1 and 100")
		}
		max = n
	}
	start := 0
	if t := q.Get("nextToken"); t != "" {
		n, ok := atoi(t)
		if !ok || n < 0 || n > len(items) {
			return nil, nil, badParam("The nextToken is invalid")
		}
		start = n
	}
	end := min(start+max, len(items))
	page := append([]string{}, items[start:end]...)
	if end < len(items) {
		return page, ptr(strconv.Itoa(end)), nil
	}
	return page, nil, nil
}
