package azure

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/spec"
)

// spec.access on AKS: the cluster gets AKS-managed Microsoft Entra ID
// integration with Azure RBAC for Kubernetes authorization (aadProfile
// {managed, enableAzureRBAC}), and every principal gets Azure role
// assignments at the cluster's scope: an AKS RBAC role for what it may do
// inside the cluster, and the Cluster User Role so `az aks get-credentials`
// gives it a kubeconfig.

// TypeRoleAssignment is one Azure role assignment at an AKS cluster's scope.
const TypeRoleAssignment = "azure_role_assignment"

// Built-in role definitions spec.access maps onto (their IDs are the same
// in every tenant).
const (
	RoleAKSRBACClusterAdmin = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b" // Azure Kubernetes Service RBAC Cluster Admin
	RoleAKSRBACReader       = "7f6c6a51-bcf8-42ba-9220-52d62157d7db" // Azure Kubernetes Service RBAC Reader
	RoleAKSClusterUser      = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f" // Azure Kubernetes Service Cluster User Role
)

// accessRole is one role a spec.access role maps onto, with the short name
// its resource address ends with.
type accessRole struct{ id, short string }

// accessRoles are the roles of each spec.access role.
var accessRoles = map[string][]accessRole{
	spec.AccessAdmin:  {{RoleAKSRBACClusterAdmin, "rbac-cluster-admin"}, {RoleAKSClusterUser, "cluster-user"}},
	spec.AccessViewer: {{RoleAKSRBACReader, "rbac-reader"}, {RoleAKSClusterUser, "cluster-user"}},
}

// principalKinds maps the kind a spec.access entry starts with onto the
// role assignment's principalType.
var principalKinds = map[string]armauthorization.PrincipalType{
	"user":             armauthorization.PrincipalTypeUser,
	"group":            armauthorization.PrincipalTypeGroup,
	"servicePrincipal": armauthorization.PrincipalTypeServicePrincipal,
}

// guidRE is an Entra object ID.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

const principalForms = "user:OBJECT-ID, group:OBJECT-ID or servicePrincipal:OBJECT-ID"

// parsePrincipal splits a spec.access entry into its principal type and
// lower-cased Entra object ID, or says what is wrong with it, with a fix.
func parsePrincipal(p string) (kind armauthorization.PrincipalType, objectID, problem, fix string) {
	k, id, hasKind := strings.Cut(p, ":")
	switch {
	case strings.HasPrefix(p, "arn:"):
		return "", "", fmt.Sprintf("%q is an AWS ARN, not a Microsoft Entra principal", p),
			"on Azure, write the principal's Entra object ID with its kind: " + principalForms
	case !hasKind && guidRE.MatchString(p):
		return "", "", fmt.Sprintf("%q has no kind: Azure needs to know whether the object ID is a user, a group or a service principal", p),
			fmt.Sprintf("write group:%s (or user:%[1]s, servicePrincipal:%[1]s)", p)
	case strings.Contains(p, "@"):
		email := id
		if !hasKind {
			email = p
		}
		return "", "", fmt.Sprintf("%q names an account by email; Azure role assignments name Entra object IDs", p),
			fmt.Sprintf("look the object ID up (az ad user show --id %s --query id -o tsv, or az ad group show --group NAME) and write user:OBJECT-ID or group:OBJECT-ID", email)
	case !hasKind:
		return "", "", fmt.Sprintf("%q is not an Entra principal", p), "write " + principalForms
	}
	t, ok := principalKinds[k]
	if !ok {
		for known := range principalKinds {
			if strings.EqualFold(known, k) {
				return "", "", fmt.Sprintf("principal kind %q is spelled differently", k), fmt.Sprintf("write %s:%s", known, id)
			}
		}
		return "", "", fmt.Sprintf("principal kind %q is not one Azure assigns roles to", k), "write " + principalForms
	}
	if !guidRE.MatchString(id) {
		return "", "", fmt.Sprintf("%q is not an Entra object ID (a GUID such as 5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f)", id),
			"copy the object ID from the Entra admin center or az ad " + strings.ToLower(k) + " show"
	}
	return t, strings.ToLower(id), "", ""
}

// assignmentNamespace is the UUID namespace of role assignment names.
var assignmentNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("regionctl:"+TypeRoleAssignment))

// assignmentName is the role assignment's name, a GUID derived from its
// scope, principal and role: a retried create, or an adoption after `state
// rm`, finds the assignment it made under the same name and never makes a
// second one. ARM IDs compare without case, so the scope is lower-cased.
func assignmentName(scope, principalID, roleID string) string {
	return uuid.NewSHA1(assignmentNamespace, []byte(strings.ToLower(scope)+"\x00"+strings.ToLower(principalID)+"\x00"+strings.ToLower(roleID))).String()
}

// roleDefinitionID is the ARM ID of a built-in role definition, as a
// subscription sees it (the form role assignments carry).
func roleDefinitionID(sub, role string) string {
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role
}

