package azure

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Microsoft.Authorization: role assignments at any scope the emulator holds
// (a subscription, a resource group, a managed cluster, a network object)
// and the built-in role definitions they name, on ARM's wire format:
// {scope}/providers/Microsoft.Authorization/roleAssignments/{GUID} (PUT,
// GET, DELETE; a list at a scope with $filter=atScope() or
// principalId eq '…'), {scope}/providers/Microsoft.Authorization/
// roleDefinitions[/{GUID}] (GET; $filter=roleName eq '…'). A role
// assignment is an extension resource: it goes with its scope.

const nsAuthorization = "Microsoft.Authorization"

// nsRoleDefinitions is the version family of roleDefinitions, whose
// api-versions differ from role assignments' (az's profile sends
// 2018-01-01-preview for them).
const nsRoleDefinitions = "Microsoft.Authorization/roleDefinitions"

type assignmentRec struct {
	V armauthorization.RoleAssignment `json:"v"`
}

// builtinRole is a built-in role definition the emulator serves.
type builtinRole struct {
	id, name, description string
	actions, dataActions  []string
}

// builtinRoles are the built-in roles the emulator knows, by ID (the same
// in every tenant): the general ones and the AKS ones spec.access uses.
var builtinRoles = []builtinRole{
	{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", []string{"*"}, nil},
	{"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.", []string{"*"}, nil},
	{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "View all resources, but does not allow you to make any changes.", []string{"*/read"}, nil},
	{"b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", "Azure Kubernetes Service RBAC Cluster Admin", "Lets you manage all resources in the cluster.",
		[]string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"},
		[]string{"Microsoft.ContainerService/managedClusters/*"}},
	{"7f6c6a51-bcf8-42ba-9220-52d62157d7db", "Azure Kubernetes Service RBAC Reader", "Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role bindings, nor Secrets.",
		[]string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"},
		[]string{"Microsoft.ContainerService/managedClusters/*/read"}},
	{"4abbcc35-e782-43d8-92c5-2d3f1bd2253f", "Azure Kubernetes Service Cluster User Role", "List cluster user credential action.",
		[]string{"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "Microsoft.ContainerService/managedClusters/read"}, nil},
}

// parseAuthorization parses a Microsoft.Authorization path:
// {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}].
func parseAuthorization(method string, segs []string) (route, bool) {
	at := -1
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "providers") && strings.EqualFold(segs[i+1], nsAuthorization) {
			at = i
		}
	}
	if at < 0 {
		return route{}, false
	}
	rt := route{ns: nsAuthorization, scope: "/" + strings.Join(segs[:at], "/")}
	if at >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		rt.sub = segs[1]
	}
	rest := segs[at+2:]
	if len(rest) == 0 || len(rest) > 2 {
		return route{}, true
	}
	for _, typ := range []string{"roleAssignments", "roleDefinitions"} {
		if !strings.EqualFold(rest[0], typ) {
			continue
		}
		rt.typ = typ
		v := "list"
		if len(rest) == 2 {
			rt.name, v = rest[1], verb(method)
		}
		if method != http.MethodGet && (v == "list" || typ == "roleDefinitions") || v == "checkExistence" {
			v = ""
		}
		if v != "" {
			rt.op = typ + "." + v
		}
		return rt, true
	}
	return route{}, true
}

// scopeExists reports whether the scope of a role assignment names
// something the emulator holds.
func (e *Emulator) scopeExists(scope string) bool {
	s := e.st
	k := key(scope)
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	switch {
	case len(segs) == 2 && strings.EqualFold(segs[0], "subscriptions"):
		return checkSubscription(segs[1]) == nil
	case len(segs) == 4 && strings.EqualFold(segs[2], "resourceGroups"):
		_, ok := s.Groups[k]
		return ok
	}
	for _, m := range []func() bool{
		func() bool { _, ok := s.Clusters[k]; return ok },
		func() bool { _, ok := s.Pools[k]; return ok },
		func() bool { _, ok := s.VNets[k]; return ok },
		func() bool { _, ok := s.Subnets[k]; return ok },
		func() bool { _, ok := s.PIPs[k]; return ok },
		func() bool { _, ok := s.NATs[k]; return ok },
	} {
		if m() {
			return true
		}
	}
	return false
}

// pruneAssignments drops the role assignments whose scope is gone: ARM
// deletes an extension resource with the resource it extends.
func (e *Emulator) pruneAssignments() {
	for k, a := range e.st.Assignments {
		if !e.scopeExists(deref(a.V.Properties.Scope)) {
			delete(e.st.Assignments, k)
		}
	}
}

