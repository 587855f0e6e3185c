package gcp_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/failedcreate"
	"github.com/regionctl/regionctl/internal/testclock"
	"github.com/regionctl/regionctl/providers"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
)

// TestAdoptedClusterIsSettled: a GKE cluster an interrupted create left
// PROVISIONING (no endpoint, no CA, its bootstrap pool still there) is
// reported as it is by a plain Read, and a settled Read — how the engine
// adopts it — waits until it runs with its endpoint and CA and removes the
// bootstrap pool, as the create would have. Before, the engine recorded
// the cluster with an empty CA, and every in-cluster object then failed
// ("cluster CA is neither PEM nor base64 of PEM") until state was edited.
func TestAdoptedClusterIsSettled(t *testing.T) {
	clk := testclock.New()
	sb, d := startSandbox(t, sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{"*": 0, "container:CreateCluster": time.Minute}})
	checked := false
	applyAllWith(t, d, smallRegion(), func(req providers.CreateRequest) (providers.CreateResponse, error) {
		if req.Type != gcpdriver.TypeCluster {
			return d.Create(context.Background(), req)
		}
		checked = true
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			testclock.When(func() bool { return sb.Requests()["container:GetOperation"] >= 2 }, nil)
			cancel()
		}()
		if _, err := d.Create(ctx, req); err == nil {
			t.Fatalf("Create %s with the cluster PROVISIONING returned no error", req.Address)
		}
		f, err := d.(providers.Finder).Find(context.Background(), providers.FindRequest{Address: req.Address, Type: req.Type, Inputs: req.Inputs, IdempotencyKey: req.IdempotencyKey})
		if err != nil || !f.Found {
			t.Fatalf("Find of the interrupted cluster = %+v, %v", f, err)
		}
		if f.Outputs["status"] != "PROVISIONING" || f.Outputs["ca_certificate"] != "" {
			t.Fatalf("a plain Find waited for the cluster: %v", f.Outputs)
		}
		inst := providers.Instance{Address: req.Address, Type: req.Type, ID: f.ID, Inputs: req.Inputs}
		polls := sb.Requests()["container:GetCluster"]
		stop, advanced := make(chan struct{}), make(chan bool, 1)
		go func() {
			advanced <- clk.AdvanceWhen(time.Hour, func() bool { return sb.Requests()["container:GetCluster"]-polls >= 2 }, stop)
		}()
		r, err := d.Read(context.Background(), providers.ReadRequest{Instance: inst, Settle: true})
		close(stop)
		waited := <-advanced
		if err != nil {
			t.Fatalf("Read with Settle: %v", err)
		}
		if !waited || r.Outputs["status"] != "RUNNING" || r.Outputs["ca_certificate"] == "" || r.Outputs["endpoint"] == "" {
			t.Fatalf("settled Read = %v (waited %v); want it RUNNING with endpoint and CA", r.Outputs, waited)
		}
		var pools []string
		for _, o := range sb.List() {
			if o.Type == "container.nodePool" {
				pools = append(pools, o.Name)
			}
		}
		if len(pools) != 0 {
			t.Errorf("after settling the cluster still has node pools %v; want the bootstrap pool removed", pools)
		}
		return providers.CreateResponse{ID: f.ID, Outputs: r.Outputs}, nil
	})
	if !checked {
		t.Fatal("no cluster was created")
	}
}

// TestTokenRequestsAreRetried: the token endpoint throttles, fails and
// drops connections like any Google API. The access token the driver sends
// to GKE API servers (in-cluster objects, kubeconfig) is retried, so one
// failure does not fail a region's refresh. Before, that token request was
// not retried (issue 17: 4 of 10 no-op plans failed under faults); the
// cloud API calls were already retried by their callers.
func TestTokenRequestsAreRetried(t *testing.T) {
	for _, kind := range []sandbox.FaultKind{sandbox.FaultThrottle, sandbox.FaultServerError, sandbox.FaultDrop} {
		t.Run(string(kind), func(t *testing.T) {
			sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{
				{Op: "oauth2:token", Kind: kind, Nth: 1, Count: 3},
				{Op: "oauth2:serviceAccountKey", Kind: kind, Nth: 1, Count: 2},
			}})
			cluster := providers.Instance{Address: "eu1/" + gcpdriver.TypeCluster + ".main", Type: gcpdriver.TypeCluster, ID: "eu1",
				Outputs: providers.Values{"server": "https://127.0.0.1:1", "ca_certificate": "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"}}
			got, err := d.(*gcpdriver.Driver).ClusterAccess(context.Background(), kubernetes.AccessRequest{Resources: []providers.Instance{cluster}, Token: true})
			if err != nil || got.Token == "" {
				t.Fatalf("ClusterAccess through a faulty token endpoint = %v; want a token", err)
			}
			if n := sb.Requests()["oauth2:token"]; n != 4 {
				t.Errorf("oauth2:token requests = %d; want the 3 faulted ones and a retry", n)
			}
			// Cloud API calls need a token as well.
			res := mustExpand(t, d).Resources[slices.IndexFunc(mustExpand(t, d).Resources, func(r providers.Resource) bool { return r.Type == gcpdriver.TypeNetwork })]
			if r, err := d.Read(context.Background(), providers.ReadRequest{Instance: providers.Instance{Address: res.Address, Type: res.Type, ID: "nothing-here", Inputs: res.Inputs}}); err != nil || r.Exists {
				t.Errorf("Read = %+v, %v; want not found, no error", r, err)
			}
		})
	}
}

