package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2/google"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/option"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
	sandboxgcp "github.com/regionctl/regionctl/sandbox/gcp"
)

// resourceManager is a Resource Manager v3 client of the sandbox, signed
// in as its service account (the key file it publishes), as a user with
// gcloud or the console would edit the project's policy.
func (e *env) resourceManager() *crm.Service {
	e.t.Helper()
	ctx := context.Background()
	ep := e.sb.Endpoints()[sandboxgcp.ComputeKey]
	resp, err := http.Get(ep + sandboxgcp.CredentialsPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	key, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, key, google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}})
	if err != nil {
		e.t.Fatal(err)
	}
	svc, err := crm.NewService(ctx, option.WithEndpoint(ep+"/"), option.WithTokenSource(creds.TokenSource))
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// viewers are the members of project's roles/container.clusterViewer.
func viewers(t *testing.T, svc *crm.Service, project string) ([]string, *crm.Policy) {
	t.Helper()
	p, err := svc.Projects.GetIamPolicy("projects/"+project, &crm.GetIamPolicyRequest{}).Do()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range p.Bindings {
		if b.Role == gcp.RoleClusterViewer && b.Condition == nil {
			out = append(out, b.Members...)
		}
	}
	slices.Sort(out)
	return out, p
}

// canI asks the cluster's real API server, through the sandbox's admin
// kubeconfig and impersonation, whether user (in groups) may verb the
// resource: kubectl auth can-i answers yes or no.
func canI(t *testing.T, kubeconfig, user string, groups []string, verb, resource string) bool {
	t.Helper()
	args := []string{"auth", "can-i", verb, resource, "--as", user}
	for _, g := range groups {
		args = append(args, "--as-group", g)
	}
	out, _ := kubectl(t, kubeconfig, args...)            // "no" exits 1
	lines := strings.Split(strings.TrimSpace(out), "\n") // after kubectl's warnings
	switch strings.TrimSpace(lines[len(lines)-1]) {
	case "yes":
		return true
	case "no":
		return false
	}
	t.Fatalf("kubectl %s: %s", strings.Join(args, " "), out)
	return false
}

