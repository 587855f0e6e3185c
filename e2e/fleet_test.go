package e2e

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// fleetRegions are the regions examples/fleet.jsonnet renders for env=prod.
var fleetRegions = []string{
	"prod-aws-euw1", "prod-aws-use1", "prod-azure-eus", "prod-azure-weu", "prod-gcp-euw4", "prod-gcp-usc1",
}

// TestFleet: examples/fleet.jsonnet — one template on AWS, GCP and Azure,
// two regions each — applies to the sandbox in one command, plans empty
// afterwards, and destroys to an empty sandbox (prod is protected, so the
// destroy needs --allow-destroy).
func TestFleet(t *testing.T) {
	// The AWS driver applies StorageClasses and Services in its EKS
	// clusters, so they need real kube-apiservers (sandbox/kube).
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: the AWS regions need kube-apiserver binaries: %v", err)
		}
		t.Fatalf("the AWS regions need kube-apiserver binaries (run scripts/kube-apiserver.sh): %v", err)
	}
	t.Parallel()
	e := newEnv(t, "fleet.jsonnet", providers.Registry{"aws": aws.New, "gcp": gcp.New, "azure": azure.New}, sandbox.Options{}, true)
	r := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	for _, name := range fleetRegions {
		if len(e.states(name)) != 1 {
			t.Errorf("no state for region %s after apply", name)
		}
	}
	e.assertAzureMatchesState(fleetRegions...)
	clouds := map[string]bool{}
	for _, o := range e.objects() {
		clouds[o.Cloud] = true
	}
	for _, c := range []string{"aws", "gcp", "azure"} {
		if !clouds[c] {
			t.Errorf("the sandbox holds nothing on %s after applying the fleet", c)
		}
	}
	r = e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("the plan after apply is not empty:\n%s", r.stdout)
	}
	e.must(cli.ExitSpecInvalid, "destroy", "-f", e.spec, "--auto-approve") // spec.protect refuses it
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}
