package azure_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/regionctl/regionctl/sandbox"
)

const (
	roleRBACAdmin = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
	roleRBACRead  = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"
	principal     = "5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f"
	assignment    = "0c7c5f6e-3b1a-4c8d-9e0f-112233445566"
)

func assignBody(principalID, role string) armauthorization.RoleAssignmentCreateParameters {
	return armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: s(principalID), PrincipalType: ptr(armauthorization.PrincipalTypeGroup),
		RoleDefinitionID: s("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role),
	}}
}

// Role assignments at a managed cluster's scope through the SDK's
// RoleAssignmentsClient (api-version 2022-04-01), on ARM's wire format:
// PUT is idempotent under one name, the same principal and role under
// another name is RoleAssignmentExists, a changed assignment is
// RoleAssignmentUpdateNotPermitted, lists honour atScope() and
// principalId eq, a second DELETE is 204, and an assignment goes with its
// cluster.
func TestRoleAssignments(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	mc := mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	scope := *mc.ID
	ra, err := armauthorization.NewRoleAssignmentsClient(sub, e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	var raw *http.Response
	got, err := ra.Create(runtime.WithCaptureResponse(ctx, &raw), scope, assignment, assignBody(principal, roleRBACAdmin), nil)
	if err != nil || raw.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v", err)
	}
	p := got.Properties
	wantID := scope + "/providers/Microsoft.Authorization/roleAssignments/" + assignment
	if *got.ID != wantID || *got.Name != assignment || *got.Type != "Microsoft.Authorization/roleAssignments" ||
		*p.Scope != scope || *p.PrincipalID != principal || *p.PrincipalType != armauthorization.PrincipalTypeGroup ||
		!strings.HasSuffix(*p.RoleDefinitionID, "/roleDefinitions/"+roleRBACAdmin) || p.CreatedOn == nil {
		t.Errorf("created %+v %+v", got, p)
	}
	if _, err := ra.Create(ctx, scope, assignment, assignBody(principal, roleRBACAdmin), nil); err != nil {
		t.Errorf("the same assignment again: %v", err)
	}
	for _, tc := range []struct {
		name, principal, role, code string
		status                      int
	}{
		{"another name, same principal and role", principal, roleRBACAdmin, "RoleAssignmentExists", 409},
		{"the same name, another role", principal, roleRBACRead, "RoleAssignmentUpdateNotPermitted", 409},
		{"not a GUID", principal, roleRBACRead, "InvalidRoleAssignmentId", 400},
		{"unknown role", principal, "11111111-2222-3333-4444-555555555555", "RoleDefinitionDoesNotExist", 400},
		{"bad principal", "alice@example.com", roleRBACRead, "InvalidPrincipalId", 400},
	} {
		name := map[string]string{"another name, same principal and role": "9d2b8c1a-0000-4000-8000-000000000001", "not a GUID": "admins",
			"unknown role": "9d2b8c1a-0000-4000-8000-000000000002", "bad principal": "9d2b8c1a-0000-4000-8000-000000000003"}[tc.name]
		if name == "" {
			name = assignment
		}
		if _, err := ra.Create(ctx, scope, name, assignBody(tc.principal, tc.role), nil); !hasCode(err, tc.code, tc.status) {
			t.Errorf("%s: %v, want %s %d", tc.name, err, tc.code, tc.status)
		}
	}
	if _, err := ra.Create(ctx, scope+"x", assignment, assignBody(principal, roleRBACAdmin), nil); !isNotFound(err) {
		t.Errorf("assignment at a missing scope: %v", err)
	}
	// A reader at the resource group: listed below it, not at the cluster.
	rgScope := "/subscriptions/" + sub + "/resourceGroups/rg"
	if _, err := ra.Create(ctx, rgScope, "9d2b8c1a-0000-4000-8000-000000000004", assignBody(principal, roleRBACRead), nil); err != nil {
		t.Fatal(err)
	}
	list := func(scope, filter string) []string {
		t.Helper()
		var opts *armauthorization.RoleAssignmentsClientListForScopeOptions
		if filter != "" {
			opts = &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: s(filter)}
		}
		var out []string
		for pg := ra.NewListForScopePager(scope, opts); pg.More(); {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatalf("list %s %s: %v", scope, filter, err)
			}
			for _, a := range page.Value {
				out = append(out, *a.Name)
			}
		}
		return out
	}
	if got := list(scope, "atScope()"); len(got) != 2 { // its own and the group's, inherited
		t.Errorf("atScope() at the cluster = %v", got)
	}
	if got := list(rgScope, "atScope()"); len(got) != 1 {
		t.Errorf("atScope() at the group = %v", got)
	}
	if got := list(rgScope, ""); len(got) != 2 {
		t.Errorf("everything at and below the group = %v", got)
	}
	// The SDK puts $filter into the URL as it is: a caller escapes spaces.
	if got := list(rgScope, "principalId%20eq%20'00000000-1111-2222-3333-444444444444'"); len(got) != 0 {
		t.Errorf("another principal's = %v", got)
	}
	if got := list(rgScope, "principalId%20eq%20'"+principal+"'"); len(got) != 2 {
		t.Errorf("the principal's = %v", got)
	}
	d, err := armauthorization.NewRoleDefinitionsClient(e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	def, err := d.GetByID(ctx, "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+roleRBACRead, nil)
	if err != nil || *def.Properties.RoleName != "Azure Kubernetes Service RBAC Reader" {
		t.Errorf("role definition: %v", err)
	}
	if _, err := ra.Delete(runtime.WithCaptureResponse(ctx, &raw), scope, assignment, nil); err != nil || raw.StatusCode != http.StatusOK {
		t.Errorf("delete: %v", err)
	}
	if _, err := ra.Delete(runtime.WithCaptureResponse(ctx, &raw), scope, assignment, nil); err != nil || raw.StatusCode != http.StatusNoContent {
		t.Errorf("delete again: %v", err)
	}
	if _, err := ra.Get(ctx, scope, assignment, nil); !hasCode(err, "RoleAssignmentNotFound", 404) {
		t.Errorf("get after delete: %v", err)
	}
	// An assignment goes with its scope.
	if _, err := ra.Create(ctx, scope, assignment, assignBody(principal, roleRBACAdmin), nil); err != nil {
		t.Fatal(err)
	}
	mustWait(t, e, mkPoller(e.mc.BeginDelete(ctx, "rg", "aks", nil)))
	for _, o := range azureObjects(e.sb) {
		if o.Type == "roleAssignment" && strings.Contains(o.ID, "/managedClusters/") {
			t.Errorf("left behind with its cluster: %+v", o)
		}
	}
}

// aadProfile: AKS-managed Entra ID integration with Azure RBAC round-trips
// (the tenant defaulting to the subscription's), can be added to a cluster
// and its Azure RBAC turned off, but managed integration cannot be turned
// off, and Azure RBAC needs it.
func TestAADProfile(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	body := clusterBody(subnet, "1.33")
	body.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{EnableAzureRBAC: ptr(true)}
	if _, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", body, nil); !hasCode(err, "InvalidParameter", 400) {
		t.Errorf("Azure RBAC without managed integration: %v", err)
	}
	body.Properties.AADProfile = nil
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", body, nil)))
	mc, err := e.mc.Get(ctx, "rg", "aks", nil)
	if err != nil || mc.Properties.AADProfile != nil {
		t.Fatalf("a cluster without Entra ID: %v %+v", err, mc.Properties.AADProfile)
	}
	mc.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{Managed: ptr(true), EnableAzureRBAC: ptr(true)}
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", mc.ManagedCluster, nil)))
	mc, err = e.mc.Get(ctx, "rg", "aks", nil)
	if a := mc.Properties.AADProfile; err != nil || a == nil || !*a.Managed || !*a.EnableAzureRBAC || a.TenantID == nil || *a.TenantID == "" {
		t.Fatalf("after enabling Entra ID: %v %+v", err, a)
	}
	mc.Properties.AADProfile.EnableAzureRBAC = ptr(false)
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", mc.ManagedCluster, nil)))
	mc.Properties.AADProfile.Managed = ptr(false)
	if _, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", mc.ManagedCluster, nil); !hasCode(err, "BadRequest", 400) {
		t.Errorf("turning managed Entra ID off: %v", err)
	}
	mc, err = e.mc.Get(ctx, "rg", "aks", nil)
	if a := mc.Properties.AADProfile; err != nil || !*a.Managed || *a.EnableAzureRBAC {
		t.Errorf("after turning Azure RBAC off: %v %+v", err, a)
	}
}
