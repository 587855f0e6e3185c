package azure

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

const objectID = "5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f"

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		in       string
		kind, id string
		// problem and fix are substrings of the diagnostic, when wrong.
		problem, fix string
	}{
		{in: "group:" + objectID, kind: "Group", id: objectID},
		{in: "user:" + strings.ToUpper(objectID), kind: "User", id: objectID},
		{in: "servicePrincipal:" + objectID, kind: "ServicePrincipal", id: objectID},
		{in: "arn:aws:iam::111122223333:role/platform", problem: "is an AWS ARN", fix: "group:OBJECT-ID"},
		{in: "alice@example.com", problem: "by email", fix: "az ad user show --id alice@example.com"},
		{in: "user:alice@example.com", problem: "by email", fix: "az ad user show --id alice@example.com"},
		{in: "serviceAccount:ci@p.iam.gserviceaccount.com", problem: "by email"},
		{in: objectID, problem: "has no kind", fix: "write group:" + objectID},
		{in: "Group:" + objectID, problem: `kind "Group" is spelled differently`, fix: "write group:" + objectID},
		{in: "serviceprincipal:" + objectID, problem: "spelled differently", fix: "write servicePrincipal:"},
		{in: "role:" + objectID, problem: `kind "role" is not one Azure assigns roles to`},
		{in: "group:ops", problem: `"ops" is not an Entra object ID`, fix: "az ad group show"},
		{in: "platform-admins", problem: "is not an Entra principal", fix: "servicePrincipal:OBJECT-ID"},
	}
	for _, tc := range tests {
		kind, id, problem, fix := parsePrincipal(tc.in)
		if tc.problem == "" {
			if problem != "" || string(kind) != tc.kind || id != tc.id {
				t.Errorf("%s: %q %q %q", tc.in, kind, id, problem)
			}
			continue
		}
		if !strings.Contains(problem, tc.problem) || !strings.Contains(fix, tc.fix) || kind != "" {
			t.Errorf("%s: problem %q, fix %q; want %q, %q", tc.in, problem, fix, tc.problem, tc.fix)
		}
	}
}

// A role assignment's name is a GUID that depends on its scope (not on
// the scope's case), principal and role only.
func TestAssignmentName(t *testing.T) {
	scope := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-weu1/providers/Microsoft.ContainerService/managedClusters/aks-weu1"
	n := assignmentName(scope, objectID, RoleAKSRBACReader)
	u, err := uuid.Parse(n)
	if err != nil || u.Version() != 5 || n != strings.ToLower(n) {
		t.Fatalf("name %q: %v", n, err)
	}
	if again := assignmentName(strings.ToLower(scope), strings.ToUpper(objectID), RoleAKSRBACReader); again != n {
		t.Errorf("name depends on case: %s, %s", n, again)
	}
	for _, other := range []string{
		assignmentName(scope+"2", objectID, RoleAKSRBACReader),
		assignmentName(scope, "6f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f", RoleAKSRBACReader),
		assignmentName(scope, objectID, RoleAKSClusterUser),
	} {
		if other == n {
			t.Errorf("two assignments share the name %s", n)
		}
	}
	// Pinned: a change of the scheme would make every assignment anew
	// (refused by ARM as RoleAssignmentExists beside the old one).
	if want := "0dc7454b-6e4d-53e0-af62-61b6834cab74"; n != want {
		t.Errorf("name %s, want %s", n, want)
	}
}

// expandFile loads a region from YAML (so diagnostics carry file:line)
// and expands it.
func expandFile(t *testing.T, yaml string) (*spec.Region, providers.ExpandResponse) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "region.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, ds := spec.Load(context.Background(), []string{path}, spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load: %v", ds)
	}
	d, err := New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"azure": "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: rs[0]})
	if err != nil {
		t.Fatal(err)
	}
	return rs[0], resp
}

const accessRegion = `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: weu1}
spec:
  provider: azure
  location: westeurope
  network: {cidr: 10.30.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}
  access:
`

func TestExpandAccess(t *testing.T) {
	_, resp := expandFile(t, accessRegion+"    admins: [\"group:"+objectID+"\"]\n    viewers: [\"servicePrincipal:0a1b2c3d-0000-4000-8000-00000000000a\"]\n")
	if len(resp.Diagnostics) > 0 {
		t.Fatal(resp.Diagnostics)
	}
	got := map[string][3]any{}
	for _, r := range resp.Resources {
		if r.Type == TypeCluster && r.Inputs["entra_rbac"] != true {
			t.Errorf("cluster inputs lack entra_rbac: %v", r.Inputs)
		}
		if r.Type == TypeRoleAssignment {
			_, _, name, _ := providers.SplitAddress(r.Address)
			got[name] = [3]any{r.Inputs["principal_id"], r.Inputs["principal_type"], r.Inputs["role_definition"]}
			if addr, out, ok := providers.AsRef(r.Inputs["cluster_id"]); !ok || addr != providers.Address("weu1", TypeCluster, "main") || out != "id" {
				t.Errorf("%s: cluster_id %v", r.Address, r.Inputs["cluster_id"])
			}
		}
	}
	sp := "0a1b2c3d-0000-4000-8000-00000000000a"
	want := map[string][3]any{
		"group-" + objectID + "-rbac-cluster-admin": {objectID, "Group", RoleAKSRBACClusterAdmin},
		"group-" + objectID + "-cluster-user":       {objectID, "Group", RoleAKSClusterUser},
		"serviceprincipal-" + sp + "-rbac-reader":   {sp, "ServicePrincipal", RoleAKSRBACReader},
		"serviceprincipal-" + sp + "-cluster-user":  {sp, "ServicePrincipal", RoleAKSClusterUser},
	}
	if len(got) != len(want) {
		t.Errorf("role assignments %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v", k, got[k], v)
		}
	}
	if !strings.Contains(strings.Join(resp.Notes, "\n"), "AKS cannot turn Entra ID integration off again") {
		t.Errorf("notes do not say Entra ID integration stays: %v", resp.Notes)
	}

	// Without access: no assignment, no entra_rbac key (the plans of
	// clusters made before access was mapped do not change).
	_, resp = expandFile(t, strings.TrimSuffix(accessRegion, "  access:\n"))
	for _, r := range resp.Resources {
		if _, ok := r.Inputs["entra_rbac"]; ok || r.Type == TypeRoleAssignment {
			t.Errorf("without access: %s %v", r.Address, r.Inputs)
		}
	}
}

// Wrong principals are refused at plan time at their file and line, with
// a fix.
func TestExpandAccessDiagnostics(t *testing.T) {
	_, resp := expandFile(t, accessRegion+
		"    admins:\n      - arn:aws:iam::111122223333:role/platform\n      - group:"+objectID+"\n"+
		"    viewers:\n      - alice@example.com\n      - user:"+strings.ToUpper(objectID)+"\n")
	var lines []string
	for _, d := range resp.Diagnostics {
		lines = append(lines, d.String())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"region.yaml:14:", "spec.access.admins[0]", "is an AWS ARN", "group:OBJECT-ID",
		"region.yaml:17:", "spec.access.viewers[0]", "by email", "az ad user show --id alice@example.com",
		"region.yaml:18:", "spec.access.viewers[1]", "already listed at spec.access.admins[1]",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, all)
		}
	}
	if len(resp.Diagnostics) != 3 {
		t.Errorf("%d diagnostics:\n%s", len(resp.Diagnostics), all)
	}
}
