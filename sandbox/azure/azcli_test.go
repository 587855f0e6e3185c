package azure_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/azure"
)

// azCtx bounds one az command (a hung poll must not hang the suite).
func azCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// azEnv is the environment az runs in: a fresh HOME, no AZURE_* variables.
func azEnv(t *testing.T, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	return append(env, extra...)
}

// TestAzCLI points the az CLI at the sandbox with scripts/az-sandbox.sh,
// as docs/sandbox.md shows, and reads what the Go SDK made: the login flow
// (cloud metadata, AD FS-style token endpoint, GET /subscriptions), az
// group list, az aks list/show (subscription-wide list, 2022-11-01), az
// network vnet list (2022-01-01) and ARM's refusal of location mars. It
// needs Debian's azure-cli (apt-get install azure-cli). Every az call costs
// seconds of Python start-up, so `make test` runs the login and az aks list
// (20–60 s, by the machine's load) and skips without az; `make test-az`
// (REGIONCTL_REQUIRE_AZ=1) runs them all and fails without az.
func TestAzCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the az CLI takes half a minute")
	}
	full := os.Getenv("REGIONCTL_REQUIRE_AZ") != ""
	if _, err := exec.LookPath("az"); err != nil {
		if full {
			t.Fatal("az is not installed: apt-get install azure-cli")
		}
		t.Skip("az is not installed (apt-get install azure-cli; make test-az requires it)")
	}
	// az polls long-running operations in real time: a real clock, and no
	// latency
	e := start(t, sandbox.Options{Clock: time.Now, Latency: map[string]time.Duration{"*": 0}})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))

	script, err := filepath.Abs("../../scripts/az-sandbox.sh")
	if err != nil {
		t.Fatal(err)
	}
	login := exec.CommandContext(azCtx(t), script, e.url)
	login.Env = azEnv(t, "AZ_SANDBOX_DIR="+t.TempDir())
	var stderr bytes.Buffer
	login.Stderr = &stderr
	exports, err := login.Output()
	if err != nil {
		t.Fatalf("az-sandbox.sh: %v\n%s", err, stderr.String())
	}
	az := func(args string) (string, string, error) {
		cmd := exec.CommandContext(azCtx(t), "bash", "-c", `eval "$AZ_ENV" && az `+args)
		cmd.Env = azEnv(t, "AZ_ENV="+string(exports))
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	names := func(args string) []string {
		t.Helper()
		out, errOut, err := az(args + " --query [].name -o json")
		if err != nil {
			t.Fatalf("az %s: %v\n%s", args, err, errOut)
		}
		var v []string
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("az %s: %v in %q", args, err, out)
		}
		slices.Sort(v)
		return v
	}
	if got := names("aks list"); !slices.Equal(got, []string{"aks"}) {
		t.Errorf("az aks list = %v", got)
	}
	if req := e.sb.Requests(); req["entra:token"] == 0 || req["azure:managedClusters.listAll"] == 0 {
		t.Errorf("az's requests: %v", req)
	}
	if !full {
		return
	}
	if got := names("group list"); !slices.Equal(got, []string{"MC_rg_aks_westeurope", "rg"}) {
		t.Errorf("az group list = %v", got)
	}
	if got := names("network vnet list"); !slices.Equal(got, []string{"vnet"}) {
		t.Errorf("az network vnet list = %v", got)
	}
	out, errOut, err := az("aks show -g rg -n aks -o json")
	var mc struct {
		NodeResourceGroup string
		AgentPoolProfiles []struct {
			Name  string
			Count int
		}
		ServicePrincipalProfile struct{ ClientID string }
	}
	if err != nil || json.Unmarshal([]byte(out), &mc) != nil {
		t.Fatalf("az aks show: %v\n%s%s", err, out, errOut)
	}
	if mc.NodeResourceGroup != "MC_rg_aks_westeurope" || len(mc.AgentPoolProfiles) != 1 || mc.AgentPoolProfiles[0].Count != 2 || mc.ServicePrincipalProfile.ClientID != "msi" {
		t.Errorf("az aks show: %+v", mc)
	}
	if out, errOut, err := az("aks get-versions -l westeurope -o table"); err != nil || !strings.Contains(out, "1.33.5") {
		t.Errorf("az aks get-versions: %v\n%s%s", err, out, errOut)
	}
	if _, errOut, err := az("group create -n mars -l mars"); err == nil || !strings.Contains(errOut, "LocationNotAvailableForResourceGroup") {
		t.Errorf("az group create -l mars: %v\n%s", err, errOut)
	}
	// writes: az aks nodepool add and scale (PUT agentPools at 2022-11-01);
	// the pool's scale set follows (read with the Go SDK: Debian's az vmss
	// cannot start)
	for _, args := range []string{"aks nodepool add -g rg --cluster-name aks -n extra --node-count 2 --node-vm-size Standard_D2s_v5 -o none",
		"aks nodepool scale -g rg --cluster-name aks -n extra -c 3 -o none"} {
		if _, errOut, err := az(args); err != nil {
			t.Fatalf("az %s: %v\n%s", args, err, errOut)
		}
	}
	vmss, err := armcompute.NewVirtualMachineScaleSetsClient(sub, e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := vmss.Get(ctx, "MC_rg_aks_westeurope", azure.VMSSName(mcID(t, e), "extra"), nil)
	if err != nil || *ss.SKU.Capacity != 3 || *ss.SKU.Name != "Standard_D2s_v5" {
		t.Errorf("scale set of the pool az added and scaled: %+v, %v", ss.SKU, err)
	}
	req := e.sb.Requests()
	for _, op := range []string{"azure:metadataEndpoints.get", "azure:subscriptions.list", "azure:virtualNetworks.listAll"} {
		if req[op] == 0 {
			t.Errorf("az made no %s request: %v", op, req)
		}
	}
}

// mcID is the ARM id of rg/aks.
func mcID(t *testing.T, e *env) string {
	t.Helper()
	cl, err := e.mc.Get(ctx, "rg", "aks", nil)
	if err != nil {
		t.Fatal(err)
	}
	return *cl.ID
}
