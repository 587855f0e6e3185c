package gcp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

// loadYAML loads one region from text as region.yaml, so diagnostics
// carry file:line.
func loadYAML(t *testing.T, text string) (*spec.Region, string) {
	t.Helper()
	rs, ds := spec.LoadBytes("region.yaml", []byte(text), spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load: %v", ds)
	}
	return rs[0], "region.yaml"
}

const accessRegion = `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: eu1}
spec:
  provider: gcp
  location: europe-west1
  network: {cidr: 10.20.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 3, max: 6}
  access:
    admins: [user:alice@example.com]
    viewers:
      - alice.b@example.com
      - group:ops@example.com
      - arn:aws:iam::111122223333:role/platform
`

// TestExpandAccess: each principal is one project IAM member
// (roles/container.clusterViewer) and one ClusterRoleBinding (cluster-admin
// or view, User or Group); bad principals are refused at their own
// file:line with a fix, and group: principals need the security group,
// which is then the cluster's.
func TestExpandAccess(t *testing.T) {
	d := newOffline(t)
	r, path := loadYAML(t, accessRegion)
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, x := range resp.Diagnostics {
		got[x.Path] = x.Pos.String() + " " + x.Summary + " / " + x.Fix
	}
	for p, want := range map[string]string{
		"spec.access.viewers[0]": path + ":15:9 \"alice.b@example.com\" has no member kind / write \"user:alice.b@example.com\"",
		"spec.access.viewers[1]": "spec.overrides.gcp.securityGroup: gke-security-groups@",
		"spec.access.viewers[2]": "is an AWS principal",
	} {
		if !strings.Contains(got[p], want) {
			t.Errorf("%s: %q, want it to hold %q", p, got[p], want)
		}
	}
	if len(resp.Diagnostics) != 3 {
		t.Errorf("diagnostics: %v", resp.Diagnostics)
	}

	// Fixed: the group needs the security group, which the cluster gets.
	fixed := strings.NewReplacer("      - alice.b@example.com\n", "      - user:alice.b@example.com\n",
		"      - arn:aws:iam::111122223333:role/platform\n", "",
		"  access:\n", "  overrides: {gcp: {project: my-project, securityGroup: gke-security-groups@example.com}}\n  access:\n").Replace(accessRegion)
	r, _ = loadYAML(t, fixed)
	resp = expand(t, d, r)
	if sg := byAddress(resp, gcpdriver.TypeCluster+".main").Inputs["security_group"]; sg != "gke-security-groups@example.com" {
		t.Errorf("cluster security_group = %v", sg)
	}
	var members, bindings []string
	for _, res := range resp.Resources {
		switch res.Type {
		case gcpdriver.TypeProjectIAMMember:
			if res.Inputs["project"] != "my-project" || res.Inputs["role"] != gcpdriver.RoleClusterViewer {
				t.Errorf("%s: %v", res.Address, res.Inputs)
			}
			members = append(members, res.Inputs["member"].(string))
		case kubernetes.TypeClusterRoleBinding:
			s := res.Inputs["subjects"].([]any)[0].(map[string]any)
			bindings = append(bindings, res.Inputs["name"].(string)+" "+res.Inputs["role"].(string)+" "+s["kind"].(string)+" "+s["name"].(string))
		}
	}
	if strings.Join(members, ",") != "user:alice@example.com,user:alice.b@example.com,group:ops@example.com" {
		t.Errorf("IAM members: %v", members)
	}
	want := []string{
		"regionctl-access:cluster-admin:user:alice@example.com cluster-admin User alice@example.com",
		"regionctl-access:view:user:alice.b@example.com view User alice.b@example.com",
		"regionctl-access:view:group:ops@example.com view Group ops@example.com",
	}
	if strings.Join(bindings, "\n") != strings.Join(want, "\n") {
		t.Errorf("bindings:\n%s\nwant:\n%s", strings.Join(bindings, "\n"), strings.Join(want, "\n"))
	}

	// A malformed security group is refused at its field.
	r, _ = loadYAML(t, strings.Replace(fixed, "securityGroup: gke-security-groups@example.com", "securityGroup: ops@example.com", 1))
	resp, _ = d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if !resp.Diagnostics.HasErrors() || resp.Diagnostics[0].Path != "spec.overrides.gcp.securityGroup" {
		t.Errorf("a wrong security group: %v", resp.Diagnostics)
	}
}

