package gcp

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/oauth2"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// spec.access on GKE, as a GKE user sets it up by hand: every principal
// gets roles/container.clusterViewer on the project (so `gcloud container
// clusters get-credentials` works for it and the API server lets it in),
// and inside the cluster a ClusterRoleBinding to cluster-admin or view,
// whose subject is the principal's email — a User for user: and
// serviceAccount:, a Group for group:, which needs Google Groups for RBAC
// (the cluster's security group, spec.overrides.gcp.securityGroup).

// TypeProjectIAMMember is one member of one role in a project's IAM
// policy, as Terraform's google_project_iam_member.
const TypeProjectIAMMember = "gcp_project_iam_member"

// RoleClusterViewer is the IAM role every spec.access principal gets: it
// lets them fetch the cluster's endpoint and reach its API server, and
// nothing more; RBAC gives the rest.
const RoleClusterViewer = "roles/container.clusterViewer"

// clusterRole is the Kubernetes ClusterRole of each spec.access role.
var clusterRole = map[string]string{spec.AccessAdmin: kubernetes.RoleClusterAdmin, spec.AccessViewer: kubernetes.RoleView}

// memberEmail is an IAM member that names a Google account, group or
// service account by email.
var memberEmail = regexp.MustCompile(`^(user|group|serviceAccount):([a-z0-9][a-z0-9._%+'-]*@[a-z0-9-]+(\.[a-z0-9-]+)+)$`)

// securityGroupName is the only group name Google Groups for RBAC takes.
var securityGroupName = regexp.MustCompile(`^gke-security-groups@[a-z0-9-]+(\.[a-z0-9-]+)+$`)

// memberKinds are the IAM member kinds spec.access takes, by their
// lowercase spelling.
var memberKinds = map[string]string{"user": "user", "group": "group", "serviceaccount": "serviceAccount"}

// checkPrincipal says what is wrong with p as a GKE principal, with a fix.
// group: principals also need the cluster's security group (securityGroup,
// "" when the cluster has none).
func checkPrincipal(p string, securityGroup string) (problem, fix string) {
	if m := memberEmail.FindStringSubmatch(p); m != nil {
		if m[1] == "group" && securityGroup == "" {
			return fmt.Sprintf("%q is a Google group: GKE sees a user's groups only with Google Groups for RBAC", p),
				"set spec.overrides.gcp.securityGroup: gke-security-groups@YOUR-DOMAIN (the group that contains " + m[2] + "), or list the group's members as user: principals"
		}
		return "", ""
	}
	kind, rest, hasKind := strings.Cut(p, ":")
	switch {
	case strings.HasPrefix(p, "arn:"):
		return fmt.Sprintf("%q is an AWS principal", p), "on GCP, write an IAM member, e.g. user:alice@example.com or group:ops@example.com"
	case !hasKind && strings.Contains(p, "@"):
		fix := fmt.Sprintf("write %q (or group:%s for a Google group)", "user:"+strings.ToLower(p), strings.ToLower(p))
		if strings.HasSuffix(strings.ToLower(p), ".gserviceaccount.com") {
			fix = fmt.Sprintf("write %q", "serviceAccount:"+strings.ToLower(p))
		}
		return fmt.Sprintf("%q has no member kind", p), fix
	case (kind == "user" || kind == "group" || kind == "serviceAccount") && memberEmail.MatchString(kind+":"+strings.ToLower(rest)):
		return fmt.Sprintf("%q has capital letters: GKE names users by their email in lowercase", p), fmt.Sprintf("write %q", kind+":"+strings.ToLower(rest))
	case memberKinds[strings.ToLower(kind)] != "":
		if !strings.Contains(rest, "@") {
			return fmt.Sprintf("%q does not name an email", p), "on GCP, a principal is an email with its kind, e.g. group:ops@example.com (Entra object IDs are Azure's)"
		}
		return fmt.Sprintf("%q: the member kind is user, group or serviceAccount, spelt so", p), fmt.Sprintf("write %q", memberKinds[strings.ToLower(kind)]+":"+strings.ToLower(rest))
	case kind == "domain" || p == "allUsers" || p == "allAuthenticatedUsers":
		return fmt.Sprintf("%q grants a whole domain or everyone", p), "name users, groups or service accounts; RBAC cannot bind a domain"
	case strings.HasPrefix(p, "principal://") || strings.HasPrefix(p, "principalSet://"):
		return fmt.Sprintf("%q is a workload identity federation principal", p), "regionctl maps Google accounts, groups and service accounts: write user:, group: or serviceAccount:"
	}
	return fmt.Sprintf("%q is not an IAM member", p), "write user:EMAIL, group:EMAIL or serviceAccount:EMAIL, e.g. user:alice@example.com"
}