// expandAccess checks every spec.access principal and adds its role
// assignments at the cluster's scope. It returns whether the cluster needs
// Entra ID integration (some principal is listed).
func expandAccess(r *spec.Region, cluster string, add func(providers.Resource), ds diag.Diagnostics) (bool, diag.Diagnostics) {
	seen := map[string]string{} // object ID → path
	some := false
	for _, g := range r.Spec.Access.Grants() {
		some = true
		kind, oid, problem, fix := parsePrincipal(g.Principal)
		if problem != "" {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(g.Path), Path: g.Path, Summary: problem, Fix: fix})
			continue
		}
		if first, dup := seen[oid]; dup {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(g.Path), Path: g.Path,
				Summary: fmt.Sprintf("Entra object %s is already listed at %s", oid, first), Fix: "list each principal once"})
			continue
		}
		seen[oid] = g.Path
		for _, role := range accessRoles[g.Role] {
			name := strings.ToLower(string(kind)) + "-" + oid + "-" + role.short
			add(providers.Resource{
				Address: providers.Address(r.Metadata.Name, TypeRoleAssignment, name), Type: TypeRoleAssignment,
				Inputs: providers.Values{
					"cluster_id": providers.Ref(cluster, "id"), "principal_id": oid,
					"principal_type": string(kind), "role_definition": role.id,
				},
			})
		}
	}
	return some, ds
}

// ---- azure_role_assignment ----
//
// A role assignment's ID is its ARM ID:
// {cluster ID}/providers/Microsoft.Authorization/roleAssignments/{name}.
// Role assignments take no tags; the deterministic name is what makes an
// assignment this resource's.

type roleAssignmentIn struct {
	ClusterID      string `kit:"cluster_id,replace" why:"a role assignment has one scope"`
	PrincipalID    string `kit:"principal_id,replace" why:"Azure cannot change a role assignment's principal"`
	PrincipalType  string `kit:"principal_type,replace" why:"Azure cannot change a role assignment's principal"`
	RoleDefinition string `kit:"role_definition,replace" why:"Azure cannot change a role assignment's role"`
}

type roleAssignmentOut struct {
	ID               string `kit:"id"`
	Name             string `kit:"name"`
	RoleDefinitionID string `kit:"role_definition_id"`
}

type roleAssignmentCall = call[roleAssignmentIn, roleAssignmentOut]

type roleAssignmentHandler struct{}

const assignmentsPath = "/providers/Microsoft.Authorization/roleAssignments/"

// splitAssignmentID returns the scope and name of a role assignment ID.
func splitAssignmentID(id string) (scope, name string, ok bool) {
	i := strings.LastIndex(strings.ToLower(id), strings.ToLower(assignmentsPath))
	if i <= 0 || i+len(assignmentsPath) >= len(id) {
		return "", "", false
	}
	return id[:i], id[i+len(assignmentsPath):], true
}

// get returns the role assignment name at scope, or nil.
func (roleAssignmentHandler) get(ctx context.Context, c *roleAssignmentCall, scope, name string) (*armauthorization.RoleAssignment, error) {
	out, err := c.Env.cl.assignments.Get(ctx, scope, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.RoleAssignment, nil
}

// wanted is the name and properties of the call's assignment.
func (roleAssignmentHandler) wanted(c *roleAssignmentCall) (string, armauthorization.RoleAssignmentProperties, error) {
	rid, err := parseARM("cluster_id", c.In.ClusterID)
	if err != nil {
		return "", armauthorization.RoleAssignmentProperties{}, err
	}
	return assignmentName(c.In.ClusterID, c.In.PrincipalID, c.In.RoleDefinition), armauthorization.RoleAssignmentProperties{
		PrincipalID: to(c.In.PrincipalID), PrincipalType: to(armauthorization.PrincipalType(c.In.PrincipalType)),
		RoleDefinitionID: to(roleDefinitionID(rid.SubscriptionID, c.In.RoleDefinition)),
		Description:      to("managed by regionctl: " + c.Meta.Address),
	}, nil
}

// same reports whether a live assignment grants the call's principal its
// role.
func (roleAssignmentHandler) same(c *roleAssignmentCall, a *armauthorization.RoleAssignment) bool {
	p := a.Properties
	return p != nil && strings.EqualFold(deref(p.PrincipalID), c.In.PrincipalID) && strings.EqualFold(lastSegment(deref(p.RoleDefinitionID)), c.In.RoleDefinition)
}

func (h roleAssignmentHandler) Find(ctx context.Context, c *roleAssignmentCall) (string, error) {
	if parseID(c.In.ClusterID) == nil || c.Env.cl == nil {
		return "", nil
	}
	name, _, err := h.wanted(c)
	if err != nil {
		return "", err
	}
	a, err := h.get(ctx, c, c.In.ClusterID, name)
	if err != nil || a == nil || !h.same(c, a) {
		return "", err
	}
	return deref(a.ID), nil
}

// Create puts the assignment under its deterministic name (a second put
// of the same assignment is no change). When the principal already holds
// the role at the cluster's scope through an assignment regionctl did not
// make, ARM refuses (RoleAssignmentExists) and so does Create, naming it.
func (h roleAssignmentHandler) Create(ctx context.Context, c *roleAssignmentCall) (string, error) {
	name, props, err := h.wanted(c)
	if err != nil {
		return "", err
	}
	out, err := c.Env.cl.assignments.Create(ctx, c.In.ClusterID, name, armauthorization.RoleAssignmentCreateParameters{Properties: &props}, nil)
	if errorCode(err) == "RoleAssignmentExists" {
		return "", h.existing(ctx, c, err)
	}
	if err != nil {
		return "", fmt.Errorf("assign role %s to %s %s: %w", c.In.RoleDefinition, c.In.PrincipalType, c.In.PrincipalID, err)
	}
	return deref(out.ID), nil
}

// existing turns RoleAssignmentExists into an error that names the
// assignment that already grants the role.
func (h roleAssignmentHandler) existing(ctx context.Context, c *roleAssignmentCall, err error) error {
	what := fmt.Sprintf("%s %s already holds role %s on cluster %s", c.In.PrincipalType, c.In.PrincipalID, c.In.RoleDefinition, c.In.ClusterID)
	all, lerr := h.list(ctx, c, c.In.ClusterID)
	if lerr == nil {
		for _, a := range all {
			if h.same(c, a) {
				return kit.Classed(fmt.Errorf("%s through role assignment %s, which regionctl did not make; delete it (az role assignment delete --ids %s) or drop the principal from spec.access", what, deref(a.ID), deref(a.ID)), providers.ErrPermanent)
			}
		}
	}
	return kit.Classed(fmt.Errorf("%s through a role assignment regionctl did not make: %w", what, err), providers.ErrPermanent)
}

// list returns the role assignments made at scope itself (not inherited).
func (roleAssignmentHandler) list(ctx context.Context, c *roleAssignmentCall, scope string) (map[string]*armauthorization.RoleAssignment, error) {
	return collect(ctx, c.Env.cl.assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to("atScope()")}),
		func(p armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
			return p.Value
		},
		byID(func(a *armauthorization.RoleAssignment) *string { return a.ID }))
}

