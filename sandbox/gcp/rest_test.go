package gcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"github.com/google/go-cmp/cmp"
	containerrest "google.golang.org/api/container/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/regionctl/regionctl/sandbox/gcp"
)

// restGKE is Google's discovery-based GKE client (what gcloud's REST calls
// look like) pointed at the sandbox's GKE endpoint.
func restGKE(t testing.TB, e *env) *containerrest.Service {
	t.Helper()
	svc, err := containerrest.NewService(context.Background(),
		option.WithEndpoint(e.sb.Endpoints()[gcp.ContainerRESTKey]+"/"), option.WithTokenSource(e.ts))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// restToProto reads a REST reply value into the gRPC message: every member
// the REST client decoded must be a field of the proto.
func restToProto(t *testing.T, v any, m proto.Message) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := protojson.Unmarshal(b, m); err != nil {
		t.Fatalf("REST reply is not a %T: %v\n%s", m, err, b)
	}
}

// waitRESTOp polls an operation over REST until DONE.
func waitRESTOp(t *testing.T, svc *containerrest.Service, e *env, op *containerrest.Operation) *containerrest.Operation {
	t.Helper()
	for range 100 {
		got, err := svc.Projects.Locations.Operations.Get(loc + "/operations/" + op.Name).Do()
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == "DONE" {
			return got
		}
		e.clk.Advance(1e9)
	}
	t.Fatalf("operation %s never DONE", op.Name)
	return nil
}

