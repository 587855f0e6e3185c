package aws

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// accessPolicyARN is the ARN prefix of EKS's access policies.
const accessPolicyARN = "arn:aws:eks::aws:cluster-access-policy/"

// AccessPolicyGroup is the Kubernetes group an authenticated principal gets
// for an access policy associated at cluster scope; each cluster's bootstrap
// binds it to the ClusterRole that grants what the policy grants. (EKS
// enforces access policies in its own authorizer; the sandbox uses RBAC.)
func AccessPolicyGroup(policy string) string { return "regionctl-sandbox:eks-access-policy:" + policy }

// accessPolicies are the EKS access policies the emulator serves, with the
// Kubernetes ClusterRole each grants (adminView is made by the bootstrap).
var accessPolicies = map[string]string{
	"AmazonEKSClusterAdminPolicy": "cluster-admin",
	"AmazonEKSAdminPolicy":        "admin",
	"AmazonEKSEditPolicy":         "edit",
	"AmazonEKSViewPolicy":         "view",
	"AmazonEKSAdminViewPolicy":    adminViewRole,
}

// adminViewRole is what AmazonEKSAdminViewPolicy grants: read everything,
// secrets included.
const adminViewRole = "regionctl-sandbox:eks-admin-view"

// policyBindings are the RBAC objects the bootstrap creates so that the
// access-policy groups grant their policies.
func policyBindings() ([]*rbacv1.ClusterRole, []*rbacv1.ClusterRoleBinding) {
	roles := []*rbacv1.ClusterRole{{
		ObjectMeta: objectMeta(adminViewRole),
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}}
	var bindings []*rbacv1.ClusterRoleBinding
	for _, name := range sortedKeys(accessPolicies) {
		bindings = append(bindings, &rbacv1.ClusterRoleBinding{
			ObjectMeta: objectMeta(AccessPolicyGroup(name)),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: accessPolicies[name]},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: AccessPolicyGroup(name)}},
		})
	}
	return roles, bindings
}

// accessEntryRec is an access entry and the policies associated with it.
type accessEntryRec struct {
	V        ekstypes.AccessEntry                       `json:"accessEntry"`
	Policies map[string]ekstypes.AssociatedAccessPolicy `json:"policies"` // by policy ARN
}

var (
	principalArnRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):(user|role)(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)
	reservedK8s    = []string{"system:", "eks:", "aws:", "amazon:", "iam:"}
)

// entryTypes are the access entry types EKS accepts.
var entryTypes = []string{"STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"}

// accessOps are the access-entry operations, answered by accessOp.
var accessOps = map[string]bool{
	"CreateAccessEntry": true, "DescribeAccessEntry": true, "ListAccessEntries": true, "UpdateAccessEntry": true,
	"DeleteAccessEntry": true, "AssociateAccessPolicy": true, "DisassociateAccessPolicy": true,
	"ListAssociatedAccessPolicies": true, "ListAccessPolicies": true,
}

// usesAccessEntries reports whether the cluster's authentication mode
// reads access entries.
func (c *clusterRec) usesAccessEntries() bool {
	m := c.V.AccessConfig.AuthenticationMode
	return m == ekstypes.AuthenticationModeApi || m == ekstypes.AuthenticationModeApiAndConfigMap
}

func (c *clusterRec) entry(arn string) (*accessEntryRec, *apiErr) {
	a, ok := c.AccessEntries[arn]
	if !ok {
		return nil, notFound("The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
			map[string]string{"clusterName": deref(c.V.Name)})
	}
	return a, nil
}

// defaultUsername is the Kubernetes username EKS gives a principal.
func defaultUsername(kind, account, name, typ string) string {
	switch {
	case typ == "EC2_LINUX" || typ == "EC2_WINDOWS" || typ == "EC2" || typ == "HYBRID_LINUX" || typ == "HYPERPOD_LINUX":
		return "system:node:{{EC2PrivateDNSName}}"
	case typ == "FARGATE_LINUX":
		return "system:node:{{SessionName}}"
	case kind == "role":
		return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/{{SessionName}}", account, name)
	}
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", account, name)
}