func (h roleAssignmentHandler) Read(ctx context.Context, c *roleAssignmentCall) (*kit.Live[roleAssignmentIn, roleAssignmentOut], error) {
	scope, name, ok := splitAssignmentID(c.ID)
	if !ok || c.Env.cl == nil {
		return nil, nil
	}
	a, err := h.get(ctx, c, scope, name)
	if err != nil || a == nil {
		return nil, err
	}
	return h.live(c, scope, a), nil
}

func (roleAssignmentHandler) live(c *roleAssignmentCall, scope string, a *armauthorization.RoleAssignment) *kit.Live[roleAssignmentIn, roleAssignmentOut] {
	p := a.Properties
	if p == nil {
		p = &armauthorization.RoleAssignmentProperties{}
	}
	in := roleAssignmentIn{
		ClusterID:      sameID(scope, c.Prev.ClusterID),
		PrincipalID:    strings.ToLower(deref(p.PrincipalID)),
		PrincipalType:  string(deref(p.PrincipalType)),
		RoleDefinition: strings.ToLower(lastSegment(deref(p.RoleDefinitionID))),
	}
	return c.Found(in, roleAssignmentOut{ID: deref(a.ID), Name: deref(a.Name), RoleDefinitionID: deref(p.RoleDefinitionID)})
}

// ReadMany reads the role assignments of each cluster with one list at
// its scope.
func (h roleAssignmentHandler) ReadMany(ctx context.Context, calls []*roleAssignmentCall) ([]*kit.Live[roleAssignmentIn, roleAssignmentOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *roleAssignmentCall, _ *arm.ResourceID) (map[string]*armauthorization.RoleAssignment, error) {
		scope, _, ok := splitAssignmentID(c.ID)
		if !ok {
			return nil, nil
		}
		return listed(ctx, c.Env.d, memo, "role assignments at "+strings.ToLower(scope), func(ctx context.Context) (map[string]*armauthorization.RoleAssignment, error) {
			return h.list(ctx, c, scope)
		})
	}, func(c *roleAssignmentCall, _ *arm.ResourceID) string { return c.ID },
		func(_ context.Context, c *roleAssignmentCall, _ *arm.ResourceID, a *armauthorization.RoleAssignment) (*kit.Live[roleAssignmentIn, roleAssignmentOut], error) {
			scope, _, _ := splitAssignmentID(c.ID)
			return h.live(c, scope, a), nil
		})
}

func (roleAssignmentHandler) Delete(ctx context.Context, c *roleAssignmentCall) error {
	scope, name, ok := splitAssignmentID(c.ID)
	if !ok || c.Env.cl == nil {
		return nil
	}
	_, err := c.Env.cl.assignments.Delete(ctx, scope, name, nil)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete role assignment %s: %w", c.ID, err)
	}
	return nil
}

// lastSegment is what follows the last "/" of an ARM ID.
func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }
