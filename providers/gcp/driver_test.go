package gcp_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

// startSandbox starts the emulators in-process on random ports and a GCP
// driver pointed at them.
func startSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	opts.Dir = t.TempDir()
	if opts.Latency == nil {
		opts.Latency = map[string]time.Duration{"*": 0}
	}
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("close sandbox: %v", err)
		}
	})
	d, err := gcpdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.(*gcpdriver.Driver).Close() })
	return sb, d
}

func gcpRequests(sb *sandbox.Sandbox) int {
	n := 0
	for op, v := range sb.Requests() {
		if strings.HasPrefix(op, "compute:") || strings.HasPrefix(op, "container:") {
			n += v
		}
	}
	return n
}

// inventory lists the GCP objects the sandbox holds.
func inventory(sb *sandbox.Sandbox) []string {
	var ids []string
	for _, o := range sb.List() {
		if o.Cloud == "gcp" {
			ids = append(ids, o.Type+"/"+o.ID)
		}
	}
	return ids
}

func loadExample(t *testing.T) *spec.Region {
	t.Helper()
	rs, ds := spec.Load(context.Background(), []string{"../../examples/gcp.yaml"}, spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load examples/gcp.yaml: %d regions, diagnostics:\n%v", len(rs), ds)
	}
	return rs[0]
}

func TestConformance(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: loadExample(t),
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Max += 3
			c.Spec.Cluster.NodePools[0].Labels = map[string]string{"node-role": "system", "tier": "critical"}
			c.Spec.Cluster.NodePools[1].Taints = nil
			// 1.34 is offered in the rapid channel only: the channel moves
			// first, then the version.
			c.Spec.Cluster.KubernetesVersion = "1.34"
			c.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(`{"releaseChannel":"rapid","masterAuthorizedNetworks":["203.0.113.0/24"]}`)}
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Machine = spec.Machine{CPU: 16, MemoryGiB: 64, Arch: spec.ArchARM64}
			return c
		},
		Timeout:    time.Minute,
		CloudCalls: func() int { return gcpRequests(sb) },
		Inventory:  func(context.Context) ([]string, error) { return inventory(sb), nil },
	})
}

var _ = slices.Contains[[]string]
