package azure_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/sandbox"
)

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
// seconds of Python start-up, so `make test` runs the login, group and aks
// lists (about 30 s) and skips without az; `make test-az`
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
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))

	script, err := filepath.Abs("../../scripts/az-sandbox.sh")
	if err != nil {
		t.Fatal(err)
	}
	login := exec.Command(script, e.url)
	login.Env = azEnv(t, "AZ_SANDBOX_DIR="+t.TempDir())
	var stderr bytes.Buffer
	login.Stderr = &stderr
	exports, err := login.Output()
	if err != nil {
		t.Fatalf("az-sandbox.sh: %v\n%s", err, stderr.String())
	}
	az := func(args string) (string, string, error) {
		cmd := exec.Command("bash", "-c", `eval "$AZ_ENV" && az `+args)
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
	if got := names("group list"); !slices.Equal(got, []string{"MC_rg_aks_westeurope", "rg"}) {
		t.Errorf("az group list = %v", got)
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
	if _, errOut, err := az("group create -n mars -l mars"); err == nil || !strings.Contains(errOut, "LocationNotAvailableForResourceGroup") {
		t.Errorf("az group create -l mars: %v\n%s", err, errOut)
	}
	req := e.sb.Requests()
	for _, op := range []string{"azure:metadataEndpoints.get", "azure:subscriptions.list", "azure:virtualNetworks.listAll"} {
		if req[op] == 0 {
			t.Errorf("az made no %s request: %v", op, req)
		}
	}
}