// newAccessEntry validates and records an access entry.
func (e *Emulator) newAccessEntry(c *clusterRec, region string, in *eks.CreateAccessEntryInput) (*accessEntryRec, *apiErr) {
	arn := deref(in.PrincipalArn)
	m := principalArnRE.FindStringSubmatch(arn)
	if m == nil {
		return nil, badParam("The specified principalArn is invalid: invalid principal %s. Use the ARN of an IAM user or role.", arn)
	}
	account, kind, name := m[1], m[2], m[4]
	if account == e.acct {
		_, isRole := e.st.Roles[name]
		_, isUser := e.st.Users[name]
		if kind == "role" && !isRole || kind == "user" && !isUser {
			return nil, badParam("The specified principalArn is invalid: the IAM %s %s does not exist.", kind, arn)
		}
	}
	if _, ok := c.AccessEntries[arn]; ok {
		a := errf(409, "ResourceInUseException", "The specified access entry resource is already in use on this cluster.")
		a.extra = map[string]string{"clusterName": deref(c.V.Name)}
		return nil, a
	}
	typ := deref(in.Type)
	if typ == "" {
		typ = "STANDARD"
	}
	if !contains(entryTypes, typ) {
		return nil, badParam("The specified type %s is invalid. Valid types: %s.", typ, strings.Join(entryTypes, ", "))
	}
	if typ != "STANDARD" && (kind != "role" || len(in.KubernetesGroups) > 0 || in.Username != nil) {
		return nil, badParam("Access entries of type %s need an IAM role and take neither kubernetesGroups nor username.", typ)
	}
	username := deref(in.Username)
	if username == "" {
		username = defaultUsername(kind, account, name, typ)
	}
	groups := in.KubernetesGroups
	if typ != "STANDARD" {
		groups = []string{"system:nodes"} // what EKS gives node entries
	}
	if aerr := checkK8sNames(typ, username, in.KubernetesGroups); aerr != nil {
		return nil, aerr
	}
	if aerr := checkTags("eks:CreateAccessEntry", nil, in.Tags); aerr != nil {
		return nil, aerr
	}
	now := e.env.Now().UTC()
	tags := in.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	rec := &accessEntryRec{V: ekstypes.AccessEntry{
		ClusterName: c.V.Name, PrincipalArn: ptr(arn), KubernetesGroups: nonNil(groups), Type: ptr(typ), Username: ptr(username),
		AccessEntryArn: ptr(fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/%s/%s/%s/%s", region, e.acct, deref(c.V.Name), kind, account, name, uuid.NewString())),
		CreatedAt:      ptr(now), ModifiedAt: ptr(now), Tags: tags,
	}, Policies: map[string]ekstypes.AssociatedAccessPolicy{}}
	c.AccessEntries[arn] = rec
	return rec, nil
}

// checkK8sNames refuses usernames and groups EKS reserves.
func checkK8sNames(typ, username string, groups []string) *apiErr {
	if typ != "STANDARD" {
		return nil
	}
	for _, n := range append([]string{username}, groups...) {
		for _, p := range reservedK8s {
			if strings.HasPrefix(strings.ToLower(n), p) {
				return badParam("The kubernetes username or group %q is invalid: names starting with %q are reserved.", n, p)
			}
		}
	}
	return nil
}

// associate associates policy with an entry at scope (replacing the scope
// of an existing association, as EKS does).
func (e *Emulator) associate(a *accessEntryRec, policyArn string, scope *ekstypes.AccessScope) (ekstypes.AssociatedAccessPolicy, *apiErr) {
	name, ok := strings.CutPrefix(policyArn, accessPolicyARN)
	if !ok || accessPolicies[name] == "" {
		return ekstypes.AssociatedAccessPolicy{}, badParam("The specified policyArn %s is invalid. See list-access-policies for the policies you can associate.", policyArn)
	}
	if deref(a.V.Type) != "STANDARD" {
		return ekstypes.AssociatedAccessPolicy{}, errf(400, "InvalidRequestException", "Access policies can only be associated with access entries of type STANDARD.")
	}
	if scope == nil {
		return ekstypes.AssociatedAccessPolicy{}, badParam("accessScope is required")
	}
	switch scope.Type {
	case ekstypes.AccessScopeTypeCluster:
		if len(scope.Namespaces) > 0 {
			return ekstypes.AssociatedAccessPolicy{}, badParam("Namespaces can't be specified for an access scope of type cluster.")
		}
	case ekstypes.AccessScopeTypeNamespace:
		if len(scope.Namespaces) == 0 {
			return ekstypes.AssociatedAccessPolicy{}, badParam("At least one namespace is required for an access scope of type namespace.")
		}
	default:
		return ekstypes.AssociatedAccessPolicy{}, badParam("The access scope type %q is invalid: use cluster or namespace.", scope.Type)
	}
	now := e.env.Now().UTC()
	p, had := a.Policies[policyArn]
	if !had {
		p = ekstypes.AssociatedAccessPolicy{PolicyArn: ptr(policyArn), AssociatedAt: ptr(now)}
	}
	p.AccessScope = &ekstypes.AccessScope{Type: scope.Type, Namespaces: nonNil(scope.Namespaces)}
	p.ModifiedAt = ptr(now)
	a.Policies[policyArn] = p
	return p, nil
}

// bootstrapCreatorAccess gives the cluster creator an access entry with
// AmazonEKSClusterAdminPolicy, as EKS does for clusters whose
// authentication mode uses access entries when
// bootstrapClusterCreatorAdminPermissions is true.
func (e *Emulator) bootstrapCreatorAccess(c *clusterRec, region string) {
	if !c.usesAccessEntries() || !deref(c.V.AccessConfig.BootstrapClusterCreatorAdminPermissions) || c.Creator == "" {
		return
	}
	a, aerr := e.newAccessEntry(c, region, &eks.CreateAccessEntryInput{PrincipalArn: ptr(c.Creator)})
	if aerr != nil {
		return // the creator's ARN always makes a valid entry
	}
	_, _ = e.associate(a, accessPolicyARN+"AmazonEKSClusterAdminPolicy", &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster})
}

