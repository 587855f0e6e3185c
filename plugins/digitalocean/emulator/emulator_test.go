package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/regionctl/regionctl/plugins/digitalocean/emulator"
	"github.com/regionctl/regionctl/providers/kit"
)

func start(t *testing.T, cfg emulator.Config) (*emulator.Emulator, *godo.Client) {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.NoKubernetes = true
	em, err := emulator.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = em.Close() })
	return em, client(t, em.URL(), "token-a")
}

func client(t *testing.T, base, token string) *godo.Client {
	t.Helper()
	c := godo.NewFromToken(token)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func apiError(t *testing.T, err error) *godo.ErrorResponse {
	t.Helper()
	var e *godo.ErrorResponse
	if !errors.As(err, &e) {
		t.Fatalf("want a godo.ErrorResponse, got %v", err)
	}
	return e
}

// rawError reads an error body as the API writes it.
func rawError(t *testing.T, resp *http.Response) map[string]string {
	t.Helper()
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

func get(t *testing.T, u, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestErrorBodies: 401 without a token, 404 for an unknown id and 422 for
// a bad request, each with the API's {"id", "message", "request_id"} and
// the RateLimit headers.
func TestErrorBodies(t *testing.T) {
	em, c := start(t, emulator.Config{})
	ctx := context.Background()

	resp := get(t, em.URL()+"/v2/vpcs", "")
	if body := rawError(t, resp); resp.StatusCode != 401 || body["id"] != "Unauthorized" || body["message"] == "" {
		t.Errorf("no token: %d %v; want 401 Unauthorized", resp.StatusCode, body)
	}
	resp = get(t, em.URL()+"/v2/vpcs/nope", "t")
	body := rawError(t, resp)
	if resp.StatusCode != 404 || body["id"] != "not_found" || body["request_id"] == "" || body["request_id"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("unknown VPC: %d %v; want 404 not_found with the request id", resp.StatusCode, body)
	}
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}

	_, r, err := c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "a", RegionSlug: "fra1", IPRange: "8.8.0.0/16"})
	if e := apiError(t, err); r.StatusCode != 422 || !strings.Contains(e.Message, "private") {
		t.Errorf("public range: %d %q; want 422 naming the private ranges", r.StatusCode, e.Message)
	}
	if _, _, err := c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "a", RegionSlug: "fra1", IPRange: "10.1.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	_, r, err = c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "b", RegionSlug: "fra1", IPRange: "10.1.128.0/20"})
	if e := apiError(t, err); r.StatusCode != 422 || !strings.Contains(e.Message, "overlaps") {
		t.Errorf("overlapping range: %d %q; want 422 overlaps", r.StatusCode, e.Message)
	}
	_, r, err = c.Kubernetes.Create(ctx, &godo.KubernetesClusterCreateRequest{Name: "k", RegionSlug: "fra1", VersionSlug: "1.20.0-do.0",
		NodePools: []*godo.KubernetesNodePoolCreateRequest{{Name: "p", Size: "s-2vcpu-4gb", Count: 1}}})
	if e := apiError(t, err); r.StatusCode != 422 || !strings.Contains(e.Message, "version") {
		t.Errorf("unknown version: %d %q; want 422 about the version", r.StatusCode, e.Message)
	}
}

// TestRateLimit: past the per-minute burst a token gets 429 with
// too_many_requests and Retry-After; another token is not affected.
func TestRateLimit(t *testing.T) {
	em, _ := start(t, emulator.Config{RateBurst: 3})
	for i := 0; i < 3; i++ {
		resp := get(t, em.URL()+"/v2/vpcs", "a")
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		if got, want := resp.Header.Get("RateLimit-Remaining"), strconv.Itoa(5000-i-1); got != want {
			t.Errorf("request %d: RateLimit-Remaining %s, want %s", i, got, want)
		}
	}
	resp := get(t, em.URL()+"/v2/vpcs", "a")
	body := rawError(t, resp)
	if resp.StatusCode != 429 || body["id"] != "too_many_requests" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("4th request: %d %v Retry-After %q; want 429 too_many_requests with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err != nil || time.Unix(reset, 0).Before(time.Now()) {
		t.Errorf("RateLimit-Reset %q is not a time to come", resp.Header.Get("RateLimit-Reset"))
	}
	other := get(t, em.URL()+"/v2/vpcs", "b")
	other.Body.Close()
	if other.StatusCode != 200 {
		t.Errorf("another token: %d, want 200", other.StatusCode)
	}
}

