package gcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/gcp"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// The clouds' own tools against the sandbox: gcloud (when it is
// installed; Google's apt repository is not reachable from every machine)
// and Debian's python3-googleapi driven by Google's discovery documents.

// inNetnsEnv marks a test process re-run inside its own network namespace.
const inNetnsEnv = "REGIONCTL_TEST_IN_NETNS"

// isolated re-runs the calling test in a new network namespace holding
// only a loopback interface, so the tool it drives can reach nothing but
// the sandbox (the test's own 127.0.0.1); it returns true in the parent,
// which has nothing more to do.
func isolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv(inNetnsEnv) != "" {
		return false
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skipf("unshare (util-linux) is needed to run the tool without network: %v", err)
	}
	cmd := exec.Command("unshare", "-n", "sh", "-c", `ip link set lo up && exec "$0" -test.run "^$1\$" -test.count=1 -test.v`, os.Args[0], t.Name())
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace:\n%s", out)
	if err != nil {
		if bytes.Contains(out, []byte("Operation not permitted")) {
			t.Skipf("cannot make a network namespace here (not root?): %v", err)
		}
		t.Fatalf("the test in its network namespace failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("the test in its network namespace did not pass")
	}
	return true
}

// toolEnv is a sandbox holding a RUNNING cluster "demo" in us-central1,
// with its API server when wantKube and the binaries are there.
func toolEnv(t *testing.T, wantKube bool) (e *env, withKube bool) {
	t.Helper()
	_, kerr := kube.FindBinaries()
	withKube = wantKube && kerr == nil
	e = startWith(t, sandbox.Options{Dir: t.TempDir(), Latency: map[string]time.Duration{"*": 0}, NoKubernetes: !withKube}, nil)
	network(t, e)
	ctx := context.Background()
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	if withKube {
		if err := e.sb.Kube().Wait(ctx, "gcp-"+project+"-us-central1-demo"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: loc + "/operations/" + op.GetName()}); err != nil || got.GetStatus() != containerpb.Operation_DONE {
		t.Fatalf("create: %v %v", got.GetStatus(), err)
	}
	return e, withKube
}

// gcloudFullEnv set to "full" runs every gcloud command of TestGcloud
// (`make test-gcloud`); make test runs the short list, without an API
// server, since each gcloud command takes seconds.
const gcloudFullEnv = "REGIONCTL_TEST_GCLOUD"