// TestGCPAccess: spec.access on GKE through the CLI. A bare email is
// refused at plan time at its line with the fix; then admins and viewers
// (a user, a group through Google Groups for RBAC, a service account) get
// roles/container.clusterViewer in the project's IAM policy and a
// ClusterRoleBinding each, which the real kube-apiserver enforces
// (kubectl auth can-i with impersonation): admins write, viewers read but
// cannot write or read Secrets, others get nothing. A second plan is
// empty; a subject added to a binding by hand and a member removed by
// hand show as drift and are undone; moving a
// viewer to the admins replaces only its binding; after `state rm` both
// are adopted, and a member imports by Terraform's ID; destroy removes
// exactly regionctl's members and leaves one granted by hand.
func TestGCPAccess(t *testing.T) {
	e := newGCPEnv(t, sandbox.Options{}, true)
	const (
		alice = "user:alice@example.com"
		ops   = "group:ops@example.com"
		bob   = "user:bob@example.com"
		ci    = "serviceAccount:ci@" + gcp.SandboxProject + ".iam.gserviceaccount.com"
	)
	e.editSpec("      releaseChannel: rapid\n", "      releaseChannel: rapid\n      securityGroup: gke-security-groups@example.com\n")
	e.editSpec("  storageClasses:", "  access:\n    admins: [\"user:alice@example.com\", \"group:ops@example.com\"]\n    viewers: [\"bob@example.com\", \""+ci+"\"]\n  storageClasses:")

	bad := e.must(cli.ExitSpecInvalid, "plan", "-f", e.spec)
	if !strings.Contains(bad.stderr, filepath.Base(e.spec)+":") || !strings.Contains(bad.stderr, "spec.access.viewers[0]") || !strings.Contains(bad.stderr, `write "user:bob@example.com"`) {
		t.Errorf("a bare email: want a diagnostic at its line with the fix:\n%s", bad.stderr)
	}
	e.editSpec(`"bob@example.com"`, `"`+bob+`"`)

	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	for _, want := range []string{gcp.TypeProjectIAMMember + ".alice-", gcp.TypeProjectIAMMember + ".ops-", kubernetes.TypeClusterRoleBinding + ".bob-",
		gcp.RoleClusterViewer, "regionctl-access:cluster-admin:group:ops@example.com", "gke-security-groups@example.com"} {
		if !strings.Contains(p.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, p.stdout)
		}
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// A member someone else granted by hand, which regionctl must keep.
	rm := e.resourceManager()
	_, pol := viewers(t, rm, gcp.SandboxProject)
	for _, b := range pol.Bindings {
		if b.Role == gcp.RoleClusterViewer {
			b.Members = append(b.Members, "user:carol@example.com")
		}
	}
	if _, err := rm.Projects.SetIamPolicy("projects/"+gcp.SandboxProject, &crm.SetIamPolicyRequest{Policy: pol}).Do(); err != nil {
		t.Fatal(err)
	}
	if got, _ := viewers(t, rm, gcp.SandboxProject); !slices.Equal(got, []string{ops, ci, alice, bob, "user:carol@example.com"}) {
		t.Errorf("clusterViewer members = %v", got)
	}

	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(e.must(0, "kubeconfig", gcpRegion).stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	type probe struct {
		who    string
		groups []string
		verb   string
		res    string
		want   bool
	}
	for _, pr := range []probe{
		{"alice@example.com", nil, "create", "namespaces", true},
		{"alice@example.com", nil, "get", "secrets", true},
		{"dave@example.com", []string{"ops@example.com"}, "create", "namespaces", true}, // a member of the admin group
		{"bob@example.com", nil, "list", "pods", true},
		{"bob@example.com", nil, "create", "namespaces", false},
		{"bob@example.com", nil, "get", "secrets", false},
		{"ci@" + gcp.SandboxProject + ".iam.gserviceaccount.com", nil, "list", "deployments.apps", true},
		{"ci@" + gcp.SandboxProject + ".iam.gserviceaccount.com", nil, "delete", "pods", false},
		{"carol@example.com", nil, "list", "pods", false}, // IAM alone gives no RBAC
		{"dave@example.com", nil, "create", "namespaces", false},
	} {
		if got := canI(t, kc, pr.who, pr.groups, pr.verb, pr.res); got != pr.want {
			t.Errorf("can %s (groups %v) %s %s: %v, want %v", pr.who, pr.groups, pr.verb, pr.res, got, pr.want)
		}
	}

	// Drift in the cluster: a subject added to bob's binding by hand shows
	// as an update, and the apply (taking the subjects over from kubectl's
	// field manager) takes its access away again.
	patch := `[{"op":"add","path":"/subjects/-","value":{"kind":"User","name":"mallory@example.com","apiGroup":"rbac.authorization.k8s.io"}}]`
	if out, err := kubectl(t, kc, "patch", "clusterrolebinding", "regionctl-access:view:"+bob, "--type=json", "-p", patch); err != nil {
		t.Fatalf("kubectl patch: %v\n%s", err, out)
	}
	if !canI(t, kc, "mallory@example.com", nil, "list", "pods") {
		t.Fatal("the hand-added subject got no access: the probe proves nothing")
	}
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	// (the binding is listed twice: changed outside regionctl, and changed back)
	if got := slices.Compact(changeLines(p.stdout, gcpRegion, "~")); len(got) != 1 || !strings.Contains(got[0], kubernetes.TypeClusterRoleBinding+".bob-") || !strings.Contains(p.stdout, "mallory@example.com") {
		t.Errorf("after a hand-added subject: updates %v, want bob's binding naming mallory\n%s", got, p.stdout)
	}
	if r := e.run("apply", "-f", e.spec, "--auto-approve"); r.code != 0 && !strings.Contains(r.stdout+r.stderr, "--force-conflicts") {
		t.Fatalf("apply over a hand edit: exit %d without naming --force-conflicts\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve", "--force-conflicts")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if canI(t, kc, "mallory@example.com", nil, "list", "pods") {
		t.Error("the hand-added subject kept its access after the apply")
	}

	// Drift: bob's member removed by hand is added again.
	_, pol = viewers(t, rm, gcp.SandboxProject)
	for _, b := range pol.Bindings {
		if b.Role == gcp.RoleClusterViewer {
			b.Members = slices.DeleteFunc(b.Members, func(m string) bool { return m == bob })
		}
	}
	if _, err := rm.Projects.SetIamPolicy("projects/"+gcp.SandboxProject, &crm.SetIamPolicyRequest{Policy: pol}).Do(); err != nil {
		t.Fatal(err)
	}
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(p.stdout, gcpRegion, "+"); len(got) != 1 || !strings.Contains(got[0], gcp.TypeProjectIAMMember+".bob-") {
		t.Errorf("after bob's member was removed by hand: creates %v, want bob's member only\n%s", got, p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if got, _ := viewers(t, rm, gcp.SandboxProject); !slices.Contains(got, bob) {
		t.Errorf("bob's member was not added again: %v", got)
	}

	// bob becomes an admin: a new binding, made before the old one goes;
	// his IAM member stays.
	e.editSpec(`admins: ["user:alice@example.com", "group:ops@example.com"]`, `admins: ["user:alice@example.com", "group:ops@example.com", "`+bob+`"]`)
	e.editSpec(`viewers: ["`+bob+`", "`+ci+`"]`, `viewers: ["`+ci+`"]`)
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(p.stdout, gcpRegion, "+/-"); len(got) != 1 || !strings.Contains(got[0], kubernetes.TypeClusterRoleBinding+".bob-") {
		t.Errorf("moving bob to the admins: replacements %v, want bob's binding only\n%s", got, p.stdout)
	}
	for _, sym := range []string{"+", "-", "~", "-/+", "+/-"} {
		for _, l := range changeLines(p.stdout, gcpRegion, sym) {
			if strings.Contains(l, gcp.TypeProjectIAMMember) {
				t.Errorf("moving bob to the admins touches an IAM member: %s", l)
			}
		}
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !canI(t, kc, "bob@example.com", nil, "create", "namespaces") {
		t.Error("bob cannot write after he became an admin")
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// After `state rm`, bob's binding (by its managed-by label) and
	// member (the grant is its identity) are adopted, not made twice; and
	// alice's member is imported by Terraform's ID form.
	addr := func(typ, who string) string {
		for _, r := range e.state(gcpRegion).Resources {
			if strings.HasPrefix(r.Address, gcpRegion+"/"+typ+"."+who+"-") {
				return r.Address
			}
		}
		t.Fatalf("no %s of %s in state", typ, who)
		return ""
	}
	bobBinding, bobMember, aliceMember := addr(kubernetes.TypeClusterRoleBinding, "bob"), addr(gcp.TypeProjectIAMMember, "bob"), addr(gcp.TypeProjectIAMMember, "alice")
	e.must(0, "state", "rm", bobBinding)
	e.must(0, "state", "rm", bobMember)
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "<= "+bobBinding+" (adopting ") || !strings.Contains(p.stdout, "<= "+bobMember+" (adopting ") ||
		!strings.Contains(p.stdout, "2 to import, 0 to add, 0 to change, 0 to destroy") {
		t.Errorf("the plan after state rm does not adopt bob's binding and member:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "state", "rm", aliceMember)
	e.must(0, "import", "-f", e.spec, aliceMember, gcp.SandboxProject+" "+gcp.RoleClusterViewer+" "+alice)
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// Destroy removes regionctl's members and keeps carol's.
	e.destroyToEmpty(gcpRegion, true)
	if got, _ := viewers(t, rm, gcp.SandboxProject); !slices.Equal(got, []string{"user:carol@example.com"}) {
		t.Errorf("after destroy, clusterViewer members = %v, want only the one granted by hand", got)
	}
}
