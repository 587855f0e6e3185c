package gcp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/option"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/sandbox"
)

func TestCheckPrincipal(t *testing.T) {
	tests := []struct {
		name, principal, securityGroup string
		wantProblem, wantFix           string // substrings; "" wantProblem: accepted
	}{
		{"user", "user:alice@example.com", "", "", ""},
		{"service account", "serviceAccount:ci@my-project.iam.gserviceaccount.com", "", "", ""},
		{"group with security group", "group:ops@example.com", "gke-security-groups@example.com", "", ""},
		{"group without security group", "group:ops@example.com", "", "Google Groups for RBAC", "spec.overrides.gcp.securityGroup: gke-security-groups@"},
		{"bare email", "alice@example.com", "", "has no member kind", `write "user:alice@example.com"`},
		{"bare service account email", "ci@p.iam.gserviceaccount.com", "", "has no member kind", `write "serviceAccount:ci@p.iam.gserviceaccount.com"`},
		{"AWS ARN", "arn:aws:iam::111122223333:role/platform", "", "is an AWS principal", "user:alice@example.com"},
		{"Azure object id", "group:00000000-0000-0000-0000-000000000000", "", "does not name an email", "group:ops@example.com"},
		{"capitals", "user:Alice@Example.com", "", "capital letters", `write "user:alice@example.com"`},
		{"kind misspelt", "serviceaccount:ci@p.iam.gserviceaccount.com", "", "spelt so", `write "serviceAccount:ci@p.iam.gserviceaccount.com"`},
		{"domain", "domain:example.com", "", "whole domain", "RBAC cannot bind a domain"},
		{"everyone", "allUsers", "", "whole domain or everyone", ""},
		{"federation", "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s", "", "workload identity federation", ""},
		{"nonsense", "platform-team", "", "is not an IAM member", "user:EMAIL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problem, fix := checkPrincipal(tc.principal, tc.securityGroup)
			if tc.wantProblem == "" {
				if problem != "" {
					t.Fatalf("refused: %s (fix: %s)", problem, fix)
				}
				return
			}
			if !strings.Contains(problem, tc.wantProblem) || !strings.Contains(fix, tc.wantFix) {
				t.Errorf("problem %q, fix %q; want them to hold %q and %q", problem, fix, tc.wantProblem, tc.wantFix)
			}
		})
	}
}

func TestCheckSecurityGroup(t *testing.T) {
	if p, _ := checkSecurityGroup("gke-security-groups@example.com"); p != "" {
		t.Errorf("refused the right name: %s", p)
	}
	if p, fix := checkSecurityGroup("ops@Example.com"); p == "" || !strings.Contains(fix, `"gke-security-groups@example.com"`) {
		t.Errorf("ops@Example.com: %q, fix %q", p, fix)
	}
}

func policy(bindings ...*crm.Binding) *crm.Policy {
	return &crm.Policy{Version: 1, Etag: "BwX1", Bindings: bindings}
}

// TestPolicyEdits: adding and removing a member touches only that member
// in that role's unconditional binding; a binding left empty goes; other
// members, roles and conditional bindings stay as they were.
func TestPolicyEdits(t *testing.T) {
	cond := &crm.Expr{Title: "until 2027", Expression: `request.time < timestamp("2027-01-01T00:00:00Z")`}
	start := func() *crm.Policy {
		return policy(
			&crm.Binding{Role: "roles/owner", Members: []string{"user:owner@example.com"}},
			&crm.Binding{Role: RoleClusterViewer, Members: []string{"user:bob@example.com"}, Condition: cond},
		)
	}
	p := start()
	if !addMember(p, RoleClusterViewer, "user:alice@example.com") {
		t.Fatal("addMember reported no change")
	}
	want := policy(
		&crm.Binding{Role: "roles/owner", Members: []string{"user:owner@example.com"}},
		&crm.Binding{Role: RoleClusterViewer, Members: []string{"user:bob@example.com"}, Condition: cond},
		&crm.Binding{Role: RoleClusterViewer, Members: []string{"user:alice@example.com"}},
	)
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("after add (-want +got):\n%s", diff)
	}
	if addMember(p, RoleClusterViewer, "user:alice@example.com") {
		t.Error("adding a member twice changed the policy")
	}
	if !addMember(p, RoleClusterViewer, "group:ops@example.com") || len(p.Bindings[2].Members) != 2 {
		t.Errorf("a second member did not join the unconditional binding: %+v", p.Bindings)
	}
	if hasMember(p, RoleClusterViewer, "user:bob@example.com") {
		t.Error("a conditional grant counts as the member's")
	}
	if removeMember(p, RoleClusterViewer, "user:bob@example.com") {
		t.Error("removing touched a conditional binding")
	}
	removeMember(p, RoleClusterViewer, "group:ops@example.com")
	if !removeMember(p, RoleClusterViewer, "user:alice@example.com") {
		t.Fatal("removeMember reported no change")
	}
	if diff := cmp.Diff(start(), p); diff != "" {
		t.Errorf("after removing what was added (-want +got):\n%s", diff)
	}
	if removeMember(p, "roles/owner", "user:alice@example.com") {
		t.Error("removing a member that is not there changed the policy")
	}
}