// TestGcloud: gcloud, pointed at the sandbox as docs/sandbox.md shows
// (CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER / _COMPUTE and the sandbox's
// key file), describes and lists over GKE's REST API, lists Compute
// (aggregated lists and the batch endpoint) and gets Google's errors; the
// full run also lists node pools, resizes, makes and deletes a whole
// region with gcloud (network, subnetwork, router and NAT, cluster, node
// pool, labels), and gets the cluster's credentials for kubectl through its
// bare-IP endpoint.
func TestGcloud(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: gcloud takes seconds per command")
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("gcloud is not installed (Google's apt repository is not reachable here); docs/sandbox.md shows the commands")
	}
	if isolated(t) {
		return
	}
	full := os.Getenv(gcloudFullEnv) == "full"
	e, withKube := toolEnv(t, full)
	ep := e.sb.Endpoints()
	dir := t.TempDir()
	key := filepath.Join(dir, "key.json")
	if err := os.WriteFile(key, keyFile(t, e.sb), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"CLOUDSDK_CONFIG="+filepath.Join(dir, "gcloud"), "KUBECONFIG="+filepath.Join(dir, "kubeconfig"),
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1", "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=1",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER="+ep[gcp.ContainerRESTKey]+"/",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE="+ep[gcp.ComputeKey]+"/compute/v1/",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE="+ep[gcp.ComputeKey]+"/",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER="+ep[gcp.ComputeKey]+"/",
		"CLOUDSDK_CORE_PROJECT="+project)
	run := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(gcloud, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if (err == nil) != wantOK {
			t.Fatalf("gcloud %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		if wantOK {
			return stdout.String()
		}
		return stderr.String()
	}
	run(true, "auth", "activate-service-account", "--key-file", key)

	grpcCluster, err := e.gke.GetCluster(context.Background(), &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	var described containerpb.Cluster
	if err := protojson.Unmarshal([]byte(run(true, "container", "clusters", "describe", "demo", "--region", "us-central1", "--format=json")), &described); err != nil {
		t.Fatalf("gcloud's cluster is not a Cluster: %v", err)
	}
	if diff := cmp.Diff(grpcCluster, &described, protocmp.Transform()); diff != "" {
		t.Errorf("gcloud describe differs from gRPC GetCluster (-grpc +gcloud):\n%s", diff)
	}
	if out := run(true, "container", "clusters", "list", "--format=value(name,location,endpoint,status)"); strings.TrimSpace(out) != "demo\tus-central1\t"+grpcCluster.GetEndpoint()+"\tRUNNING" {
		t.Errorf("clusters list = %q", out)
	}
	if out := run(true, "compute", "networks", "subnets", "list", "--format=value(name,region)"); strings.TrimSpace(out) != "nodes\tus-central1" {
		t.Errorf("subnets list = %q", out)
	}
	if out := run(true, "compute", "instance-groups", "managed", "list", "--format=value(name,targetSize)"); strings.Count(out, "\t1\n") != 3 {
		t.Errorf("instance-groups managed list = %q, want 3 groups of 1", out)
	}
	if out := run(false, "container", "clusters", "list", "--project", "no-such-project"); !strings.Contains(out, "code=403") || !strings.Contains(out, "Permission denied on resource project no-such-project.") {
		t.Errorf("clusters list in a missing project: %s", out)
	}
	// The project's IAM policy, as gcloud edits it (Resource Manager v1,
	// read-modify-write with the etag).
	run(true, "projects", "add-iam-policy-binding", project, "--member=user:bob@example.com", "--role=roles/container.clusterViewer", "--condition=None")
	if out := run(true, "projects", "get-iam-policy", project, "--format=json(bindings)"); !strings.Contains(out, `"user:bob@example.com"`) || !strings.Contains(out, `"roles/container.clusterViewer"`) || !strings.Contains(out, gcp.ServiceAccountEmail) {
		t.Errorf("get-iam-policy after add-iam-policy-binding: %s", out)
	}
	run(true, "projects", "remove-iam-policy-binding", project, "--member=user:bob@example.com", "--role=roles/container.clusterViewer", "--condition=None")
	if out := run(true, "projects", "get-iam-policy", project, "--format=json(bindings)"); strings.Contains(out, "clusterViewer") {
		t.Errorf("get-iam-policy after remove-iam-policy-binding kept the emptied binding: %s", out)
	}
	if !full {
		t.Logf("the short list of commands; %s=full runs them all (make test-gcloud)", gcloudFullEnv)
		return
	}
	if out := run(false, "compute", "networks", "list", "--project", "no-such-project"); !strings.Contains(out, "The resource 'projects/no-such-project' was not found") {
		t.Errorf("networks list in a missing project: %s", out)
	}
	if out := run(false, "container", "clusters", "list", "--region", "mars1"); !strings.Contains(out, `Location "mars1" does not exist.`) {
		t.Errorf("clusters list in mars1: %s", out)
	}
	if out := run(true, "container", "node-pools", "list", "--cluster", "demo", "--region", "us-central1", "--format=value(name)"); strings.TrimSpace(out) != "system" {
		t.Errorf("node-pools list = %q", out)
	}
	run(true, "container", "clusters", "resize", "demo", "--region", "us-central1", "--node-pool", "system", "--num-nodes", "2")
	igm, err := e.igms.Get(context.Background(), &computepb.GetInstanceGroupManagerRequest{Project: project, Zone: "us-central1-a",
		InstanceGroupManager: strings.TrimPrefix(grpcCluster.GetNodePools()[0].GetInstanceGroupUrls()[0][strings.LastIndex(grpcCluster.GetNodePools()[0].GetInstanceGroupUrls()[0], "/"):], "/")})
	if err != nil || igm.GetTargetSize() != 2 {
		t.Errorf("after gcloud resize: target size %d, %v; want 2", igm.GetTargetSize(), err)
	}

	// A whole lifecycle made by gcloud: the network, a subnetwork with
	// secondary ranges, a router with Cloud NAT, a cluster (gcloud's own
	// create body, after asking Service Usage), a node pool with
	// autoscaling, labels, then everything deleted.
	life := []string{
		"compute networks create gnet --subnet-mode=custom",
		"compute networks subnets create gnodes --network gnet --region europe-west1 --range 10.32.0.0/20 --secondary-range gpods=10.36.0.0/14,gsvc=10.40.0.0/20",
		"compute routers create grouter --network gnet --region europe-west1",
		"compute routers nats create gnat --router grouter --region europe-west1 --auto-allocate-nat-external-ips --nat-all-subnet-ip-ranges",
		"container clusters create gdemo --region europe-west1 --network gnet --subnetwork gnodes --enable-ip-alias --cluster-secondary-range-name gpods --services-secondary-range-name gsvc --num-nodes 1",
		"container node-pools create extra --cluster gdemo --region europe-west1 --num-nodes 1 --enable-autoscaling --min-nodes 0 --max-nodes 3",
		"container clusters update gdemo --region europe-west1 --update-labels env=dev",
		"container node-pools delete extra --cluster gdemo --region europe-west1",
		"container clusters delete gdemo --region europe-west1",
		"compute routers delete grouter --region europe-west1",
		"compute networks subnets delete gnodes --region europe-west1",
		"compute networks delete gnet",
	}
	for i, cmd := range life {
		run(true, strings.Fields(cmd)...)
		if i == 6 {
			if out := run(true, "container", "clusters", "describe", "gdemo", "--region", "europe-west1", "--format=value(resourceLabels.env,nodePools[1].autoscaling.maxNodeCount)"); strings.TrimSpace(out) != "dev\t3" {
				t.Errorf("gcloud's cluster: labels and autoscaling %q", out)
			}
			if out := run(false, "container", "clusters", "update", "gdemo", "--region", "europe-west1", "--update-labels", "Env=dev"); !strings.Contains(out, "Label key 'Env' violates format constraints.") {
				t.Errorf("a label key GCP refuses: %s", out)
			}
		}
	}
	if n := e.sb.Requests()["serviceusage:services.get"]; n == 0 {
		t.Error("gcloud's cluster create did not ask Service Usage (was the override set?)")
	}

	if !withKube {
		t.Log("no kube-apiserver binaries: get-credentials and kubectl not tried")
		return
	}
	if _, err := exec.LookPath("gke-gcloud-auth-plugin"); err != nil {
		t.Log("no gke-gcloud-auth-plugin: get-credentials and kubectl not tried")
		return
	}
	run(true, "container", "clusters", "get-credentials", "demo", "--region", "us-central1")
	kubeconfig, _ := os.ReadFile(filepath.Join(dir, "kubeconfig"))
	if !bytes.Contains(kubeconfig, []byte("server: https://"+grpcCluster.GetEndpoint()+"\n")) {
		t.Errorf("kubeconfig does not name https://%s:\n%s", grpcCluster.GetEndpoint(), kubeconfig)
	}
	cmd := exec.Command("kubectl", "get", "storageclass", "-o", "name")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "storageclass.storage.k8s.io/standard-rwo") {
		t.Errorf("kubectl get storageclass with gcloud's kubeconfig: %v\n%s", err, out)
	}
}

