package azure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/failedcreate"
	"github.com/regionctl/regionctl/internal/testclock"
	"github.com/regionctl/regionctl/providers"
	azdriver "github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/sandbox"
)

// TestAdoptedClusterIsSettled: an AKS cluster an interrupted create left
// Creating (AKS may not give its kubeconfig, hence endpoint and CA, yet) is
// reported as it is by a plain Read, and a settled Read — how the engine
// adopts it — waits until it is Succeeded with its endpoint and CA. Before,
// the driver had no Settle: the engine adopted the cluster Creating and
// its pools were refused (OperationNotAllowed: an operation in progress).
func TestAdoptedClusterIsSettled(t *testing.T) {
	clk := testclock.New()
	sb, d := startSandbox(t, sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{"*": 0, "azure:managedClusters.createOrUpdate": time.Minute}})
	checked := false
	applyAllWith(t, d, smallRegion(), func(req providers.CreateRequest) (providers.CreateResponse, error) {
		if req.Type != azdriver.TypeCluster {
			return d.Create(context.Background(), req)
		}
		checked = true
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			testclock.When(func() bool { return sb.Requests()["azure:managedClusters.createOrUpdate"] >= 1 }, nil)
			cancel()
		}()
		resp, err := d.Create(ctx, req)
		if err == nil {
			t.Fatalf("Create %s with the cluster Creating returned no error", req.Address)
		}
		id := resp.ID
		if id == "" {
			f, ferr := d.(providers.Finder).Find(context.Background(), providers.FindRequest{Address: req.Address, Type: req.Type, Inputs: req.Inputs, IdempotencyKey: req.IdempotencyKey})
			if ferr != nil || !f.Found {
				t.Fatalf("Find of the interrupted cluster = %+v, %v", f, ferr)
			}
			id = f.ID
		}
		inst := providers.Instance{Address: req.Address, Type: req.Type, ID: id, Inputs: req.Inputs}
		plain, err := d.Read(context.Background(), providers.ReadRequest{Instance: inst})
		if err != nil || !plain.Exists || plain.Outputs["provisioning_state"] != "Creating" {
			t.Fatalf("plain Read of the interrupted cluster = %+v, %v; want it Creating", plain, err)
		}
		polls := sb.Requests()["azure:managedClusters.get"]
		stop, advanced := make(chan struct{}), make(chan bool, 1)
		go func() {
			advanced <- clk.AdvanceWhen(time.Hour, func() bool { return sb.Requests()["azure:managedClusters.get"]-polls >= 2 }, stop)
		}()
		settled, err := d.Read(context.Background(), providers.ReadRequest{Instance: inst, Settle: true})
		close(stop)
		waited := <-advanced
		if err != nil || !waited || settled.Outputs["provisioning_state"] != "Succeeded" || settled.Outputs["ca_certificate"] == "" || settled.Outputs["endpoint"] == "" {
			t.Fatalf("settled Read = %v, %v (waited %v); want it Succeeded with endpoint and CA", settled.Outputs, err, waited)
		}
		return providers.CreateResponse{ID: id, Outputs: settled.Outputs}, nil
	})
	if !checked {
		t.Fatal("no cluster was created")
	}
}

// TestRetriesAreReported: every throttled or failed reply the SDK's retry
// policy retries is reported to the context's retry reporter, on one line,
// so retries show in the event stream as the AWS driver's do. Before, only
// the AWS driver reported its retries.
func TestRetriesAreReported(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{
		{Op: "azure:resourceGroups.createOrUpdate", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "azure:resourceGroups.createOrUpdate", Kind: sandbox.FaultServerError, Nth: 3, Count: 1},
	}})
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	rg := resp.Resources[0]
	var reported []string
	ctx := providers.WithRetryReporter(context.Background(), func(r providers.RetryReport) { reported = append(reported, r.Err.Error()) })
	cr, err := d.Create(ctx, providers.CreateRequest{Address: rg.Address, Type: rg.Type, Inputs: rg.Inputs, IdempotencyKey: "k"})
	if err != nil {
		t.Fatalf("Create through two 429s and a 500: %v", err)
	}
	t.Cleanup(func() {
		if _, err := d.Delete(context.Background(), providers.DeleteRequest{Instance: providers.Instance{Address: rg.Address, Type: rg.Type, ID: cr.ID, Inputs: rg.Inputs}}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if len(reported) != 3 {
		t.Fatalf("reported %d retries %q; want 3 (two throttled replies, one server error)", len(reported), reported)
	}
	for i, want := range []string{"HTTP 429", "HTTP 429", "HTTP 500"} {
		if !strings.Contains(reported[i], want) || strings.Contains(reported[i], "\n") {
			t.Errorf("retry %d reported as %q; want one line with %q", i+1, reported[i], want)
		}
	}
}

// TestARMErrorsOnOneLine: an ARM error reads on one line with its code,
// message, status and request. Before, the SDK's rendering — the request
// URL, then a banner, RESPONSE, ERROR CODE and the indented JSON body on
// following lines — was cut at the URL wherever one line is shown.
func TestARMErrorsOnOneLine(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "azure:resourceGroups.createOrUpdate", Kind: sandbox.FaultServerError, Nth: 1, Count: 100}}})
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	rg := resp.Resources[0]
	if rg.Type != azdriver.TypeResourceGroup {
		t.Fatalf("first resource %s, want the resource group", rg.Type)
	}
	_, err = d.Create(context.Background(), providers.CreateRequest{Address: rg.Address, Type: rg.Type, Inputs: rg.Inputs, IdempotencyKey: "k"})
	if err == nil {
		t.Fatal("Create through 500s succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"azure: create " + rg.Address + ": ", "InternalServerError", "HTTP 500", "PUT https://127.0.0.1:", "/resourcegroups/"} {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(want)) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "-----") {
		t.Errorf("error is not one line:\n%s", msg)
	}
	if providers.Classify(err) == providers.ClassUnknown && !strings.Contains(msg, "500") {
		t.Errorf("class lost: %v", err)
	}
}