// nodeRoleAccess gives a managed node group's role the access entry EKS
// makes for it when the authentication mode uses access entries (type
// EC2_LINUX, or EC2_WINDOWS for Windows AMIs), unless the role has one.
func (e *Emulator) nodeRoleAccess(c *clusterRec, region string, ng ekstypes.Nodegroup) {
	role := deref(ng.NodeRole)
	if _, ok := c.AccessEntries[role]; ok || !c.usesAccessEntries() {
		return
	}
	typ := "EC2_LINUX"
	if strings.Contains(string(ng.AmiType), "WINDOWS") {
		typ = "EC2_WINDOWS"
	}
	_, _ = e.newAccessEntry(c, region, &eks.CreateAccessEntryInput{PrincipalArn: ptr(role), Type: ptr(typ)}) // the node role was checked
}

// kubeUser maps the IAM principal a token proves to the Kubernetes user
// the cluster knows it as: its access entry's username and groups (plus
// one group per access policy associated at cluster scope) when the
// authentication mode uses access entries; the creator as
// kubernetes-admin in system:masters under CONFIG_MAP (the aws-auth
// ConfigMap is not read).
func (c *clusterRec) kubeUser(p principal, account string) (emu.KubeUser, error) {
	uid := "aws-iam-authenticator:" + account + ":" + p.UserID
	if c.usesAccessEntries() {
		if a, ok := c.AccessEntries[p.iamArn()]; ok {
			groups := append([]string{}, a.V.KubernetesGroups...)
			for _, pol := range sortedKeys(a.Policies) {
				name, scope := strings.TrimPrefix(pol, accessPolicyARN), a.Policies[pol].AccessScope
				if scope.Type == ekstypes.AccessScopeTypeCluster {
					groups = append(groups, AccessPolicyGroup(name))
				}
				for _, ns := range scope.Namespaces {
					groups = append(groups, NamespacePolicyGroup(name, ns))
				}
			}
			return emu.KubeUser{Name: strings.ReplaceAll(deref(a.V.Username), "{{SessionName}}", p.User), UID: uid, Groups: groups}, nil
		}
	}
	if c.V.AccessConfig.AuthenticationMode == ekstypes.AuthenticationModeConfigMap && p.iamArn() == c.Creator {
		return emu.KubeUser{Name: "kubernetes-admin", UID: uid, Groups: []string{"system:masters"}}, nil
	}
	return emu.KubeUser{}, fmt.Errorf("%s has no access entry in cluster %s (authentication mode %s)", p.Arn, deref(c.V.Name), c.V.AccessConfig.AuthenticationMode)
}