// subject is the RBAC subject GKE authenticates a member as: its email, a
// Group for group:, else a User.
func subject(member string) kubernetes.Subject {
	kind, email, _ := strings.Cut(member, ":")
	if kind == "group" {
		return kubernetes.Subject{Kind: kubernetes.SubjectGroup, Name: email}
	}
	return kubernetes.Subject{Kind: kubernetes.SubjectUser, Name: email}
}

// accessName is the address name of a principal's resources: its email's
// local part, made a DNS label, and a hash of the whole member. It does
// not depend on the role, so moving a principal between admins and
// viewers keeps its IAM member and replaces only its binding.
func accessName(member string) string {
	_, email, _ := strings.Cut(member, ":")
	local, _, _ := strings.Cut(email, "@")
	return providers.PrincipalName(local, member)
}

// bindingName is the ClusterRoleBinding of a member with a ClusterRole:
// "regionctl-access:view:user:alice@example.com". The role is part of the
// name, so a new role is a new binding, made before the old one goes.
func bindingName(role, member string) string { return "regionctl-access:" + role + ":" + member }

// expandAccess adds, per spec.access principal, its project IAM member
// and its ClusterRoleBinding in the cluster; bad principals are
// diagnostics at their entry.
func expandAccess(r *spec.Region, project, securityGroup, cluster string, add func(providers.Resource), ds diag.Diagnostics) diag.Diagnostics {
	refs := clusterRefs(r, cluster)
	for _, g := range r.Spec.Access.Grants() {
		if problem, fix := checkPrincipal(g.Principal, securityGroup); problem != "" {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(g.Path), Path: g.Path, Summary: problem, Fix: fix})
			continue
		}
		name := accessName(g.Principal)
		add(providers.Resource{
			Address: providers.Address(r.Metadata.Name, TypeProjectIAMMember, name), Type: TypeProjectIAMMember,
			Inputs: providers.Values{"project": project, "role": RoleClusterViewer, "member": g.Principal},
		})
		role := clusterRole[g.Role]
		add(kubernetes.ClusterRoleBindingResource(r.Metadata.Name, name, refs, bindingName(role, g.Principal), role, subject(g.Principal)))
	}
	return ds
}

// ---- the cluster's security group (Google Groups for RBAC) ----

// checkSecurityGroup says what is wrong with the securityGroup override.
func checkSecurityGroup(g string) (problem, fix string) {
	if securityGroupName.MatchString(g) {
		return "", ""
	}
	fix = "write gke-security-groups@YOUR-DOMAIN: GKE takes only a group of that name, which contains the groups you grant access"
	if _, domain, ok := strings.Cut(g, "@"); ok && domain != "" {
		fix = fmt.Sprintf("write %q: GKE takes only a group of that name, which contains the groups you grant access", "gke-security-groups@"+strings.ToLower(domain))
	}
	return fmt.Sprintf("%q is not a Google Groups for RBAC security group", g), fix
}

// ---- gcp_project_iam_member ----
//
// A member's ID is "PROJECT ROLE MEMBER", as `terraform import` names a
// google_project_iam_member. It owns that member in that role and nothing
// else: creating and deleting it edit the project's policy by
// read-modify-write with its etag, touching no other member or role.
//
// Like Terraform's google_project_iam_member, two regions in one project
// that list the same principal share its one member: deleting either
// region's removes it, and the other region's next plan shows it missing
// (drift) and adds it again.

type iamMemberIn struct {
	Project string `kit:"project,replace" why:"a grant lives in one project's policy"`
	Role    string `kit:"role,replace" why:"a grant is of one role"`
	Member  string `kit:"member,replace" why:"a grant is of one principal"`
}

type iamMemberOut struct {
	ID string `kit:"id"`
}

type iamMemberCall = call[iamMemberIn, iamMemberOut]

type iamMemberHandler struct{}

func iamMemberID(in iamMemberIn) string { return in.Project + " " + in.Role + " " + in.Member }

