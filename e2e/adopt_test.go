package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// adoption is what importAndAdopt needs to know of one cloud: the region,
// the addresses of its cluster and a node pool, the form of an ID a user
// copies from that cloud's console, and the check that the sandbox and
// state agree (nothing leaked, nothing twice).
type adoption struct {
	region, network, cluster, pool string
	protected                      bool // the example sets spec.protect
	// consoleID is how the cloud's console or CLI shows the object state
	// records as r (an ARN, a resource path, an ARM ID in other case).
	consoleID func(r state.Resource) string
	matches   func()
}

// importAndAdopt: after state rm of a node pool that still exists, the
// plan adopts it by its tags instead of creating a second one; `regionctl
// import` brings the cluster and the network back by the IDs their
// console shows, and an
// import block in the spec does the same for the pool, each followed by
// an empty plan; nothing is ever duplicated or leaked, and destroy still
// empties the sandbox.
func (e *env) importAndAdopt(c adoption) {
	t := e.t
	t.Helper()
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	objects := len(e.objects())
	pool, _ := e.state(c.region).Find(c.pool)
	cluster, _ := e.state(c.region).Find(c.cluster)

	// state rm, then plan: adopted by its tags, not made twice.
	e.must(0, "state", "rm", c.pool)
	r := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "<= "+c.pool+" (adopting "+pool.ID) || !strings.Contains(r.stdout, "1 to import, 0 to add, 0 to change, 0 to destroy") {
		t.Fatalf("the plan after state rm does not adopt the pool %s:\n%s", pool.ID, r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if got, _ := e.state(c.region).Find(c.pool); got.ID != pool.ID || got.Status != state.StatusCreated {
		t.Errorf("after the adoption state holds the pool as %s %q, want created %q", got.Status, got.ID, pool.ID)
	}
	if n := len(e.objects()); n != objects {
		t.Errorf("the sandbox holds %d objects after the adoption, %d before", n, objects)
	}
	c.matches()

	// regionctl import, by the spec element and the console's ID.
	e.must(0, "state", "rm", c.cluster)
	r = e.must(0, "import", "-f", e.spec, c.region+"/cluster", c.consoleID(cluster))
	if !strings.Contains(r.stdout, "Imported ") || !strings.Contains(r.stdout, " as "+c.cluster+" (the sandbox in ") {
		t.Errorf("import output does not say what it recorded and where:\n%s", r.stdout)
	}
	if got, _ := e.state(c.region).Find(c.cluster); got.ID != cluster.ID {
		t.Errorf("import recorded the cluster as %q, want %q", got.ID, cluster.ID)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	network, _ := e.state(c.region).Find(c.network)
	e.must(0, "state", "rm", c.network)
	e.must(0, "import", "-f", e.spec, c.region+"/network", c.consoleID(network))
	if got, _ := e.state(c.region).Find(c.network); got.ID != network.ID {
		t.Errorf("import recorded the network as %q, want %q", got.ID, network.ID)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	r = e.run("import", "-f", e.spec, c.region+"/"+strings.TrimPrefix(c.pool, c.region+"/"), c.consoleID(cluster))
	if r.code == 0 {
		t.Errorf("importing the cluster's ID to the pool's address was accepted:\n%s", r.stdout)
	}

	// An import block: planned, applied, then a no-op while it stays.
	e.must(0, "state", "rm", c.pool)
	e.appendSpec(fmt.Sprintf("  import:\n    - to: cluster.nodePools.%s\n      id: %q\n", poolName(c.pool), c.consoleID(pool)))
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "<= "+c.pool+" (importing "+pool.ID+")") {
		t.Fatalf("the plan with an import block does not import the pool:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if n := len(e.objects()); n != objects {
		t.Errorf("the sandbox holds %d objects after the imports, %d before", n, objects)
	}
	c.matches()
	e.destroyToEmpty(c.region, c.protected)
}

// appendSpec adds text at the end of the env's spec.
func (e *env) appendSpec(text string) {
	e.t.Helper()
	b, err := os.ReadFile(e.spec)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.spec, append(b, text...), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// poolName is the node pool name in a pool's address (TYPE.NAME).
func poolName(addr string) string {
	_, _, name, _ := providers.SplitAddress(addr)
	return name
}

func TestAWSImportAndAdopt(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t, sandbox.Options{})
	e.smallSpec()
	e.importAndAdopt(adoption{
		region:    region,
		protected: true,
		cluster:   eksCluster,
		pool:      providers.Address(region, aws.TypeEKSNodeGroup, "system"),
		network:   providers.Address(region, aws.TypeVPC, "main"),
		consoleID: func(r state.Resource) string {
			if r.Type == aws.TypeVPC { // the VPC's ARN, in the cluster's account
				cl, _ := e.state(region).Find(eksCluster)
				a, _ := arn.Parse(fmt.Sprint(cl.Outputs["arn"]))
				return fmt.Sprintf("arn:aws:ec2:%s:%s:vpc/%s", a.Region, a.AccountID, r.ID)
			}
			return fmt.Sprint(r.Outputs["arn"])
		},
		matches: e.assertAWSMatchesState,
	})
}

func TestGCPImportAndAdopt(t *testing.T) {
	t.Parallel()
	e := newGCPEnv(t, sandbox.Options{}, false)
	e.importAndAdopt(adoption{
		region:    gcpRegion,
		protected: true,
		network:   providers.Address(gcpRegion, gcp.TypeNetwork, "main"),
		cluster:   providers.Address(gcpRegion, gcp.TypeCluster, "main"),
		pool:      providers.Address(gcpRegion, gcp.TypeNodePool, "system"),
		consoleID: func(r state.Resource) string {
			if r.Type == gcp.TypeNetwork {
				return fmt.Sprintf("projects/%s/global/networks/%s", r.Inputs["project"], r.Inputs["name"])
			}
			path := fmt.Sprintf("projects/%s/locations/%s/clusters/", r.Inputs["project"], r.Inputs["location"])
			if r.Type == gcp.TypeNodePool {
				return path + fmt.Sprintf("%s/nodePools/%s", r.Inputs["cluster"], r.Inputs["name"])
			}
			return "https://container.googleapis.com/v1/" + path + fmt.Sprint(r.Inputs["name"])
		},
		matches: e.assertGCPMatchesState,
	})
}

func TestAzureImportAndAdopt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{}, false)
	e.importAndAdopt(adoption{
		region:  azRegion,
		network: providers.Address(azRegion, azure.TypeVirtualNetwork, "main"),
		cluster: providers.Address(azRegion, azure.TypeCluster, "main"),
		pool:    providers.Address(azRegion, azure.TypeNodePool, "ingest"),
		consoleID: func(r state.Resource) string {
			if r.Type == azure.TypeNodePool {
				return fmt.Sprint(r.Inputs["name"]) // the name alone: its cluster is in state
			}
			// As `az` prints it in places: ARM's fixed segments in other case.
			return strings.NewReplacer("/resourceGroups/", "/resourcegroups/", "/managedClusters/", "/managedclusters/", "/virtualNetworks/", "/virtualnetworks/").Replace(r.ID)
		},
		matches: func() { e.assertAzureMatchesState(azRegion) },
	})
}

// eksClient is an EKS client of the env's sandbox, built as any AWS tool
// would build one from the config and credentials files the sandbox
// writes: the "someone else" that changes things outside regionctl.
func (e *env) eksClient() *eks.Client {
	e.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedConfigFiles([]string{sandbox.AWSConfigFile(e.sbDir)}),
		config.WithSharedCredentialsFiles([]string{sandbox.AWSCredentialsFile(e.sbDir)}),
		config.WithSharedConfigProfile(sandbox.AWSProfile))
	if err != nil {
		e.t.Fatal(err)
	}
	return eks.NewFromConfig(cfg)
}