// TestDeleteWaitsForAnotherPoolOperation: AKS runs one operation at a time
// on a cluster's pools; a delete that meets another pool's create still
// running (an interrupted run's, after a crash) waits for it. Before, the
// delete of a create-before-destroy's old pool failed with 409
// OperationNotAllowed when the rerun met its replacement still Creating.
func TestDeleteWaitsForAnotherPoolOperation(t *testing.T) {
	clk := testclock.New()
	sb, d := startSandbox(t, sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{"*": 0, "azure:agentPools.createOrUpdate": time.Minute}})
	// Time passes while the region is applied.
	applied := make(chan struct{})
	go testclock.When(func() bool { clk.Advance(time.Minute); return false }, applied)
	a := applyAll(t, d, smallRegion())
	close(applied)
	old := a.inst[providers.Address("weu1", azdriver.TypeNodePool, "apps")]

	// The replacement (a bigger machine, so another pool name) is being
	// created, and takes a while.
	bigger := smallRegion()
	bigger.Spec.Cluster.NodePools[1].Machine.CPU = 8
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: bigger})
	if err != nil {
		t.Fatal(err)
	}
	var repl providers.Resource
	for _, r := range resp.Resources {
		if r.Address == old.Address {
			repl = r
		}
	}
	in := a.resolve(t, repl.Inputs).(providers.Values)
	if in["name"] == old.Inputs["name"] {
		t.Fatal("the replacement has the old pool's name")
	}
	puts := sb.Requests()["azure:agentPools.createOrUpdate"]
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		testclock.When(func() bool { return sb.Requests()["azure:agentPools.createOrUpdate"] > puts }, nil)
		cancel()
	}()
	_, _ = d.Create(ctx, providers.CreateRequest{Address: repl.Address, Type: repl.Type, Inputs: in, IdempotencyKey: "replacement"})

	deletes := sb.Requests()["azure:agentPools.delete"]
	stop, advanced := make(chan struct{}), make(chan bool, 1)
	go func() {
		advanced <- clk.AdvanceWhen(time.Hour, func() bool { return sb.Requests()["azure:agentPools.delete"]-deletes >= 2 }, stop)
	}()
	_, err = d.Delete(context.Background(), providers.DeleteRequest{Instance: *old})
	close(stop)
	if err != nil || !<-advanced {
		t.Fatalf("Delete of a pool while another pool is being created: %v; want it to wait and succeed", err)
	}
	delete(a.inst, old.Address)
}

// TestFailedCreateIsReported: a cluster or node pool whose creation ARM
// reports failed (provisioningState Failed) — the create was interrupted
// before it saw that — is read with CreateFailed, by a plain Read (a
// refresh) and by a settled one (an adoption), so the engine taints and
// replaces it instead of adopting a broken object. One recorded Succeeded
// before failed an update, not its creation: AKS keeps such a cluster or
// pool running, so it is not reported failed and nothing replaces it.
func TestFailedCreateIsReported(t *testing.T) {
	for _, tc := range []struct{ typ, createOp string }{
		{azdriver.TypeCluster, "azure:managedClusters.createOrUpdate"},
		{azdriver.TypeNodePool, "azure:agentPools.createOrUpdate"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			clk := testclock.New()
			sb, d := startSandbox(t, failedcreate.SandboxOptions(clk, tc.createOp))
			fc := &failedcreate.Case{Driver: d, Clock: clk, Requests: sb.Requests, Type: tc.typ, CreateOp: tc.createOp, PollOp: "azure:asyncOperations.get", Status: "provisioning_state"}
			fc.ID = func(req providers.CreateRequest) string {
				f, err := d.(providers.Finder).Find(context.Background(), providers.FindRequest{Address: req.Address, Type: req.Type, Inputs: req.Inputs, IdempotencyKey: req.IdempotencyKey})
				if err != nil || !f.Found {
					t.Fatalf("Find of the interrupted %s = %+v, %v", req.Address, f, err)
				}
				return f.ID
			}
			fc.Failed = func(inst providers.Instance) {
				inst.Outputs = providers.Values{"provisioning_state": "Succeeded"} // made, then an update failed
				if got, err := d.Read(context.Background(), providers.ReadRequest{Instance: inst}); err != nil || !got.Exists || got.CreateFailed {
					t.Errorf("Read of %s recorded Succeeded, now Failed = exists %v, create failed %v, %v; want it exists, not failed (an update failed)", inst.Address, got.Exists, got.CreateFailed, err)
				}
				// The engine's replacement deletes the failed object first.
				if _, err := d.Delete(context.Background(), providers.DeleteRequest{Instance: inst}); err != nil {
					t.Fatalf("Delete the failed %s: %v", inst.Address, err)
				}
			}
			applyAllWith(t, d, smallRegion(), fc.Creates(t))
			fc.Checked(t)
		})
	}
}