// parseIAMMemberID reads an ID written by iamMemberID.
func parseIAMMemberID(id string) (iamMemberIn, bool) {
	p := strings.Fields(id)
	if len(p) != 3 {
		return iamMemberIn{}, false
	}
	return iamMemberIn{Project: p[0], Role: p[1], Member: p[2]}, true
}

// hasMember reports whether the policy grants role to member without a
// condition.
func hasMember(p *crm.Policy, role, member string) bool {
	for _, b := range p.Bindings {
		if b.Role == role && b.Condition == nil && slices.Contains(b.Members, member) {
			return true
		}
	}
	return false
}

// addMember grants role to member in p (in the role's unconditional
// binding, made when there is none) and reports whether p changed.
func addMember(p *crm.Policy, role, member string) bool {
	if hasMember(p, role, member) {
		return false
	}
	for _, b := range p.Bindings {
		if b.Role == role && b.Condition == nil {
			b.Members = append(b.Members, member)
			return true
		}
	}
	p.Bindings = append(p.Bindings, &crm.Binding{Role: role, Members: []string{member}})
	return true
}

// removeMember takes member out of role's unconditional binding, drops
// the binding when it is left empty, and reports whether p changed.
// Conditional bindings and every other member are left alone.
func removeMember(p *crm.Policy, role, member string) bool {
	changed := false
	p.Bindings = slices.DeleteFunc(p.Bindings, func(b *crm.Binding) bool {
		if b.Role != role || b.Condition != nil || !slices.Contains(b.Members, member) {
			return false
		}
		b.Members = slices.DeleteFunc(b.Members, func(m string) bool { return m == member })
		changed = true
		return len(b.Members) == 0
	})
	return changed
}

// policyVersion is the IAM policy version the driver reads and writes:
// 3, so a policy with conditional bindings is read whole and written
// back unchanged.
const policyVersion = 3

// getPolicy reads project's IAM policy.
func (e *env) getPolicy(ctx context.Context, project string) (*crm.Policy, error) {
	var p *crm.Policy
	err := e.d.retry(ctx, func() (err error) {
		p, err = e.cl.crm.Projects.GetIamPolicy("projects/"+project,
			&crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: policyVersion}}).Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get the IAM policy of project %s: %w", project, err)
	}
	return p, nil
}

// isConcurrentChange reports whether setIamPolicy was refused because the
// policy changed since it was read (409 ABORTED, a stale etag).
func isConcurrentChange(err error) bool { return httpCode(err) == http.StatusConflict }

// editPolicy applies edit to project's IAM policy by read-modify-write:
// it reads the policy, lets edit change it, and writes it back with the
// etag it read, only the bindings (never the audit configuration). When
// someone else changed the policy in between, Google refuses the write
// (409 ABORTED) and the whole read-modify-write is done again. The
// driver's own edits of one project wait for each other.
func (e *env) editPolicy(ctx context.Context, project string, edit func(*crm.Policy) bool) error {
	return e.d.policyEdits.Do(ctx, project, func() error {
		return e.d.retryIf(ctx, isConcurrentChange, func() error {
			p, err := e.getPolicy(ctx, project)
			if err != nil {
				return err
			}
			if !edit(p) {
				return nil
			}
			if p.Version < policyVersion && slices.ContainsFunc(p.Bindings, func(b *crm.Binding) bool { return b.Condition != nil }) {
				p.Version = policyVersion
			}
			err = e.d.retry(ctx, func() error {
				_, err := e.cl.crm.Projects.SetIamPolicy("projects/"+project,
					&crm.SetIamPolicyRequest{Policy: p, UpdateMask: "bindings,etag"}).Context(ctx).Do()
				return err
			})
			if err != nil {
				return fmt.Errorf("set the IAM policy of project %s: %w", project, err)
			}
			return nil
		})
	})
}

// Find adopts a member the policy already grants: an IAM member has no
// labels, so, as in Terraform, the grant is its own identity.
func (h iamMemberHandler) Find(ctx context.Context, c *iamMemberCall) (string, error) {
	p, err := c.Env.getPolicy(ctx, c.In.Project)
	if err != nil || !hasMember(p, c.In.Role, c.In.Member) {
		return "", err
	}
	return iamMemberID(c.In), nil
}

func (h iamMemberHandler) Create(ctx context.Context, c *iamMemberCall) (string, error) {
	in := c.In
	if err := c.Env.editPolicy(ctx, in.Project, func(p *crm.Policy) bool { return addMember(p, in.Role, in.Member) }); err != nil {
		return "", fmt.Errorf("grant %s %s: %w", in.Member, in.Role, err)
	}
	return iamMemberID(in), nil
}