// TestPagination: lists come in pages with links.pages and meta.total, and
// godo walks them.
func TestPagination(t *testing.T) {
	em, c := start(t, emulator.Config{})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, _, err := c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "v" + strconv.Itoa(i), RegionSlug: "nyc1",
			IPRange: "10." + strconv.Itoa(i) + ".0.0/16"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	opt := &godo.ListOptions{Page: 1, PerPage: 2}
	for pages := 1; ; pages++ {
		vpcs, resp, err := c.VPCs.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Meta == nil || resp.Meta.Total != 5 {
			t.Errorf("page %d: meta %+v, want total 5", pages, resp.Meta)
		}
		for _, v := range vpcs {
			seen[v.ID] = true
		}
		if resp.Links.IsLastPage() {
			if pages != 3 {
				t.Errorf("%d pages of 2 for 5 VPCs, want 3", pages)
			}
			break
		}
		cur, err := resp.Links.CurrentPage()
		if err != nil {
			t.Fatal(err)
		}
		if next := resp.Links.Pages.Next; !strings.HasPrefix(next, em.URL()+"/v2/vpcs?") {
			t.Errorf("links.pages.next %q is not the emulator's URL", next)
		}
		opt.Page = cur + 1
	}
	if len(seen) != 5 {
		t.Errorf("walked %d VPCs, want 5", len(seen))
	}
}

// TestClusterLifecycle: a cluster is provisioning, then running; its node
// pools scale and refuse a size change; its last pool cannot go; its VPC
// cannot be deleted while it lives; all of it survives a restart.
func TestClusterLifecycle(t *testing.T) {
	dir := t.TempDir()
	em, c := start(t, emulator.Config{Dir: dir, Provisioning: 50 * time.Millisecond})
	ctx := context.Background()
	v, _, err := c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "net", RegionSlug: "sgp1", IPRange: "10.20.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	cl, r, err := c.Kubernetes.Create(ctx, &godo.KubernetesClusterCreateRequest{Name: "k", RegionSlug: "sgp1", VersionSlug: "latest", VPCUUID: v.ID,
		Tags: []string{"mine"}, NodePools: []*godo.KubernetesNodePoolCreateRequest{{Name: "p", Size: "s-2vcpu-4gb", Count: 2,
			Taints: []godo.Taint{{Key: "k", Value: "v", Effect: "NoSchedule"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 201 || cl.Status.State != godo.KubernetesClusterStatusProvisioning {
		t.Errorf("create: %d %s, want 201 provisioning", r.StatusCode, cl.Status.State)
	}
	if !strings.Contains(strings.Join(cl.Tags, ","), "k8s:"+cl.ID) || len(cl.NodePools[0].Nodes) != 2 || cl.NodePools[0].Taints[0].String() != "k=v:NoSchedule" {
		t.Errorf("create: tags %v, %d nodes, taints %v", cl.Tags, len(cl.NodePools[0].Nodes), cl.NodePools[0].Taints)
	}
	err = kit.Backoff{Initial: 10 * time.Millisecond, Max: time.Second}.Poll(ctx, func() (bool, error) {
		cl, _, err = c.Kubernetes.Get(ctx, cl.ID)
		if err == nil && cl.Status.State == godo.KubernetesClusterStatusError {
			t.Fatalf("cluster failed: %s", cl.Status.Message)
		}
		return err == nil && cl.Status.State == godo.KubernetesClusterStatusRunning, err
	})
	if err != nil {
		t.Fatal(err)
	}
	pool := cl.NodePools[0]
	auto, lo, hi := true, 1, 4
	p, _, err := c.Kubernetes.UpdateNodePool(ctx, cl.ID, pool.ID, &godo.KubernetesNodePoolUpdateRequest{Name: "p", AutoScale: &auto, MinNodes: &lo, MaxNodes: &hi})
	if err != nil || !p.AutoScale || p.MinNodes != 1 || p.MaxNodes != 4 {
		t.Errorf("autoscale: %+v %v", p, err)
	}
	r, err = c.Kubernetes.DeleteNodePool(ctx, cl.ID, pool.ID)
	if err == nil || r.StatusCode != 422 {
		t.Errorf("delete the last pool: %v, want 422", err)
	}
	r, err = c.VPCs.Delete(ctx, v.ID)
	if err == nil || r.StatusCode != 403 {
		t.Errorf("delete a VPC with a cluster: %v, want 403", err)
	}
	kc, _, err := c.Kubernetes.GetKubeConfig(ctx, cl.ID, nil)
	if err != nil || !strings.Contains(string(kc.KubeconfigYAML), "token: doks-sandbox-") {
		t.Errorf("kubeconfig: %v\n%s", err, kc.KubeconfigYAML)
	}

	// A new emulator on the same directory has the same cloud.
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	em2, c2 := start(t, emulator.Config{Dir: dir})
	got, _, err := c2.Kubernetes.Get(ctx, cl.ID)
	if err != nil || got.Name != "k" || len(got.NodePools) != 1 || got.NodePools[0].MaxNodes != 4 {
		t.Fatalf("after a restart: %+v %v", got, err)
	}
	if n := len(em2.Objects()); n != 3 {
		t.Errorf("after a restart: %d objects, want 3 (VPC, cluster, pool)", n)
	}
	if _, err := c2.Kubernetes.Delete(ctx, cl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.VPCs.Delete(ctx, v.ID); err != nil {
		t.Errorf("delete the VPC after its cluster: %v", err)
	}
	if objs := em2.Objects(); len(objs) != 0 {
		t.Errorf("left %v", objs)
	}
}