func (e *Emulator) serveAuthorization(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	if rt.typ == "roleDefinitions" {
		return false, serveRoleDefinitions(w, r, rt)
	}
	e.pruneAssignments()
	if !e.scopeExists(rt.scope) {
		return false, errf(http.StatusNotFound, "ResourceNotFound", "The scope '%s' does not name an existing resource.", rt.scope)
	}
	s := e.st
	if rt.op == "roleAssignments.list" {
		return false, e.listAssignments(w, r, rt)
	}
	if !guidRE.MatchString(rt.name) {
		return false, errf(http.StatusBadRequest, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", rt.name)
	}
	id := rt.scope + "/providers/Microsoft.Authorization/roleAssignments/" + strings.ToLower(rt.name)
	k := key(id)
	cur, exists := s.Assignments[k]
	switch rt.op {
	case "roleAssignments.get":
		if !exists {
			return false, assignmentNotFound(rt.name)
		}
		writeJSON(w, http.StatusOK, cur.V)
		return false, nil
	case "roleAssignments.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		delete(s.Assignments, k)
		writeJSON(w, http.StatusOK, cur.V)
		return true, nil
	}
	var in armauthorization.RoleAssignmentCreateParameters
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	p := in.Properties
	if p == nil {
		return false, errf(http.StatusBadRequest, "InvalidRequestContent", "The request content is invalid: properties is required.")
	}
	principal := strings.ToLower(deref(p.PrincipalID))
	if !guidRE.MatchString(principal) {
		return false, errf(http.StatusBadRequest, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
	}
	role, ok := roleOfID(deref(p.RoleDefinitionID))
	if !ok {
		return false, errf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", lastSeg(deref(p.RoleDefinitionID)))
	}
	if t := p.PrincipalType; t != nil && !slices.Contains(armauthorization.PossiblePrincipalTypeValues(), *t) {
		return false, errf(http.StatusBadRequest, "InvalidPrincipalType", "The principal type '%s' is not valid.", *t)
	}
	if exists {
		if !strings.EqualFold(deref(cur.V.Properties.PrincipalID), principal) || lastSeg(deref(cur.V.Properties.RoleDefinitionID)) != role.id {
			return false, errf(http.StatusConflict, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		}
		writeJSON(w, http.StatusCreated, cur.V) // the same assignment again: no change
		return false, nil
	}
	for _, a := range s.Assignments {
		ap := a.V.Properties
		if strings.EqualFold(deref(ap.Scope), rt.scope) && strings.EqualFold(deref(ap.PrincipalID), principal) && lastSeg(deref(ap.RoleDefinitionID)) == role.id {
			return false, errf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
		}
	}
	now := e.env.Now().UTC()
	typ := p.PrincipalType
	if typ == nil {
		typ = ptr(armauthorization.PrincipalTypeUser) // ARM reads it from the directory
	}
	rec := &assignmentRec{V: armauthorization.RoleAssignment{
		ID: ptr(id), Name: ptr(strings.ToLower(rt.name)), Type: ptr("Microsoft.Authorization/roleAssignments"),
		Properties: &armauthorization.RoleAssignmentProperties{
			Scope: ptr(rt.scope), PrincipalID: ptr(principal), PrincipalType: typ,
			RoleDefinitionID: ptr(roleDefinitionID(rt.sub, role.id)), Description: p.Description,
			Condition: p.Condition, ConditionVersion: p.ConditionVersion,
			CreatedOn: &now, UpdatedOn: &now, CreatedBy: ptr(e.callerObjectID()), UpdatedBy: ptr(e.callerObjectID()),
		},
	}}
	s.Assignments[k] = rec
	writeJSON(w, http.StatusCreated, rec.V)
	return true, nil
}

// callerObjectID is the object ID of the sandbox's service principal, the
// identity every ARM call of the sandbox is made as.
func (e *Emulator) callerObjectID() string {
	if e.st.Identity != nil {
		return e.st.Identity.ObjectID
	}
	return ""
}

func assignmentNotFound(name string) *armErr {
	return errf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
}

// listAssignments lists the role assignments that apply at the route's
// scope, as ARM does: without a filter those at, above and below it;
// atScope() those at and above it; principalId eq '…' those of one
// principal.
func (e *Emulator) listAssignments(w http.ResponseWriter, r *http.Request, rt route) *armErr {
	filter, aerr := queryFilter(r)
	if aerr != nil {
		return aerr
	}
	atScope, principal := false, ""
	for _, term := range splitAnd(filter) {
		switch {
		case strings.EqualFold(term, "atScope()"):
			atScope = true
		case strings.HasPrefix(strings.ToLower(term), "principalid eq "):
			principal = strings.ToLower(strings.Trim(strings.TrimSpace(term[len("principalid eq "):]), "'"))
		default:
			return errf(http.StatusBadRequest, "InvalidFilterParameter", "The filter '%s' is not supported. Use atScope() or principalId eq '{id}'.", filter)
		}
	}
	scope := strings.ToLower(rt.scope)
	keep := func(_ string, a *assignmentRec) bool {
		as := strings.ToLower(deref(a.V.Properties.Scope))
		above := as == scope || strings.HasPrefix(scope, as+"/")
		below := strings.HasPrefix(as, scope+"/")
		if !above && (atScope || !below) {
			return false
		}
		return principal == "" || strings.EqualFold(deref(a.V.Properties.PrincipalID), principal)
	}
	items := viewsOf(sortedWhere(e.st.Assignments, keep), func(a *assignmentRec) armauthorization.RoleAssignment { return a.V })
	return writePage(w, r, items, func(v []*armauthorization.RoleAssignment, next *string) any {
		return armauthorization.RoleAssignmentListResult{Value: v, NextLink: next}
	})
}

// queryFilter is the request's $filter (the SDK sends it unencoded).
func queryFilter(r *http.Request) (string, *armErr) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", badParam("The query string is not valid: %v", err)
	}
	return strings.TrimSpace(q.Get("$filter")), nil
}

func splitAnd(filter string) []string {
	if filter == "" {
		return nil
	}
	var out []string
	for _, t := range strings.Split(filter, " and ") {
		out = append(out, strings.TrimSpace(t))
	}
	return out
}

// roleOfID returns the built-in role a role definition ID names
// (/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/ID,
// /providers/…/ID, or the bare ID).
func roleOfID(id string) (builtinRole, bool) {
	g := strings.ToLower(lastSeg(id))
	for _, b := range builtinRoles {
		if b.id == g {
			return b, true
		}
	}
	return builtinRole{}, false
}

func lastSeg(id string) string { return strings.ToLower(id[strings.LastIndex(id, "/")+1:]) }

// roleDefinitionID is a role definition's ID as a subscription sees it,
// or the tenant's form without one.
func roleDefinitionID(sub, role string) string {
	if sub == "" {
		return "/providers/Microsoft.Authorization/roleDefinitions/" + role
	}
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role
}

func (b builtinRole) view(sub string) armauthorization.RoleDefinition {
	perm := &armauthorization.Permission{Actions: ptrList(b.actions), NotActions: []*string{}, DataActions: ptrList(b.dataActions), NotDataActions: []*string{}}
	return armauthorization.RoleDefinition{
		ID: ptr(roleDefinitionID(sub, b.id)), Name: ptr(b.id), Type: ptr("Microsoft.Authorization/roleDefinitions"),
		Properties: &armauthorization.RoleDefinitionProperties{
			RoleName: ptr(b.name), Description: ptr(b.description), RoleType: ptr("BuiltInRole"),
			AssignableScopes: []*string{ptr("/")}, Permissions: []*armauthorization.Permission{perm},
		},
	}
}

func ptrList(ss []string) []*string {
	out := []*string{}
	for _, s := range ss {
		out = append(out, ptr(s))
	}
	return out
}

// serveRoleDefinitions answers GET of one built-in role definition and
// the list of them ($filter=roleName eq '…', as az role assignment create
// --role NAME asks).
func serveRoleDefinitions(w http.ResponseWriter, r *http.Request, rt route) *armErr {
	if rt.op == "roleDefinitions.get" {
		b, ok := roleOfID(rt.name)
		if !ok {
			return errf(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", rt.name)
		}
		writeJSON(w, http.StatusOK, b.view(rt.sub))
		return nil
	}
	filter, aerr := queryFilter(r)
	if aerr != nil {
		return aerr
	}
	name := ""
	if filter != "" {
		f, ok := strings.CutPrefix(strings.ToLower(filter), "rolename eq ")
		if !ok {
			return errf(http.StatusBadRequest, "InvalidFilterParameter", "The filter '%s' is not supported. Use roleName eq '{name}'.", filter)
		}
		name = strings.Trim(strings.TrimSpace(f), "'")
	}
	var items []*armauthorization.RoleDefinition
	for _, b := range builtinRoles {
		if name == "" || strings.EqualFold(b.name, name) {
			items = append(items, ptr(b.view(rt.sub)))
		}
	}
	return writePage(w, r, items, func(v []*armauthorization.RoleDefinition, next *string) any {
		return armauthorization.RoleDefinitionListResult{Value: v, NextLink: next}
	})
}
