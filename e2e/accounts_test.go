package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
)

// newSpecEnv is newEnv on a spec written by the test (file name, content)
// rather than a copy of an example.
func newSpecEnv(t *testing.T, name, content string, registry providers.Registry, opts sandbox.Options, withKube bool) *env {
	t.Helper()
	if withKube {
		requireKube(t)
	}
	dir := t.TempDir()
	e := &env{t: t, spec: filepath.Join(dir, name), stateDir: filepath.Join(dir, "state"), sbDir: filepath.Join(dir, "sandbox"), registry: registry, kube: withKube}
	if err := os.WriteFile(e.spec, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	e.serve(opts)
	return e
}

// Two member accounts of the sandbox's organization.
const (
	accountA = "111111111111"
	accountB = "222222222222"
)

// memberRegion is an AWS region named name in location, assuming the
// organization's role in account (with session name session when not
// empty) and naming that account.
func memberRegion(name, location, cidr, account, session string) string {
	role := `roleArn: "arn:aws:iam::` + account + `:role/OrganizationAccountAccessRole"`
	if session != "" {
		role += ", sessionName: " + session
	}
	return `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: ` + name + `}
spec:
  provider: aws
  location: ` + location + `
  zones: 2
  network: {cidr: ` + cidr + `}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2}
  storageClasses:
    - {name: fast, tier: ssd, default: true}
  overrides:
    aws:
      accountId: "` + account + `"
      assumeRole: {` + role + `}
`
}

// twoAccountFleet is two AWS regions, each assuming the organization's
// role in its own member account and naming that account.
var twoAccountFleet = memberRegion("team-a", "eu-west-1", "10.30.0.0/16", accountA, "fleet-ci") + "---\n" +
	memberRegion("team-b", "us-west-2", "10.31.0.0/16", accountB, "")

// TestAWSFleetAcrossAccounts: one fleet, two regions, two AWS accounts,
// reached from the sandbox's own credentials through sts:AssumeRole. Each
// region's objects land in its account only (StorageClasses too: the EKS
// token is the assumed role's), plans and state record each region's
// account and role session, a saved plan applies, the next plan is empty,
// a region whose role acts in another account than accountId names is
// refused before any change, and destroy empties both accounts.
func TestAWSFleetAcrossAccounts(t *testing.T) {
	requireKube(t)
	e := newSpecEnv(t, "fleet.yaml", twoAccountFleet, awsRegistry, sandbox.Options{AWSAccounts: []string{accountA, accountB}}, true)
	planFile := filepath.Join(t.TempDir(), "fleet.plan")
	p := e.must(2, "plan", "-f", e.spec, "--out", planFile, "--detailed-exitcode")
	for _, want := range []string{
		"AWS account " + accountA + " as arn:aws:sts::" + accountA + ":assumed-role/OrganizationAccountAccessRole/fleet-ci",
		"AWS account " + accountB + " as arn:aws:sts::" + accountB + ":assumed-role/OrganizationAccountAccessRole/regionctl",
	} {
		if !strings.Contains(p.stdout+p.stderr, want) {
			t.Errorf("the plan does not name %q:\n%s\n%s", want, p.stdout, p.stderr)
		}
	}
	e.must(0, "apply", planFile)

	perAccount := map[string]map[string]int{}
	for _, o := range e.objects() {
		if perAccount[o.Account] == nil {
			perAccount[o.Account] = map[string]int{}
		}
		perAccount[o.Account][o.Type]++
	}
	for _, acct := range []string{accountA, accountB} {
		if perAccount[acct]["eks:cluster"] != 1 || perAccount[acct]["ec2:vpc"] != 1 || perAccount[acct]["iam:role"] != 2 {
			t.Errorf("account %s holds %v, want one cluster, one VPC and two roles", acct, perAccount[acct])
		}
	}
	if n := len(perAccount[""]); n != 0 {
		t.Errorf("the sandbox's own account holds %v, want nothing", perAccount[""])
	}
	for region, acct := range map[string]string{"team-a": accountA, "team-b": accountB} {
		st := e.state(region)
		if st == nil || st.Target == nil || st.Target.Account != "AWS account "+acct || !strings.Contains(st.Target.Principal, ":assumed-role/OrganizationAccountAccessRole/") {
			t.Errorf("state of %s records target %+v, want AWS account %s through the role", region, st.Target, acct)
		}
		var classes int
		for _, r := range st.Resources {
			if r.Type == "kubernetes_storage_class" {
				classes++
			}
		}
		if classes != 1 {
			t.Errorf("state of %s holds %d StorageClasses, want 1 (made with the assumed role's EKS token)", region, classes)
		}
	}
	out := e.must(0, "output", "--json").stdout
	if !strings.Contains(out, "AWS account "+accountA) || !strings.Contains(out, "AWS account "+accountB) {
		t.Errorf("output does not name both accounts:\n%s", out)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// Region team-b's role acts in account B; a spec that says it must
	// act in A is refused, naming both, and nothing changes.
	before := e.snapshot()
	e.editSpec(`accountId: "222222222222"`, `accountId: "111111111111"`)
	r := e.run("apply", "-f", e.spec, "--auto-approve")
	if r.code != cli.ExitTarget || !strings.Contains(r.stderr, "must act in AWS account 111111111111") || !strings.Contains(r.stderr, "acts in 222222222222") {
		t.Errorf("apply with the wrong accountId: exit %d\n%s", r.code, r.stderr)
	}
	if after := e.snapshot(); after != before {
		t.Errorf("a refused apply changed the sandbox")
	}
	e.editSpec(`accountId: "111111111111"
      assumeRole: {roleArn: "arn:aws:iam::222222222222`, `accountId: "222222222222"
      assumeRole: {roleArn: "arn:aws:iam::222222222222`)

	e.must(0, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}

// projectsAndSubscriptions is a fleet of two GCP regions in two projects
// and two Azure regions in two subscriptions.
func projectsAndSubscriptions() string {
	region := func(name, provider, location, cidr, override string) string {
		return `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: ` + name + `}
spec:
  provider: ` + provider + `
  location: ` + location + `
  network: {cidr: ` + cidr + `}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 2}
  overrides:
    ` + provider + `: {` + override + `}
`
	}
	return strings.Join([]string{
		region("gcp-a", "gcp", "europe-west4", "10.40.0.0/16", "project: team-a-project"),
		region("gcp-b", "gcp", "us-central1", "10.41.0.0/16", "project: team-b-project"),
		region("az-a", "azure", "westeurope", "10.42.0.0/16", "subscriptionId: "+subscriptionA),
		region("az-b", "azure", "eastus", "10.43.0.0/16", "subscriptionId: "+subscriptionB),
	}, "---\n")
}

// Two Azure subscriptions of the sandbox's tenant.
const (
	subscriptionA = "11111111-1111-1111-1111-111111111111"
	subscriptionB = "22222222-2222-2222-2222-222222222222"
)

// TestFleetAcrossProjectsAndSubscriptions: per-region credentials on GCP
// and Azure — one fleet, each region in its own GCP project or Azure
// subscription (spec.overrides.gcp.project, .azure.subscriptionId). Each
// region's objects land in its project or subscription only, plans and
// state name it, the next plan is empty, and destroy empties all four.
func TestFleetAcrossProjectsAndSubscriptions(t *testing.T) {
	t.Parallel()
	e := newSpecEnv(t, "fleet.yaml", projectsAndSubscriptions(), providers.Registry{"gcp": gcp.New, "azure": azure.New},
		sandbox.Options{GCPProjects: []string{"team-a-project", "team-b-project"}}, false)
	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	for _, want := range []string{"team-a-project", "team-b-project", subscriptionA, subscriptionB} {
		if !strings.Contains(p.stdout+p.stderr, want) {
			t.Errorf("the plan does not name %s:\n%s\n%s", want, p.stdout, p.stderr)
		}
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")

	where := map[string]string{ // region → the prefix of its cloud ids
		"gcp-a": "projects/team-a-project/", "gcp-b": "projects/team-b-project/",
		"az-a": "/subscriptions/" + subscriptionA + "/", "az-b": "/subscriptions/" + subscriptionB + "/",
	}
	clusters := map[string]int{}
	for _, o := range e.objects() {
		if o.Type != "container.cluster" && o.Type != "managedCluster" {
			continue
		}
		for _, prefix := range where {
			if strings.HasPrefix(o.ID, prefix) {
				clusters[prefix]++
			}
		}
	}
	for region, prefix := range where {
		if clusters[prefix] != 1 {
			t.Errorf("%s: %d clusters under %s, want 1 (all: %v)", region, clusters[prefix], prefix, clusters)
		}
		st := e.state(region)
		if st == nil || st.Target == nil || !strings.Contains(st.Target.Account, strings.Trim(strings.TrimPrefix(strings.TrimPrefix(prefix, "projects/"), "/subscriptions/"), "/")) {
			t.Errorf("state of %s records target %+v, want its project or subscription", region, st.Target)
		}
		for _, r := range st.Resources {
			if r.ID != "" && strings.Contains(r.ID, "/") && !strings.Contains(r.ID, strings.TrimSuffix(prefix, "/")) && (r.Type == "gcp_container_cluster" || r.Type == "azure_managed_cluster") {
				t.Errorf("%s: %s %s is outside %s", region, r.Type, r.ID, prefix)
			}
		}
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}