// accessOp answers the access-entry operations.
func (e *Emulator) accessOp(op string, labels map[string]string, q url.Values, call emu.Call, region string) (smithy.Serializable, bool, *apiErr) {
	if op == "ListAccessPolicies" {
		var names []string
		for _, n := range sortedKeys(accessPolicies) {
			names = append(names, accessPolicyARN+n)
		}
		page, next, aerr := paginate(names, q)
		if aerr != nil {
			return nil, false, aerr
		}
		out := &eks.ListAccessPoliciesOutput{AccessPolicies: []ekstypes.AccessPolicy{}, NextToken: next}
		for _, arn := range page {
			out.AccessPolicies = append(out.AccessPolicies, ekstypes.AccessPolicy{Arn: ptr(arn), Name: ptr(strings.TrimPrefix(arn, accessPolicyARN))})
		}
		return out, false, nil
	}
	c, aerr := e.cluster(region, labels["clusterName"])
	if aerr != nil {
		return nil, false, aerr
	}
	if !c.usesAccessEntries() {
		return nil, false, errf(400, "InvalidRequestException", "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.")
	}
	now := e.env.Now().UTC()
	switch op {
	case "CreateAccessEntry":
		var in eks.CreateAccessEntryInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		a, aerr := e.newAccessEntry(c, region, &in)
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.CreateAccessEntryOutput{AccessEntry: ptr(a.V)}, true, nil

	case "ListAccessEntries":
		var arns []string
		want := q.Get("associatedPolicyArn")
		for _, arn := range sortedKeys(c.AccessEntries) {
			if _, ok := c.AccessEntries[arn].Policies[want]; want == "" || ok {
				arns = append(arns, arn)
			}
		}
		page, next, aerr := paginate(arns, q)
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.ListAccessEntriesOutput{AccessEntries: page, NextToken: next}, false, nil
	}
	a, aerr := c.entry(labels["principalArn"])
	if aerr != nil {
		return nil, false, aerr
	}
	switch op {
	case "DescribeAccessEntry":
		return &eks.DescribeAccessEntryOutput{AccessEntry: ptr(a.V)}, false, nil

	case "UpdateAccessEntry":
		var in eks.UpdateAccessEntryInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		username, groups := deref(a.V.Username), a.V.KubernetesGroups
		if in.Username != nil {
			username = *in.Username
		}
		if in.KubernetesGroups != nil {
			groups = in.KubernetesGroups
		}
		if deref(a.V.Type) != "STANDARD" && (in.Username != nil || in.KubernetesGroups != nil) {
			return nil, false, badParam("The username and kubernetesGroups of a %s access entry cannot be changed.", deref(a.V.Type))
		}
		if aerr := checkK8sNames(deref(a.V.Type), username, groups); aerr != nil {
			return nil, false, aerr
		}
		a.V.Username, a.V.KubernetesGroups, a.V.ModifiedAt = ptr(username), nonNil(groups), ptr(now)
		return &eks.UpdateAccessEntryOutput{AccessEntry: ptr(a.V)}, true, nil

	case "DeleteAccessEntry":
		delete(c.AccessEntries, labels["principalArn"])
		return &eks.DeleteAccessEntryOutput{}, true, nil

	case "AssociateAccessPolicy":
		var in eks.AssociateAccessPolicyInput
		if aerr := decode(call.Body, &in); aerr != nil {
			return nil, false, aerr
		}
		p, aerr := e.associate(a, deref(in.PolicyArn), in.AccessScope)
		if aerr != nil {
			return nil, false, aerr
		}
		return &eks.AssociateAccessPolicyOutput{ClusterName: c.V.Name, PrincipalArn: a.V.PrincipalArn, AssociatedAccessPolicy: &p}, true, nil

	case "DisassociateAccessPolicy":
		if _, ok := a.Policies[labels["policyArn"]]; !ok {
			return nil, false, notFound("The specified policy is not associated with this access entry.", map[string]string{"clusterName": deref(c.V.Name)})
		}
		delete(a.Policies, labels["policyArn"])
		return &eks.DisassociateAccessPolicyOutput{}, true, nil

	case "ListAssociatedAccessPolicies":
		page, next, aerr := paginate(sortedKeys(a.Policies), q)
		if aerr != nil {
			return nil, false, aerr
		}
		out := &eks.ListAssociatedAccessPoliciesOutput{ClusterName: c.V.Name, PrincipalArn: a.V.PrincipalArn, NextToken: next,
			AssociatedAccessPolicies: []ekstypes.AssociatedAccessPolicy{}}
		for _, arn := range page {
			out.AssociatedAccessPolicies = append(out.AssociatedAccessPolicies, a.Policies[arn])
		}
		return out, false, nil
	}
	return nil, false, errf(404, "NotFoundException", "Unknown operation %s", op)
}