func TestAccessNames(t *testing.T) {
	a, b := accessName("user:alice.smith@example.com"), accessName("group:alice.smith@example.com")
	if !strings.HasPrefix(a, "alice-smith-") || a == b {
		t.Errorf("accessName: %q and %q", a, b)
	}
	if got := bindingName("view", "user:alice@example.com"); got != "regionctl-access:view:user:alice@example.com" {
		t.Errorf("bindingName = %q", got)
	}
	if got := subject("group:ops@example.com"); got.Kind != "Group" || got.Name != "ops@example.com" {
		t.Errorf("subject(group) = %+v", got)
	}
	if got := subject("serviceAccount:ci@p.iam.gserviceaccount.com"); got.Kind != "User" || got.Name != "ci@p.iam.gserviceaccount.com" {
		t.Errorf("subject(serviceAccount) = %+v", got)
	}
}

// TestEditPolicyRetriesAConcurrentChange: when someone else changes the
// project's policy between the driver's read and its write, Google (the
// sandbox) refuses the write with 409 ABORTED; the driver reads again and
// writes once more, and both changes are in the policy.
func TestEditPolicyRetriesAConcurrentChange(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: t.TempDir(), NoKubernetes: true, Latency: map[string]time.Duration{"*": 0}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	dr, err := New(ctx, providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	d := dr.(*Driver)
	defer d.Close()
	someoneElse, err := d.newResourceManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The driver's client: its first setIamPolicy waits until someone else
	// has granted carol the role.
	raced := false
	race := roundTripper(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, ":setIamPolicy") && !raced {
			raced = true
			e := &env{d: d, cl: &clients{crm: someoneElse}}
			p, err := e.getPolicy(ctx, SandboxProject)
			if err != nil {
				return nil, err
			}
			addMember(p, RoleClusterViewer, "user:carol@example.com")
			if _, err := someoneElse.Projects.SetIamPolicy("projects/"+SandboxProject, &crm.SetIamPolicyRequest{Policy: p}).Do(); err != nil {
				return nil, err
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	svc, err := crm.NewService(ctx, option.WithEndpoint(sb.Endpoints()["gcp-compute"]+"/"),
		option.WithHTTPClient(&http.Client{Transport: &oauth2.Transport{Source: adcTokens{d}, Base: race}}))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{d: d, cl: &clients{crm: svc}}
	if err := e.editPolicy(ctx, SandboxProject, func(p *crm.Policy) bool { return addMember(p, RoleClusterViewer, "user:alice@example.com") }); err != nil {
		t.Fatal(err)
	}
	p, err := e.getPolicy(ctx, SandboxProject)
	if err != nil {
		t.Fatal(err)
	}
	if !raced || !hasMember(p, RoleClusterViewer, "user:alice@example.com") || !hasMember(p, RoleClusterViewer, "user:carol@example.com") {
		t.Errorf("raced %v; policy bindings %+v, want alice's and carol's grants", raced, p.Bindings)
	}
	if n := sb.Requests()["cloudresourcemanager:projects.setIamPolicy"]; n != 3 {
		t.Errorf("%d setIamPolicy calls, want 3 (someone else's, the refused one, the retry)", n)
	}
}