// TestGKEOverREST: one model, two transports. A cluster made over gRPC
// reads the same over REST (Google's discovery-based client), a node pool
// made and resized over REST reads the same over gRPC, the zonal (legacy)
// paths answer, and errors come in Google's JSON error shape.
func TestGKEOverREST(t *testing.T) {
	e := gkeEnv(t, t.TempDir())
	network(t, e)
	ctx := context.Background()
	svc := restGKE(t, e)

	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	// The operation is the same over both.
	restOp, err := svc.Projects.Locations.Operations.Get(loc + "/operations/" + op.GetName()).Do()
	if err != nil {
		t.Fatal(err)
	}
	if restOp.OperationType != "CREATE_CLUSTER" || restOp.Status != "PENDING" || restOp.TargetLink != op.GetTargetLink() {
		t.Errorf("REST operation = %+v", restOp)
	}
	waitOp(t, e, op)

	grpcCluster, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	restCluster, err := svc.Projects.Locations.Clusters.Get(clusterKey).Do()
	if err != nil {
		t.Fatal(err)
	}
	got := &containerpb.Cluster{}
	restToProto(t, restCluster, got)
	if diff := cmp.Diff(grpcCluster, got, protocmp.Transform()); diff != "" {
		t.Errorf("cluster over REST differs from gRPC (-grpc +rest):\n%s", diff)
	}
	if restCluster.Status != "RUNNING" || restCluster.NodePools[0].Autoscaling.MaxNodeCount != 3 || restCluster.IpAllocationPolicy.ServicesSecondaryRangeName != "services" {
		t.Errorf("REST cluster = %+v", restCluster)
	}

	// A node pool made over REST, resized with :setSize, read over gRPC.
	pop, err := svc.Projects.Locations.Clusters.NodePools.Create(clusterKey, &containerrest.CreateNodePoolRequest{
		NodePool: &containerrest.NodePool{Name: "web", InitialNodeCount: 2, Config: &containerrest.NodeConfig{MachineType: "e2-standard-2", Labels: map[string]string{"tier": "web"}}},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if done := waitRESTOp(t, svc, e, pop); done.Error != nil || done.OperationType != "CREATE_NODE_POOL" {
		t.Fatalf("create node pool = %+v", done)
	}
	gp, err := e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: clusterKey + "/nodePools/web"})
	if err != nil {
		t.Fatal(err)
	}
	if gp.GetInitialNodeCount() != 2 || gp.GetConfig().GetMachineType() != "e2-standard-2" || gp.GetConfig().GetLabels()["tier"] != "web" || gp.GetStatus() != containerpb.NodePool_RUNNING {
		t.Errorf("gRPC node pool = %v", gp)
	}
	sop, err := svc.Projects.Locations.Clusters.NodePools.SetSize(clusterKey+"/nodePools/web", &containerrest.SetNodePoolSizeRequest{NodeCount: 4}).Do()
	if err != nil {
		t.Fatal(err)
	}
	waitRESTOp(t, svc, e, sop)
	mig := gp.GetInstanceGroupUrls()[0]
	zone := strings.Split(strings.SplitAfter(mig, "/zones/")[1], "/")[0]
	igm, err := e.igms.Get(ctx, &computepb.GetInstanceGroupManagerRequest{Project: project, Zone: zone, InstanceGroupManager: mig[strings.LastIndex(mig, "/")+1:]})
	if err != nil {
		t.Fatal(err)
	}
	if igm.GetTargetSize() != 4 {
		t.Errorf("target size after REST setSize = %d, want 4", igm.GetTargetSize())
	}

	// Lists, the "-" location, and the legacy zonal paths.
	list, err := svc.Projects.Locations.Clusters.List("projects/" + project + "/locations/-").Do()
	if err != nil || len(list.Clusters) != 1 || len(list.Clusters[0].NodePools) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	zl, err := svc.Projects.Zones.Clusters.List(project, "us-central1").Do()
	if err != nil || len(zl.Clusters) != 1 || zl.Clusters[0].Name != "demo" {
		t.Fatalf("zonal list = %+v, %v", zl, err)
	}
	pools, err := svc.Projects.Zones.Clusters.NodePools.List(project, "us-central1", "demo").Do()
	if err != nil || len(pools.NodePools) != 2 {
		t.Fatalf("zonal node pool list = %+v, %v", pools, err)
	}
	sc, err := svc.Projects.Locations.GetServerConfig(loc).Do()
	if err != nil || sc.DefaultClusterVersion == "" || len(sc.Channels) == 0 {
		t.Fatalf("server config = %+v, %v", sc, err)
	}

	// Errors: Google's JSON error shape, the gRPC code's HTTP status.
	_, err = svc.Projects.Locations.Clusters.Get(loc + "/clusters/nope").Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusNotFound || len(ge.Errors) == 0 || ge.Errors[0].Reason != "notFound" ||
		!strings.Contains(ge.Message, "Not found: "+loc+"/clusters/nope") {
		t.Errorf("get missing cluster over REST: %#v", err)
	}
	_, err = svc.Projects.Locations.Clusters.NodePools.Create(clusterKey, &containerrest.CreateNodePoolRequest{
		NodePool: &containerrest.NodePool{Name: "web", InitialNodeCount: 1}}).Do()
	if !errors.As(err, &ge) || ge.Code != http.StatusConflict || ge.Errors[0].Reason != "alreadyExists" {
		t.Errorf("duplicate node pool over REST: %v", err)
	}
	_, err = svc.Projects.Locations.Clusters.Update(clusterKey, &containerrest.UpdateClusterRequest{
		Update: &containerrest.ClusterUpdate{DesiredMasterVersion: "1.31"}}).Do()
	if !errors.As(err, &ge) || ge.Code != http.StatusBadRequest || ge.Errors[0].Reason != "badRequest" {
		t.Errorf("downgrade over REST: %v", err)
	}

	// The raw body: status name, strict request decoding, unknown query
	// parameters refused, unknown methods 404.
	body := restDo(t, e, http.MethodGet, "/v1/"+loc+"/clusters/nope", "", true)
	if body.code != 404 || body.Error.Status != "NOT_FOUND" || body.Error.Code != 404 {
		t.Errorf("raw 404 = %+v", body)
	}
	if b := restDo(t, e, http.MethodPost, "/v1/"+clusterKey+"/nodePools", `{"nodePool":{"name":"x","initialNodeCount":1,"colour":"red"}}`, true); b.code != 400 || b.Error.Status != "INVALID_ARGUMENT" || !strings.Contains(b.Error.Message, "colour") {
		t.Errorf("unknown body member = %+v", b)
	}
	if b := restDo(t, e, http.MethodGet, "/v1/"+clusterKey+"?colour=red", "", true); b.code != 400 || !strings.Contains(b.Error.Message, "colour") {
		t.Errorf("unknown query parameter = %+v", b)
	}
	if b := restDo(t, e, http.MethodGet, "/v1/"+clusterKey+"?alt=json&prettyPrint=false", "", true); b.code != 200 {
		t.Errorf("system parameters = %+v", b)
	}
	if b := restDo(t, e, http.MethodGet, "/v1/"+clusterKey+":frobnicate", "", true); b.code != 404 {
		t.Errorf("unknown method = %+v", b)
	}
	// Calls over REST are logged under the gRPC method's name.
	if n := e.sb.Requests()["container:CreateNodePool"]; n != 3 {
		t.Errorf("container:CreateNodePool requests = %d, want 3 (REST)", n)
	}
}