// TestRetriesAreReported: every throttled or failed call the driver
// retries is reported to the context's retry reporter, so retries show in
// the event stream as the AWS driver's do. Before, only the AWS driver
// reported its retries.
func TestRetriesAreReported(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{
		{Op: "compute:networks.insert", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "compute:networks.insert", Kind: sandbox.FaultServerError, Nth: 3, Count: 1},
	}})
	network := mustExpand(t, d).Resources[0]
	var reported []string
	ctx := providers.WithRetryReporter(context.Background(), func(r providers.RetryReport) { reported = append(reported, r.Err.Error()) })
	cr, err := d.Create(ctx, providers.CreateRequest{Address: network.Address, Type: network.Type, Inputs: network.Inputs, IdempotencyKey: "k"})
	if err != nil {
		t.Fatalf("Create %s through two 429s and a 500: %v", network.Type, err)
	}
	t.Cleanup(func() {
		if _, err := d.Delete(context.Background(), providers.DeleteRequest{Instance: providers.Instance{Address: network.Address, Type: network.Type, ID: cr.ID, Inputs: network.Inputs}}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	want := []string{"Error 429", "Error 429", "Error 5"}
	if len(reported) != len(want) {
		t.Fatalf("reported %d retries %q; want %d (two throttled calls, one server error)", len(reported), reported, len(want))
	}
	for i, w := range want {
		if !strings.Contains(reported[i], w) {
			t.Errorf("retry %d reported as %q; want %q in it", i+1, reported[i], w)
		}
	}
}

func mustExpand(t *testing.T, d providers.Driver) providers.ExpandResponse {
	t.Helper()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	return resp
}

// TestDeleteWaitsForAnInterruptedOperation: a delete that meets an object
// still being deleted by an interrupted run (Compute Engine answers 400
// resourceNotReady) waits for that operation and finds the object gone.
// Before, resourceNotReady failed the delete and the destroy that
// followed a killed destroy.
func TestDeleteWaitsForAnInterruptedOperation(t *testing.T) {
	clk := testclock.New()
	sb, d := startSandbox(t, sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{"*": 0, "compute:routers.delete": time.Minute}})
	a := applyAll(t, d, smallRegion())
	router := a.inst["eu1/"+gcpdriver.TypeRouter+".main"]
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		testclock.When(func() bool { return sb.Requests()["compute:routers.delete"] >= 1 }, nil)
		cancel()
	}()
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: *router}); err == nil {
		t.Fatal("the interrupted delete returned no error")
	}
	deletes := sb.Requests()["compute:routers.delete"]
	stop, advanced := make(chan struct{}), make(chan bool, 1)
	go func() {
		advanced <- clk.AdvanceWhen(time.Hour, func() bool { return sb.Requests()["compute:routers.delete"]-deletes >= 2 }, stop)
	}()
	_, err := d.Delete(context.Background(), providers.DeleteRequest{Instance: *router})
	close(stop)
	if err != nil || !<-advanced {
		t.Fatalf("Delete of a router being deleted: %v; want it to wait for the running delete and succeed", err)
	}
	for _, o := range sb.List() {
		if o.Type == "compute.router" {
			t.Errorf("the router is still there: %+v", o)
		}
	}
}

// TestFailedCreateIsReported: a cluster or node pool whose creation GKE
// reports failed (ERROR) — the create was interrupted before it saw that —
// is read with CreateFailed, by a plain Read (a refresh) and by a settled
// one (an adoption), so the engine taints and replaces it instead of
// adopting a broken object; the create that replaces it removes the
// failed one and makes it again.
func TestFailedCreateIsReported(t *testing.T) {
	for _, tc := range []struct{ typ, createOp string }{
		{gcpdriver.TypeCluster, "container:CreateCluster"},
		{gcpdriver.TypeNodePool, "container:CreateNodePool"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			clk := testclock.New()
			sb, d := startSandbox(t, failedcreate.SandboxOptions(clk, tc.createOp))
			fc := &failedcreate.Case{Driver: d, Clock: clk, Requests: sb.Requests, Type: tc.typ, CreateOp: tc.createOp, PollOp: "container:GetOperation", Status: "status",
				ID: func(req providers.CreateRequest) string { return req.Inputs["name"].(string) }}
			applyAllWith(t, d, smallRegion(), fc.Creates(t)) // the replacement removes the failed object first
			fc.Checked(t)
		})
	}
}
