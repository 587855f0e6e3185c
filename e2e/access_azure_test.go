package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/sandbox"
	sbazure "github.com/regionctl/regionctl/sandbox/azure"
)

// azureARM are SDK clients of the sandbox's ARM, as the sandbox's own
// service principal: what a user would run next to regionctl.
type azureARM struct {
	assignments *armauthorization.RoleAssignmentsClient
	clusters    *armcontainerservice.ManagedClustersClient
}

func (e *env) azureARM() azureARM {
	e.t.Helper()
	url := e.sb.Endpoints()["azure"]
	cred, _, err := sbazure.ClientCredential(context.Background(), url)
	if err != nil {
		e.t.Fatal(err)
	}
	var c azureARM
	if c.assignments, err = armauthorization.NewRoleAssignmentsClient(sbazure.DefaultSubscription, cred, sbazure.ClientOptions(url)); err != nil {
		e.t.Fatal(err)
	}
	if c.clusters, err = armcontainerservice.NewManagedClustersClient(sbazure.DefaultSubscription, cred, sbazure.ClientOptions(url)); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// grants lists the role assignments made at scope itself, as
// "principalType principalID roleDefinitionGUID" → name.
func (c azureARM) grants(t *testing.T, scope string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for pg := c.assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: ptrTo("atScope()")}); pg.More(); {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list role assignments at %s: %v", scope, err)
		}
		for _, a := range page.Value {
			p := a.Properties
			role := *p.RoleDefinitionID
			out[fmt.Sprintf("%s %s %s", *p.PrincipalType, *p.PrincipalID, role[strings.LastIndex(role, "/")+1:])] = *a.Name
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

// TestAzureAccess: spec.access on AKS through the CLI. An admin group and
// a viewer user get the AKS RBAC Cluster Admin or RBAC Reader role and the
// Cluster User Role at the cluster's scope, and the cluster gets managed
// Entra ID with Azure RBAC; a second plan is empty; Azure RBAC turned off
// by hand is set again; an assignment deleted out of band is planned back
// under the same name; one dropped from state is adopted, not duplicated,
// or imported by its name; promoting the viewer swaps one role; and
// removing access removes exactly regionctl's assignments (one made by
// hand stays) and turns Azure RBAC off while Entra ID stays, as AKS cannot
// turn it off.
func TestAzureAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{}, false)
	const (
		group = "5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f"
		user  = "0a1b2c3d-0000-4000-8000-00000000000a"
		other = "77777777-0000-4000-8000-000000000007"
	)
	access := fmt.Sprintf("  access:\n    admins: [\"group:%s\"]\n    viewers: [\"user:%s\"]\n", group, user)
	e.editSpec("          - workload=ingest:NoSchedule\n", "          - workload=ingest:NoSchedule\n"+access)
	addr := func(name string) string { return azRegion + "/" + azure.TypeRoleAssignment + "." + name }
	readerAddr := addr("user-" + user + "-rbac-reader")

	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	for _, want := range []string{addr("group-" + group + "-rbac-cluster-admin"), addr("group-" + group + "-cluster-user"), readerAddr,
		addr("user-" + user + "-cluster-user"), "entra_rbac", "AKS cannot turn Entra ID integration off again"} {
		if !strings.Contains(p.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, p.stdout)
		}
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.assertAzureMatchesState(azRegion)
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	arm := e.azureARM()
	mc, err := arm.clusters.Get(context.Background(), "rg-"+azRegion, "aks-"+azRegion, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := mc.Properties.AADProfile; a == nil || !*a.Managed || !*a.EnableAzureRBAC || a.TenantID == nil {
		t.Errorf("the cluster's aadProfile = %+v, want managed Entra ID with Azure RBAC", a)
	}
	scope := *mc.ID
	want := []string{
		"Group " + group + " " + azure.RoleAKSRBACClusterAdmin, "Group " + group + " " + azure.RoleAKSClusterUser,
		"User " + user + " " + azure.RoleAKSRBACReader, "User " + user + " " + azure.RoleAKSClusterUser,
	}
	grants := arm.grants(t, scope)
	if got := slices.Sorted(maps.Keys(grants)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("role assignments at the cluster:\n%v\nwant\n%v", got, want)
	}

	// Azure RBAC turned off out of band is drift on the cluster, set again
	// in place.
	off := mc.ManagedCluster
	off.Properties.AADProfile.EnableAzureRBAC = ptrTo(false)
	poller, err := arm.clusters.BeginCreateOrUpdate(context.Background(), "rg-"+azRegion, "aks-"+azRegion, off, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(context.Background(), &runtime.PollUntilDoneOptions{Frequency: time.Second}); err != nil {
		t.Fatal(err)
	}
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "0 to add, 1 to change, 0 to destroy") || !strings.Contains(p.stdout, "+ entra_rbac: true") {
		t.Errorf("Azure RBAC turned off by hand: the plan does not set it again:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// Deleted out of band: the plan puts it back, under the same name.
	readerName := grants["User "+user+" "+azure.RoleAKSRBACReader]
	if _, err := arm.assignments.Delete(context.Background(), scope, readerName, nil); err != nil {
		t.Fatal(err)
	}
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(p.stdout, azRegion, "+"); len(got) != 1 || !strings.Contains(got[0], readerAddr) || !strings.Contains(p.stdout, "deleted outside regionctl") {
		t.Errorf("after an out-of-band delete the plan adds %q, want the reader's assignment:\n%s", got, p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if got := arm.grants(t, scope)["User "+user+" "+azure.RoleAKSRBACReader]; got != readerName {
		t.Errorf("the re-added assignment is named %q, want %q", got, readerName)
	}

	// Dropped from state: adopted (its name is derived), not made twice.
	e.must(0, "state", "rm", readerAddr)
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "<= "+readerAddr+" (adopting") || !strings.Contains(p.stdout, "1 to import, 0 to add, 0 to change, 0 to destroy") {
		t.Errorf("after state rm the plan does not adopt the assignment:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.assertAzureMatchesState(azRegion)
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	// regionctl import takes it back by its name (a GUID) alone.
	e.must(0, "state", "rm", readerAddr)
	e.must(0, "import", "-f", e.spec, readerAddr, readerName)
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAzureMatchesState(azRegion)

	// The viewer becomes an admin: its reader role goes, the admin role
	// comes, its Cluster User Role stays.
	e.editSpec(fmt.Sprintf("    admins: [\"group:%s\"]\n    viewers: [\"user:%s\"]\n", group, user), fmt.Sprintf("    admins: [\"group:%s\", \"user:%s\"]\n", group, user))
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "1 to add, 0 to change, 1 to destroy") || !slices.Equal(changeLines(p.stdout, azRegion, "+"), []string{"+ " + addr("user-"+user+"-rbac-cluster-admin")}) {
		t.Errorf("promoting the viewer:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")

	// Someone grants a role by hand; removing access removes only ours.
	if _, err := arm.assignments.Create(context.Background(), scope, "9d2b8c1a-0000-4000-8000-0000000000aa", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: ptrTo(other), PrincipalType: ptrTo(armauthorization.PrincipalTypeUser),
			RoleDefinitionID: ptrTo("/subscriptions/" + sbazure.DefaultSubscription + "/providers/Microsoft.Authorization/roleDefinitions/" + azure.RoleAKSRBACReader)}}, nil); err != nil {
		t.Fatal(err)
	}
	e.editSpec(fmt.Sprintf("  access:\n    admins: [\"group:%s\", \"user:%s\"]\n", group, user), "")
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "0 to add, 1 to change, 4 to destroy") || !strings.Contains(p.stdout, "entra_rbac") {
		t.Errorf("removing access:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if got := slices.Collect(maps.Keys(arm.grants(t, scope))); !slices.Equal(got, []string{"User " + other + " " + azure.RoleAKSRBACReader}) {
		t.Errorf("after removing access the cluster's role assignments are %v, want only the one made by hand", got)
	}
	mc, err = arm.clusters.Get(context.Background(), "rg-"+azRegion, "aks-"+azRegion, nil)
	if a := mc.Properties.AADProfile; err != nil || a == nil || !*a.Managed || *a.EnableAzureRBAC {
		t.Errorf("after removing access the aadProfile is %+v (%v), want managed Entra ID kept and Azure RBAC off", a, err)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.destroyToEmpty(azRegion, false)
}

// entraToken is an Entra ID token of the sandbox's service principal for
// the AKS server application (what kubelogin gets), and the principal's
// object ID (its oid claim).
func (e *env) entraToken() (token, objectID string) {
	e.t.Helper()
	cred, _, err := sbazure.ClientCredential(context.Background(), e.sb.Endpoints()["azure"])
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{sbazure.AKSServerAppID + "/.default"}})
	if err != nil {
		e.t.Fatal(err)
	}
	parts := strings.Split(tok.Token, ".")
	var claims struct{ OID string }
	if len(parts) != 3 {
		e.t.Fatalf("the Entra ID token is no JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &claims) != nil || claims.OID == "" {
		e.t.Fatalf("the Entra ID token's claims: %v", err)
	}
	return tok.Token, claims.OID
}

// TestAzureAccessInCluster: spec.access on AKS against the cluster's real
// kube-apiserver. With access the cluster's user kubeconfig signs in with
// Entra ID (kubelogin), as AKS's does; regionctl still applies the
// StorageClasses and Services (through the cluster's local admin account:
// the identity that runs apply administers the cluster). The sandbox's
// service principal, signing in with an Entra ID token, reads but cannot
// write as a viewer, writes as an admin, and once access is removed (Azure
// RBAC off, Entra ID kept) is signed in with no rights.
func TestAzureAccessInCluster(t *testing.T) {
	requireKube(t)
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{}, true)
	token, sp := e.entraToken()
	e.editSpec("  storageClasses:", fmt.Sprintf("  access:\n    viewers: [\"servicePrincipal:%s\"]\n  storageClasses:", sp))
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.assertAzureMatchesState(azRegion)
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	arm := e.azureARM()
	creds, err := arm.clusters.ListClusterUserCredentials(context.Background(), "rg-"+azRegion, "aks-"+azRegion, nil)
	if err != nil || len(creds.Kubeconfigs) != 1 || !strings.Contains(string(creds.Kubeconfigs[0].Value), "kubelogin") || strings.Contains(string(creds.Kubeconfigs[0].Value), "token:") {
		t.Errorf("the user kubeconfig of a cluster with Entra ID does not run kubelogin (%v)", err)
	}
	check := func(who string, want access) {
		t.Helper()
		eventually(t, who, want, func(n int) access {
			return probeAccess(t, e.clusterClient(azRegion, token), fmt.Sprintf("probe-%d", n))
		})
	}
	check("viewer", access{true, true, false})

	e.editSpec("    viewers: [", "    admins: [")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	check("admin", access{true, true, true})

	e.editSpec(fmt.Sprintf("  access:\n    admins: [\"servicePrincipal:%s\"]\n", sp), "")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	check("without access", access{true, false, false})
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.destroyToEmpty(azRegion, false)
}