// TestPythonDiscoveryClient: Debian's python3-googleapi builds its clients
// from Google's discovery documents for container/v1 and compute/v1 (the
// ones google.golang.org/api ships; the Debian package ships none) and
// reads, resizes and gets errors from the sandbox over REST, including a
// Compute batch.
func TestPythonDiscoveryClient(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import googleapiclient.discovery").Run(); err != nil {
		t.Skipf("python3-googleapi is not installed (apt-get install python3-googleapi): %v", err)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
	if err != nil {
		t.Fatalf("find google.golang.org/api: %v", err)
	}
	apiDir := strings.TrimSpace(string(out))
	e, _ := toolEnv(t, false)
	tok, err := e.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	ep := e.sb.Endpoints()
	cmd := exec.Command("/usr/bin/python3", "testdata/discovery_client.py")
	cmd.Env = append(os.Environ(),
		"DISCOVERY_CONTAINER="+filepath.Join(apiDir, "container", "v1", "container-api.json"),
		"DISCOVERY_COMPUTE="+filepath.Join(apiDir, "compute", "v1", "compute-api.json"),
		"GKE_URL="+ep[gcp.ContainerRESTKey], "COMPUTE_URL="+ep[gcp.ComputeKey], "TOKEN="+tok.AccessToken, "PROJECT="+project)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("discovery_client.py: %v\n%s", err, stderr.String())
	}
	var got struct {
		Clusters struct {
			Clusters []struct{ Name, Status string }
		}
		Cluster        json.RawMessage
		SetSize        struct{ OperationType, Status string }
		ZonalNodePools struct{ NodePools []struct{ Name string } }
		Missing        *struct {
			Status int
			Error  struct{ Status, Message string }
		}
		BadLabels *struct {
			Status int
			Error  struct{ Status, Message string }
		}
		Subnetworks struct {
			Items map[string]struct {
				Subnetworks []struct{ Name string }
				Warning     *struct{ Code string }
			}
		}
		Migs struct {
			Items map[string]struct {
				InstanceGroupManagers []struct{ TargetSize int }
			}
		}
		Batch map[string]struct {
			Response *struct{ Name string }
			Status   *int
		}
		GhostProject *struct {
			Status int
			Error  struct{ Message string }
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	var cl containerpb.Cluster
	if err := protojson.Unmarshal(got.Cluster, &cl); err != nil || cl.GetName() != "demo" {
		t.Errorf("cluster = %v (%v)", cl.GetName(), err)
	}
	if len(got.Clusters.Clusters) != 1 || got.Clusters.Clusters[0].Status != "RUNNING" {
		t.Errorf("clusters = %+v", got.Clusters)
	}
	if got.SetSize.OperationType != "SET_NODE_POOL_SIZE" || len(got.ZonalNodePools.NodePools) != 1 {
		t.Errorf("setSize = %+v, zonal node pools = %+v", got.SetSize, got.ZonalNodePools)
	}
	if got.Missing == nil || got.Missing.Status != 404 || got.Missing.Error.Status != "NOT_FOUND" {
		t.Errorf("missing cluster = %+v", got.Missing)
	}
	if got.BadLabels == nil || got.BadLabels.Status != 400 || !strings.Contains(got.BadLabels.Error.Message, "Label key 'Env' violates format constraints.") {
		t.Errorf("bad labels = %+v", got.BadLabels)
	}
	if s := got.Subnetworks.Items["regions/us-central1"].Subnetworks; len(s) != 1 || s[0].Name != "nodes" || got.Subnetworks.Items["regions/europe-west1"].Warning == nil {
		t.Errorf("aggregated subnetworks = %+v", got.Subnetworks.Items["regions/us-central1"])
	}
	for _, z := range []string{"zones/us-central1-a", "zones/us-central1-b", "zones/us-central1-c"} {
		if m := got.Migs.Items[z].InstanceGroupManagers; len(m) != 1 || m[0].TargetSize != 2 {
			t.Errorf("MIGs in %s = %+v, want one of 2 after setSize", z, m)
		}
	}
	if b := got.Batch["net"]; b.Response == nil || b.Response.Name != "net" {
		t.Errorf("batch net = %+v", b)
	}
	if b := got.Batch["nope"]; b.Status == nil || *b.Status != 404 {
		t.Errorf("batch nope = %+v", b)
	}
	if got.GhostProject == nil || got.GhostProject.Status != 404 {
		t.Errorf("networks of a missing project = %+v", got.GhostProject)
	}
}
