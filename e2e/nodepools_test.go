package e2e

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/sandbox"
)

// TestAWSNodePoolOptions: a pool's disk.sizeGiB reaches EKS as the node
// group's diskSize and os.family windows as its Windows AMI type; the next
// plan is empty (EKS's default disk on the other pool is no drift), and
// what EKS cannot have (maxPods) is refused at plan time, naming the field.
func TestAWSNodePoolOptions(t *testing.T) {
	t.Parallel()
	e := newSpecEnv(t, "pools.yaml", `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: pools}
spec:
  provider: aws
  location: eu-west-1
  zones: 2
  network: {cidr: 10.50.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2}
      - {name: big, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2, disk: {sizeGiB: 200, tier: ssd}}
      - {name: win, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2, os: {family: windows}}
`, awsRegistry, sandbox.Options{}, false)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	cfg := e.sandboxAWSConfig("eu-west-1")
	c := eks.NewFromConfig(cfg)
	ctx := context.Background()
	want := map[string]struct {
		disk int32
		ami  string
	}{"system": {20, "AL2023_x86_64_STANDARD"}, "big": {200, "AL2023_x86_64_STANDARD"}, "win": {20, "WINDOWS_CORE_2022_x86_64"}}
	for _, r := range e.state("pools").Resources {
		if r.Type != "aws_eks_node_group" {
			continue
		}
		_, _, pool, _ := providers.SplitAddress(r.Address)
		ng, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: awssdk.String("pools"), NodegroupName: awssdk.String(r.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if w := want[pool]; awssdk.ToInt32(ng.Nodegroup.DiskSize) != w.disk || string(ng.Nodegroup.AmiType) != w.ami {
			t.Errorf("%s: diskSize %d, AMI %s; want %d, %s", pool, awssdk.ToInt32(ng.Nodegroup.DiskSize), ng.Nodegroup.AmiType, w.disk, w.ami)
		}
		delete(want, pool)
	}
	if len(want) != 0 {
		t.Errorf("no node group for %v", want)
	}
	e.editSpec("os: {family: windows}}", "os: {family: windows}, maxPods: 30}")
	r := e.run("plan", "-f", e.spec)
	if r.code != cli.ExitSpecInvalid || !strings.Contains(r.stderr, "spec.cluster.nodePools[2].maxPods") {
		t.Errorf("plan with maxPods on EKS: exit %d\n%s", r.code, r.stderr)
	}
	e.editSpec(", maxPods: 30}", "}")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}