// TestTwoRegionsShareAMember pins the documented semantics of one
// principal listed by two regions in one project (Terraform's
// google_project_iam_member): both resources own the one member; deleting
// one region's removes it, the other's Read then reports it gone (the next
// plan adds it back), and its Create adds it again without touching
// anyone else's grant.
func TestTwoRegionsShareAMember(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	ctx := context.Background()
	in := providers.Values{"project": gcpdriver.SandboxProject, "role": gcpdriver.RoleClusterViewer, "member": "user:alice@example.com"}
	other := providers.Values{"project": gcpdriver.SandboxProject, "role": gcpdriver.RoleClusterViewer, "member": "user:bob@example.com"}
	create := func(addr string, in providers.Values) providers.Instance {
		t.Helper()
		cr, err := d.Create(ctx, providers.CreateRequest{Address: addr, Type: gcpdriver.TypeProjectIAMMember, Inputs: in, IdempotencyKey: keyOf(addr)})
		if err != nil {
			t.Fatalf("Create %s: %v", addr, err)
		}
		return providers.Instance{Address: addr, Type: gcpdriver.TypeProjectIAMMember, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
	}
	exists := func(inst providers.Instance) bool {
		t.Helper()
		r, err := d.Read(ctx, providers.ReadRequest{Instance: inst})
		if err != nil {
			t.Fatal(err)
		}
		return r.Exists
	}
	eu := create("eu1/"+gcpdriver.TypeProjectIAMMember+".alice", in)
	us := create("us1/"+gcpdriver.TypeProjectIAMMember+".alice", in)
	bob := create("us1/"+gcpdriver.TypeProjectIAMMember+".bob", other)
	if eu.ID != us.ID || eu.ID != gcpdriver.SandboxProject+" "+gcpdriver.RoleClusterViewer+" user:alice@example.com" {
		t.Errorf("IDs %q and %q, want Terraform's import ID, the same for both", eu.ID, us.ID)
	}
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: eu}); err != nil {
		t.Fatal(err)
	}
	if exists(us) || !exists(bob) {
		t.Errorf("after eu1's delete: us1's alice exists %v (want false: one shared member), bob exists %v (want true)", exists(us), exists(bob))
	}
	create("us1/"+gcpdriver.TypeProjectIAMMember+".alice", in)
	if !exists(us) || !exists(bob) {
		t.Error("us1's next apply did not give alice her member back, or lost bob's")
	}
	for _, inst := range []providers.Instance{us, bob} {
		if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: inst}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: us}); err != nil {
		t.Errorf("deleting a member that is gone: %v", err)
	}
}

// TestConcurrentGrantsDoNotRace: the grants of one apply, created in
// parallel as the engine does, edit the project's policy one after the
// other: every member is granted, with one setIamPolicy each and no etag
// conflict to retry.
func TestConcurrentGrantsDoNotRace(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	ctx := context.Background()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			addr := fmt.Sprintf("eu1/%s.u%d", gcpdriver.TypeProjectIAMMember, i)
			_, err := d.Create(ctx, providers.CreateRequest{Address: addr, Type: gcpdriver.TypeProjectIAMMember, IdempotencyKey: keyOf(addr),
				Inputs: providers.Values{"project": gcpdriver.SandboxProject, "role": gcpdriver.RoleClusterViewer, "member": fmt.Sprintf("user:u%d@example.com", i)}})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := sb.Requests()["cloudresourcemanager:projects.setIamPolicy"]; got != n {
		t.Errorf("%d setIamPolicy calls for %d grants, want one each", got, n)
	}
}

// TestIAMThrottlingIsRetried: Resource Manager's throttling (429) and
// server errors (503), in Google's error body, are retried like any
// Google API call's.
func TestIAMThrottlingIsRetried(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{
		{Op: "cloudresourcemanager:projects.getIamPolicy", Kind: sandbox.FaultServerError, Nth: 1, Count: 1},
		{Op: "cloudresourcemanager:projects.setIamPolicy", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
	}})
	ctx := context.Background()
	addr := "eu1/" + gcpdriver.TypeProjectIAMMember + ".alice"
	in := providers.Values{"project": gcpdriver.SandboxProject, "role": gcpdriver.RoleClusterViewer, "member": "user:alice@example.com"}
	cr, err := d.Create(ctx, providers.CreateRequest{Address: addr, Type: gcpdriver.TypeProjectIAMMember, Inputs: in, IdempotencyKey: keyOf(addr)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: addr, Type: gcpdriver.TypeProjectIAMMember, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}})
	if err != nil || !r.Exists {
		t.Fatalf("after the retried grant: exists %v, %v", r.Exists, err)
	}
	if got := sb.Requests()["cloudresourcemanager:projects.setIamPolicy"]; got != 3 {
		t.Errorf("setIamPolicy was called %d times, want 3 (two throttled, retried)", got)
	}
}