func (h iamMemberHandler) Read(ctx context.Context, c *iamMemberCall) (*kit.Live[iamMemberIn, iamMemberOut], error) {
	in, ok := parseIAMMemberID(c.ID)
	if !ok {
		return nil, nil // no member has such an ID
	}
	p, err := c.Env.getPolicy(ctx, in.Project)
	if err != nil {
		return nil, err
	}
	return h.live(ctx, c, p)
}

// live is the member c.ID as policy p shows it: found when p grants it.
func (h iamMemberHandler) live(_ context.Context, c *iamMemberCall, p *crm.Policy) (*kit.Live[iamMemberIn, iamMemberOut], error) {
	in, ok := parseIAMMemberID(c.ID)
	if !ok || !hasMember(p, in.Role, in.Member) {
		return nil, nil
	}
	return c.Found(in, iamMemberOut{ID: iamMemberID(in)}), nil
}

func (h iamMemberHandler) Delete(ctx context.Context, c *iamMemberCall) error {
	in, ok := parseIAMMemberID(c.ID)
	if !ok {
		return nil // no member has such an ID
	}
	if err := c.Env.editPolicy(ctx, in.Project, func(p *crm.Policy) bool { return removeMember(p, in.Role, in.Member) }); err != nil {
		return fmt.Errorf("revoke %s %s: %w", in.Member, in.Role, err)
	}
	return nil
}

// ImportID accepts Terraform's form "PROJECT ROLE MEMBER", or the member
// alone (the resource's project and role).
func (h iamMemberHandler) ImportID(_ context.Context, c *iamMemberCall) (string, error) {
	if in, ok := parseIAMMemberID(c.ID); ok {
		return iamMemberID(in), nil
	}
	if memberEmail.MatchString(c.ID) && c.In.Project != "" && c.In.Role != "" {
		return iamMemberID(iamMemberIn{Project: c.In.Project, Role: c.In.Role, Member: c.ID}), nil
	}
	return "", kit.Classed(fmt.Errorf("%q is not an IAM member ID: write \"PROJECT ROLE MEMBER\", e.g. \"my-project %s user:alice@example.com\"", c.ID, RoleClusterViewer), providers.ErrPermanent)
}

// ReadMany reads each project's policy once for all its members.
func (h iamMemberHandler) ReadMany(ctx context.Context, calls []*iamMemberCall) ([]*kit.Live[iamMemberIn, iamMemberOut], error) {
	out := make([]*kit.Live[iamMemberIn, iamMemberOut], len(calls))
	byProject := map[string][]int{}
	var order []string
	for i, c := range calls {
		in, ok := parseIAMMemberID(c.ID)
		if !ok {
			continue // gone: no member has such an ID
		}
		p := in.Project
		if _, ok := byProject[p]; !ok {
			order = append(order, p)
		}
		byProject[p] = append(byProject[p], i)
	}
	for _, project := range order {
		idx := byProject[project]
		p, err := calls[idx[0]].Env.getPolicy(ctx, project)
		if err != nil {
			return nil, err
		}
		found := map[string]*crm.Policy{}
		for _, i := range idx {
			found[calls[i].ID] = p
		}
		if err := kit.Fill(ctx, out, calls, idx, found, func(c *iamMemberCall) string { return c.ID }, h.live); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- the Resource Manager client ----

// newResourceManager is the Cloud Resource Manager v3 client (REST, what
// gcloud uses for project IAM policies): on the sandbox's Compute endpoint
// with the sandbox's tokens, else Google's with ADC.
func (d *Driver) newResourceManager(ctx context.Context) (*crm.Service, error) {
	var opts []option.ClientOption
	if d.sandbox {
		hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, adcTokens{d}), Base: http.DefaultTransport}}
		opts = []option.ClientOption{option.WithEndpoint(d.computeEndpoint + "/"), option.WithHTTPClient(hc)}
	} else {
		t, err := htransport.NewTransport(ctx, http.DefaultTransport, option.WithScopes("https://www.googleapis.com/auth/cloud-platform"))
		if err != nil {
			return nil, fmt.Errorf("gcp: credentials for Resource Manager (Application Default Credentials): %w", err)
		}
		opts = []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: t})}
	}
	s, err := crm.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcp: Resource Manager client: %w", err)
	}
	return s, nil
}