// clusterAccessDefaults validates a CreateCluster's access configuration
// and upgrade policy and fills in EKS's defaults: authentication mode
// CONFIG_MAP (the API's default; the console's is API_AND_CONFIG_MAP),
// bootstrapClusterCreatorAdminPermissions true (false only with a mode that
// uses access entries), support type EXTENDED.
func clusterAccessDefaults(in *eks.CreateClusterInput) (*ekstypes.AccessConfigResponse, *ekstypes.UpgradePolicyResponse, *apiErr) {
	access := &ekstypes.AccessConfigResponse{AuthenticationMode: ekstypes.AuthenticationModeConfigMap, BootstrapClusterCreatorAdminPermissions: ptr(true)}
	if ac := in.AccessConfig; ac != nil {
		if ac.AuthenticationMode != "" {
			if !slices.Contains(ac.AuthenticationMode.Values(), ac.AuthenticationMode) {
				return nil, nil, badParam("The authenticationMode %q is invalid: use API, API_AND_CONFIG_MAP or CONFIG_MAP.", ac.AuthenticationMode)
			}
			access.AuthenticationMode = ac.AuthenticationMode
		}
		if ac.BootstrapClusterCreatorAdminPermissions != nil {
			access.BootstrapClusterCreatorAdminPermissions = ptr(*ac.BootstrapClusterCreatorAdminPermissions)
		}
	}
	if access.AuthenticationMode == ekstypes.AuthenticationModeConfigMap && !*access.BootstrapClusterCreatorAdminPermissions {
		return nil, nil, badParam("bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode is set to CONFIG_MAP")
	}
	upgrade := &ekstypes.UpgradePolicyResponse{SupportType: ekstypes.SupportTypeExtended}
	if up := in.UpgradePolicy; up != nil && up.SupportType != "" {
		if !slices.Contains(up.SupportType.Values(), up.SupportType) {
			return nil, nil, badParam("The supportType %q is invalid: use STANDARD or EXTENDED.", up.SupportType)
		}
		upgrade.SupportType = up.SupportType
	}
	return access, upgrade, nil
}

// authModeSteps are the authentication mode changes EKS allows: towards
// access entries only, one step at a time.
var authModeSteps = map[ekstypes.AuthenticationMode]ekstypes.AuthenticationMode{
	ekstypes.AuthenticationModeConfigMap:       ekstypes.AuthenticationModeApiAndConfigMap,
	ekstypes.AuthenticationModeApiAndConfigMap: ekstypes.AuthenticationModeApi,
}

// updateClusterAccess is UpdateClusterConfig with accessConfig,
// upgradePolicy or deletionProtection.
func (e *Emulator) updateClusterAccess(c *clusterRec, in *eks.UpdateClusterConfigInput, fail bool) (*updateRec, *apiErr) {
	const op = "eks:UpdateClusterConfig"
	switch {
	case in.AccessConfig != nil:
		from, to := c.V.AccessConfig.AuthenticationMode, in.AccessConfig.AuthenticationMode
		if to == from {
			return nil, badParam("Unsupported authentication mode update from %s to %s", from, to)
		}
		if authModeSteps[from] != to {
			return nil, badParam("Unsupported authentication mode update from %s to %s: it can only change from CONFIG_MAP to API_AND_CONFIG_MAP to API.", from, to)
		}
		c.V.AccessConfig.AuthenticationMode = to
		if from == ekstypes.AuthenticationModeConfigMap {
			e.bootstrapCreatorAccess(c, c.Region) // the creator keeps its admin access
		}
		e.nudgeAccessController(e.clusterKey(c.Region, deref(c.V.Name)))
		return e.newUpdate(c, op, ekstypes.UpdateTypeAccessConfigUpdate, fail, param(ekstypes.UpdateParamTypeAuthenticationMode, string(to))), nil
	case in.UpgradePolicy != nil:
		if !slices.Contains(in.UpgradePolicy.SupportType.Values(), in.UpgradePolicy.SupportType) {
			return nil, badParam("The supportType %q is invalid: use STANDARD or EXTENDED.", in.UpgradePolicy.SupportType)
		}
		c.V.UpgradePolicy = &ekstypes.UpgradePolicyResponse{SupportType: in.UpgradePolicy.SupportType}
		return e.newUpdate(c, op, ekstypes.UpdateTypeUpgradePolicyUpdate, fail, param(ekstypes.UpdateParamTypeUpgradePolicy, string(in.UpgradePolicy.SupportType))), nil
	}
	c.V.DeletionProtection = ptr(*in.DeletionProtection)
	return e.newUpdate(c, op, ekstypes.UpdateTypeDeletionProtectionUpdate, fail, param(ekstypes.UpdateParamTypeDeletionProtection, strconv.FormatBool(*in.DeletionProtection))), nil
}