// TestAWSRefreshOnlyTargetReplaceMove drives the state-surgery flags of
// Terraform on the AWS sandbox: a node group scaled outside regionctl is
// recorded by apply --refresh-only without changing it back; --target
// applies one pool's change and leaves the other for later; --replace
// replaces an unchanged pool (deleting it first: the new one has its
// name); and state mv after renaming a pool
// turns "delete one, create another" into one replacement at the new
// address. Every step ends with the sandbox matching state.
func TestAWSRefreshOnlyTargetReplaceMove(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t, sandbox.Options{})
	e.smallSpec()
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	system := providers.Address(region, aws.TypeEKSNodeGroup, "system")
	ingest := providers.Address(region, aws.TypeEKSNodeGroup, "ingest")
	cluster, _ := e.state(region).Find(eksCluster)
	ng, _ := e.state(region).Find(system)

	// Someone scales the system pool by hand.
	_, err := e.eksClient().UpdateNodegroupConfig(context.Background(), &eks.UpdateNodegroupConfigInput{
		ClusterName: awssdk.String(cluster.ID), NodegroupName: awssdk.String(fmt.Sprint(ng.Inputs["name"])),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: awssdk.Int32(3), MaxSize: awssdk.Int32(9), DesiredSize: awssdk.Int32(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	liveMax := func() int32 {
		out, err := e.eksClient().DescribeNodegroup(context.Background(), &eks.DescribeNodegroupInput{
			ClusterName: awssdk.String(cluster.ID), NodegroupName: awssdk.String(fmt.Sprint(ng.Inputs["name"]))})
		if err != nil {
			t.Fatal(err)
		}
		return awssdk.ToInt32(out.Nodegroup.ScalingConfig.MaxSize)
	}
	r := e.must(2, "plan", "-f", e.spec, "--refresh-only", "--detailed-exitcode")
	if !strings.Contains(r.stdout, "Objects changed outside regionctl") || !strings.Contains(r.stdout, "max_size: 6 → 9") {
		t.Fatalf("the refresh-only plan does not show the hand edit:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--refresh-only", "--auto-approve")
	if got, _ := e.state(region).Find(system); fmt.Sprint(got.Inputs["max_size"]) != "9" {
		t.Errorf("after apply --refresh-only state records max_size %v, want 9", got.Inputs["max_size"])
	}
	if got := liveMax(); got != 9 {
		t.Errorf("apply --refresh-only changed the cloud: the node group's maximum is %d, want 9 as edited by hand", got)
	}
	e.must(0, "plan", "-f", e.spec, "--refresh-only", "--detailed-exitcode")

	// Two pools to change; --target takes the system pool's change only.
	e.editSpec("max: 30", "max: 40")
	r = e.must(2, "plan", "-f", e.spec, "--target", "cluster.nodePools.system", "--detailed-exitcode")
	if got := changeLines(r.stdout, region, "~"); len(got) != 1 || !strings.Contains(got[0], system) || !strings.Contains(r.stdout, "Resource targeting is in effect") {
		t.Fatalf("the targeted plan changes %q, want the system pool only:\n%s", got, r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--target", "cluster.nodePools.system", "--auto-approve")
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(r.stdout, region, "~"); len(got) != 1 || !strings.Contains(got[0], ingest) {
		t.Fatalf("after the targeted apply the plan changes %q, want the ingest pool only:\n%s", got, r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.assertAWSMatchesState()

	// --replace an unchanged pool: the new node group has the old one's
	// name, so EKS needs the old one gone first; the plan says so rather
	// than promising a create apply would see refused.
	old, _ := e.state(region).Find(ingest)
	r = e.must(2, "plan", "-f", e.spec, "--replace", ingest, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "-/+ "+ingest+" (replace: replacement requested with --replace; the old one is deleted first, as the new one takes its name)") || !strings.Contains(r.stdout, "1 to add, 0 to change, 1 to destroy") {
		t.Fatalf("the --replace plan:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--replace", ingest, "--auto-approve")
	// A node group's ID is its name; its ARN ends in a UUID of its own.
	if now, _ := e.state(region).Find(ingest); now.Outputs["arn"] == old.Outputs["arn"] || now.IdempotencyKey == old.IdempotencyKey {
		t.Errorf("apply --replace kept node group %s (%s)", old.ID, old.Outputs["arn"])
	}
	e.assertAWSMatchesState()

	// Rename the ingest pool in the spec, and tell state: one replacement
	// at the new address (EKS cannot rename a node group), nothing left at
	// the old one.
	e.editSpec("- name: ingest", "- name: batch")
	batch := providers.Address(region, aws.TypeEKSNodeGroup, "batch")
	e.must(0, "state", "mv", ingest, batch)
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "+/- "+batch) || strings.Contains(r.stdout, ingest) || !strings.Contains(r.stdout, "1 to add, 0 to change, 1 to destroy") {
		t.Fatalf("the plan after state mv is not one replacement at %s:\n%s", batch, r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAWSMatchesState()
	e.destroyToEmpty(region, true)
}
