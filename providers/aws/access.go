package aws

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/spec"
)

// spec.access on EKS: the cluster's authentication mode is
// API_AND_CONFIG_MAP (access entries on, the aws-auth ConfigMap still
// read, as eksctl creates clusters), and every principal gets an access
// entry with one EKS access policy at cluster scope.

// TypeEKSAccessEntry is an EKS access entry with its access policies.
const TypeEKSAccessEntry = "aws_eks_access_entry"

// EKS authentication modes and the access policies spec.access maps onto.
const (
	AuthModeAPIAndConfigMap = "API_AND_CONFIG_MAP"
	accessPolicyPrefix      = "arn:aws:eks::aws:cluster-access-policy/"
	PolicyClusterAdmin      = accessPolicyPrefix + "AmazonEKSClusterAdminPolicy"
	PolicyView              = accessPolicyPrefix + "AmazonEKSViewPolicy"
)

// accessPolicy is the access policy of each spec.access role.
var accessPolicy = map[string]string{spec.AccessAdmin: PolicyClusterAdmin, spec.AccessViewer: PolicyView}

// principalARN is what EKS accepts as an access entry's principal: an IAM
// role or user ARN of the aws partition.
var principalARN = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]{1,512}$`)

// assumedRoleARN is an STS session ARN, which EKS refuses as a principal.
var assumedRoleARN = regexp.MustCompile(`^arn:aws:sts::([0-9]{12}):assumed-role/([\w+=,.@-]+)/`)

// checkPrincipal says what is wrong with p as an EKS principal, with a fix.
func checkPrincipal(p string) (problem, fix string) {
	if principalARN.MatchString(p) {
		return "", ""
	}
	if m := assumedRoleARN.FindStringSubmatch(p); m != nil {
		return fmt.Sprintf("%q is an STS session, not an IAM principal", p),
			fmt.Sprintf("name the role: arn:aws:iam::%s:role/%s", m[1], m[2])
	}
	if strings.Contains(p, "@") || strings.Contains(p, ":") && !strings.HasPrefix(p, "arn:") {
		return fmt.Sprintf("%q is not an AWS principal", p), "on AWS, write an IAM role or user ARN, e.g. arn:aws:iam::111122223333:role/platform-admin"
	}
	return fmt.Sprintf("%q is not an IAM role or user ARN", p), "write arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME"
}

// accessEntryName is the address name of a principal's entry: the last
// part of its ARN, made a DNS label, and a hash of the whole ARN. It does
// not depend on the role, so moving a principal between admins and
// viewers changes its policy in place.
func accessEntryName(principal string) string {
	return providers.PrincipalName(principal[strings.LastIndexAny(principal, "/:")+1:], principal)
}

// expandAccess adds an access entry per spec.access principal.
func expandAccess(r *spec.Region, loc, cluster string, add func(providers.Resource), ds diag.Diagnostics) diag.Diagnostics {
	for _, g := range r.Spec.Access.Grants() {
		if problem, fix := checkPrincipal(g.Principal); problem != "" {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(g.Path), Path: g.Path, Summary: problem, Fix: fix})
			continue
		}
		add(providers.Resource{
			Address: providers.Address(r.Metadata.Name, TypeEKSAccessEntry, accessEntryName(g.Principal)), Type: TypeEKSAccessEntry,
			Inputs: providers.Values{
				"location": loc, "cluster_name": providers.Ref(cluster, "id"), "principal_arn": g.Principal,
				"policy_arns": []any{accessPolicy[g.Role]},
			},
		})
	}
	return ds
}

// ---- aws_eks_access_entry ----
//
// An access entry's ID is its principal ARN; its cluster comes from the
// cluster_name input. Its access policies are associated at cluster scope.

type accessEntryIn struct {
	Location     string   `kit:"location,replace" why:"an access entry lives in one AWS region"`
	ClusterName  string   `kit:"cluster_name,replace" why:"an access entry belongs to one cluster"`
	PrincipalARN string   `kit:"principal_arn,replace" why:"EKS cannot change an access entry's principal"`
	PolicyARNs   []string `kit:"policy_arns,set"`
}

type accessEntryOut struct {
	ID             string `kit:"id"`
	AccessEntryARN string `kit:"access_entry_arn"`
	Username       string `kit:"username"`
}

type accessEntryCall = call[accessEntryIn, accessEntryOut]

type accessEntryHandler struct{}

func (h accessEntryHandler) describe(ctx context.Context, c *accessEntryCall, principal string) (*ekstypes.AccessEntry, error) {
	out, err := c.Env.cl.eks.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{
		ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), PrincipalArn: aws.String(principal)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.AccessEntry, nil
}

func (h accessEntryHandler) Find(ctx context.Context, c *accessEntryCall) (string, error) {
	if c.In.ClusterName == "" || c.In.PrincipalARN == "" {
		return "", nil
	}
	e, err := h.describe(ctx, c, c.In.PrincipalARN)
	if err != nil || e == nil || !matchTags(c.Meta, e.Tags) {
		return "", err
	}
	return c.In.PrincipalARN, nil
}

// Create makes the entry and associates its policies. An entry EKS made
// itself for the principal (the cluster's creator, when it is also listed
// in spec.access) is taken over: regionctl sets its policies and, on
// delete, removes it — the creator then keeps only what spec.access says.
func (h accessEntryHandler) Create(ctx context.Context, c *accessEntryCall) (string, error) {
	principal := c.In.PrincipalARN
	e, err := h.describe(ctx, c, principal)
	if err != nil {
		return "", err
	}
	if e != nil && e.Tags[TagAddress] != "" && !matchTags(c.Meta, e.Tags) {
		return "", fmt.Errorf("EKS access entry for %s already exists in cluster %s and was made by %s", principal, c.In.ClusterName, e.Tags[TagAddress])
	}
	if e == nil {
		_, err := c.Env.cl.eks.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{
			ClusterName: aws.String(c.In.ClusterName), PrincipalArn: aws.String(principal),
			Type: aws.String("STANDARD"), Tags: tags(c.Meta), ClientRequestToken: clientToken(c.Meta),
		})
		if err != nil && errCode(err) != "ResourceInUseException" {
			return "", fmt.Errorf("create the access entry of %s: %w", principal, err)
		}
	}
	c.ID = principal
	return principal, h.syncPolicies(ctx, c)
}

// syncPolicies associates the wanted policies at cluster scope and
// disassociates the others.
func (h accessEntryHandler) syncPolicies(ctx context.Context, c *accessEntryCall) error {
	have, err := h.policies(ctx, c)
	if err != nil {
		return err
	}
	for _, p := range c.In.PolicyARNs {
		if have[p] {
			continue
		}
		if _, err := c.Env.cl.eks.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{
			ClusterName: aws.String(c.In.ClusterName), PrincipalArn: aws.String(c.ID), PolicyArn: aws.String(p),
			AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster},
		}); err != nil {
			return fmt.Errorf("associate %s with %s: %w", p, c.ID, err)
		}
	}
	for p := range have {
		if slices.Contains(c.In.PolicyARNs, p) {
			continue
		}
		if _, err := c.Env.cl.eks.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{
			ClusterName: aws.String(c.In.ClusterName), PrincipalArn: aws.String(c.ID), PolicyArn: aws.String(p),
		}); err != nil && !isNotFound(err) {
			return fmt.Errorf("disassociate %s from %s: %w", p, c.ID, err)
		}
	}
	return nil
}

// policies are the access policies associated with the entry c.ID, at
// cluster scope or not.
func (h accessEntryHandler) policies(ctx context.Context, c *accessEntryCall) (map[string]bool, error) {
	have := map[string]bool{}
	p := eks.NewListAssociatedAccessPoliciesPaginator(c.Env.cl.eks, &eks.ListAssociatedAccessPoliciesInput{
		ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), PrincipalArn: aws.String(c.ID)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the access policies of %s: %w", c.ID, err)
		}
		for _, a := range out.AssociatedAccessPolicies {
			have[aws.ToString(a.PolicyArn)] = true
		}
	}
	return have, nil
}

func (h accessEntryHandler) Read(ctx context.Context, c *accessEntryCall) (*kit.Live[accessEntryIn, accessEntryOut], error) {
	e, err := h.describe(ctx, c, c.ID)
	if err != nil || e == nil {
		return nil, err
	}
	have, err := h.policies(ctx, c)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	in := accessEntryIn{Location: c.In.Location, ClusterName: aws.ToString(e.ClusterName), PrincipalARN: aws.ToString(e.PrincipalArn), PolicyARNs: []string{}}
	in.PolicyARNs = append(in.PolicyARNs, slices.Sorted(maps.Keys(have))...)
	return c.Found(in, accessEntryOut{ID: c.ID, AccessEntryARN: aws.ToString(e.AccessEntryArn), Username: aws.ToString(e.Username)}), nil
}

// Update changes the entry's policies.
func (h accessEntryHandler) Update(ctx context.Context, c *accessEntryCall, _ []string) error {
	return h.syncPolicies(ctx, c)
}

func (accessEntryHandler) Delete(ctx context.Context, c *accessEntryCall) error {
	_, err := c.Env.cl.eks.DeleteAccessEntry(ctx, &eks.DeleteAccessEntryInput{
		ClusterName: aws.String(clusterOf(c.In.ClusterName, c.Prev.ClusterName)), PrincipalArn: aws.String(c.ID)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete the access entry of %s: %w", c.ID, err)
	}
	return nil
}

// accessConfig is a new cluster's access configuration: the mode asked
// for (none: the API's default, CONFIG_MAP), with the creator as admin.
func accessConfig(mode string) *ekstypes.CreateAccessConfigRequest {
	if mode == "" {
		return nil
	}
	return &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationMode(mode), BootstrapClusterCreatorAdminPermissions: aws.Bool(true)}
}

// authModeOrder is the order EKS moves authentication modes in: forward
// only.
var authModeOrder = []string{"CONFIG_MAP", AuthModeAPIAndConfigMap, "API"}

// updateAuthenticationMode moves cluster name to mode (when it is set and
// differs), which EKS allows only forward: CONFIG_MAP, then
// API_AND_CONFIG_MAP, then API. Switching away from CONFIG_MAP gives the
// cluster's creator an admin access entry.
func (e *env) updateAuthenticationMode(ctx context.Context, name string, cl *ekstypes.Cluster, mode string) error {
	have := "CONFIG_MAP"
	if cl.AccessConfig != nil && cl.AccessConfig.AuthenticationMode != "" {
		have = string(cl.AccessConfig.AuthenticationMode)
	}
	if mode == "" || mode == have {
		return nil
	}
	if slices.Index(authModeOrder, mode) < slices.Index(authModeOrder, have) {
		return fmt.Errorf("EKS cluster %s: cannot change the authentication mode from %s back to %s: EKS moves it forward only (CONFIG_MAP, API_AND_CONFIG_MAP, API)", name, have, mode)
	}
	out, err := e.cl.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{
		Name: aws.String(name), AccessConfig: &ekstypes.UpdateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationMode(mode)},
	})
	if err != nil {
		return fmt.Errorf("set the authentication mode to %s: %w", mode, err)
	}
	return e.waitUpdate(ctx, name, out.Update, "", "")
}