// restReply is a raw REST reply.
type restReply struct {
	code   int
	header http.Header
	raw    string
	Error  struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Reason       string `json:"reason"`
			Location     string `json:"location"`
			LocationType string `json:"locationType"`
		} `json:"errors"`
		Details []struct {
			Type     string            `json:"@type"`
			Reason   string            `json:"reason"`
			Domain   string            `json:"domain"`
			Metadata map[string]string `json:"metadata"`
		} `json:"details"`
	} `json:"error"`
}

// restDo sends a raw request to GKE's REST endpoint (path starting
// "/v1/") or Compute's ("/compute/v1/", or any path after "compute:"),
// with the sandbox's token when auth.
func restDo(t *testing.T, e *env, method, path, body string, auth bool) restReply {
	t.Helper()
	return restDoAuth(t, e, method, path, body, func() string {
		if !auth {
			return ""
		}
		tok, err := e.ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok.AccessToken
	}())
}

func restDoAuth(t *testing.T, e *env, method, path, body, authz string) restReply {
	t.Helper()
	base := e.sb.Endpoints()[gcp.ContainerRESTKey]
	if p, ok := strings.CutPrefix(path, "compute:"); ok { // another API on the Compute endpoint
		base, path = e.sb.Endpoints()[gcp.ComputeKey], p
	}
	if strings.HasPrefix(path, "/compute/") {
		base = e.sb.Endpoints()[gcp.ComputeKey]
	}
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := restReply{code: resp.StatusCode, header: resp.Header, raw: string(b)}
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d with a body that is not Google's JSON error: %s", method, path, resp.StatusCode, b)
		}
	}
	return out
}

// TestGKESecurityGroup: Google Groups for RBAC
// (authenticatorGroupsConfig) is kept as created over gRPC, reads the same
// over REST, changes in place with UpdateCluster over REST, and a group
// not named gke-security-groups@DOMAIN is refused, as GKE refuses it.
func TestGKESecurityGroup(t *testing.T) {
	e := gkeEnv(t, t.TempDir())
	network(t, e)
	ctx := context.Background()
	svc := restGKE(t, e)

	bad := demoCluster()
	bad.AuthenticatorGroupsConfig = &containerpb.AuthenticatorGroupsConfig{Enabled: true, SecurityGroup: "ops@example.com"}
	_, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: bad})
	grpcCode(t, err, codes.InvalidArgument)

	c := demoCluster()
	c.AuthenticatorGroupsConfig = &containerpb.AuthenticatorGroupsConfig{Enabled: true, SecurityGroup: "gke-security-groups@example.com"}
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: c})
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, e, op)
	rc, err := svc.Projects.Locations.Clusters.Get(clusterKey).Do()
	if err != nil {
		t.Fatal(err)
	}
	if g := rc.AuthenticatorGroupsConfig; g == nil || !g.Enabled || g.SecurityGroup != "gke-security-groups@example.com" {
		t.Fatalf("REST authenticatorGroupsConfig = %+v", g)
	}
	if _, err := svc.Projects.Locations.Clusters.Update(clusterKey, &containerrest.UpdateClusterRequest{Update: &containerrest.ClusterUpdate{
		DesiredAuthenticatorGroupsConfig: &containerrest.AuthenticatorGroupsConfig{Enabled: true, SecurityGroup: "gke-security-groups"}}}).Do(); err == nil {
		t.Error("a security group without a domain was accepted")
	}
	uop, err := svc.Projects.Locations.Clusters.Update(clusterKey, &containerrest.UpdateClusterRequest{Update: &containerrest.ClusterUpdate{
		DesiredAuthenticatorGroupsConfig: &containerrest.AuthenticatorGroupsConfig{Enabled: true, SecurityGroup: "gke-security-groups@corp.example"}}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	waitRESTOp(t, svc, e, uop)
	gc, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	if got := gc.GetAuthenticatorGroupsConfig().GetSecurityGroup(); got != "gke-security-groups@corp.example" {
		t.Errorf("after the update over REST, gRPC reads security group %q", got)
	}
}
