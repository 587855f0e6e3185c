package gcp_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"google.golang.org/api/cloudresourcemanager/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/gcp"
)

// crmClients are Resource Manager's official REST clients (v3, as the
// driver uses; v1, as gcloud calls it) pointed at the sandbox.
func crmClients(t *testing.T, e *env) (*crm.Service, *cloudresourcemanager.Service) {
	t.Helper()
	ctx := context.Background()
	opts := []option.ClientOption{option.WithEndpoint(e.sb.Endpoints()[gcp.ComputeKey] + "/"), option.WithTokenSource(e.ts)}
	v3, err := crm.NewService(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := cloudresourcemanager.NewService(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v3, v1
}

func members(p *crm.Policy, role string) []string {
	for _, b := range p.Bindings {
		if b.Role == role {
			return b.Members
		}
	}
	return nil
}

// TestProjectIAMPolicy: getIamPolicy and setIamPolicy on the REST wire
// format, through the official v3 and v1 clients: a project starts with
// the sandbox's service account as owner, a set with the current etag
// replaces the policy and changes the etag, a set with a stale etag is
// 409 ABORTED in Google's error body, an empty binding is dropped, bad
// members are 400 INVALID_ARGUMENT, v1 and v3 see the same policy, an
// unknown project is 403, and the request log names each call.
func TestProjectIAMPolicy(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir, 0)
	ctx := context.Background()
	v3, v1 := crmClients(t, e)

	p, err := v3.Projects.GetIamPolicy("projects/"+project, &crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got := members(p, "roles/owner"); !slices.Equal(got, []string{"serviceAccount:" + gcp.ServiceAccountEmail}) || p.Etag == "" {
		t.Fatalf("new project's policy: owners %v, etag %q", got, p.Etag)
	}
	stale := p.Etag
	p.Bindings = append(p.Bindings, &crm.Binding{Role: "roles/container.clusterViewer", Members: []string{"user:alice@example.com"}})
	set, err := v3.Projects.SetIamPolicy("projects/"+project, &crm.SetIamPolicyRequest{Policy: p}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if set.Etag == stale || !slices.Equal(members(set, "roles/container.clusterViewer"), []string{"user:alice@example.com"}) {
		t.Fatalf("set: etag %q (was %q), viewers %v", set.Etag, stale, members(set, "roles/container.clusterViewer"))
	}

	// A write based on the old read is refused, as Google refuses it.
	p.Bindings = p.Bindings[:1]
	_, err = v3.Projects.SetIamPolicy("projects/"+project, &crm.SetIamPolicyRequest{Policy: p}).Context(ctx).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusConflict || len(ge.Errors) == 0 || ge.Errors[0].Reason != "aborted" {
		t.Fatalf("set with a stale etag: %v, want 409 aborted", err)
	}

	// v1 (gcloud's) sees the same policy, by project ID.
	p1, err := v1.Projects.GetIamPolicy(project, &cloudresourcemanager.GetIamPolicyRequest{}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if p1.Etag != set.Etag || len(p1.Bindings) != 2 {
		t.Fatalf("v1 get: etag %q bindings %d, want %q and 2", p1.Etag, len(p1.Bindings), set.Etag)
	}
	// A binding left without members is dropped.
	p1.Bindings[1].Members = nil
	p1b, err := v1.Projects.SetIamPolicy(project, &cloudresourcemanager.SetIamPolicyRequest{Policy: p1}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(p1b.Bindings) != 1 {
		t.Errorf("a binding without members was kept: %+v", p1b.Bindings)
	}

	// Bad input and unknown projects.
	bad := &crm.Policy{Etag: p1b.Etag, Bindings: []*crm.Binding{{Role: "roles/owner", Members: []string{"serviceAccount:" + gcp.ServiceAccountEmail}}, {Role: "roles/viewer", Members: []string{"alice@example.com"}}}}
	if _, err := v3.Projects.SetIamPolicy("projects/"+project, &crm.SetIamPolicyRequest{Policy: bad}).Context(ctx).Do(); !errors.As(err, &ge) || ge.Code != http.StatusBadRequest {
		t.Errorf("a member without its kind: %v, want 400", err)
	}
	if _, err := v3.Projects.GetIamPolicy("projects/no-such-project", &crm.GetIamPolicyRequest{}).Context(ctx).Do(); !errors.As(err, &ge) || ge.Code != http.StatusForbidden {
		t.Errorf("an unknown project: %v, want 403", err)
	}
	// Other projects are kept apart.
	pb, err := v3.Projects.GetIamPolicy("projects/proj-b", &crm.GetIamPolicyRequest{}).Context(ctx).Do()
	if err != nil || len(pb.Bindings) != 1 {
		t.Errorf("proj-b: %v %+v", err, pb)
	}

	ops := e.sb.Requests()
	for _, want := range []string{"cloudresourcemanager:projects.getIamPolicy", "cloudresourcemanager:projects.setIamPolicy"} {
		if ops[want] == 0 {
			t.Errorf("the request log lacks %s: %v", want, ops)
		}
	}

	// The policy survives a restart of the sandbox.
	e.sb.Close()
	e2 := startWith(t, sandbox.Options{Dir: dir, NoKubernetes: true}, &clock{t: time.Now()})
	v3b, _ := crmClients(t, e2)
	again, err := v3b.Projects.GetIamPolicy("projects/"+project, &crm.GetIamPolicyRequest{}).Context(ctx).Do()
	if err != nil || again.Etag != p1b.Etag {
		t.Errorf("after a restart: %v, etag %q, want %q", err, again.Etag, p1b.Etag)
	}
}
