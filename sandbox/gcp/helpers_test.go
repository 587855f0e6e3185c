package gcp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	container "cloud.google.com/go/container/apiv1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/regionctl/regionctl/sandbox"
)

const project = "proj-a"

// clock is a settable emulated clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a sandbox with real SDK clients pointed at it.
type env struct {
	sb       *sandbox.Sandbox
	clk      *clock
	networks *compute.NetworksClient
	subnets  *compute.SubnetworksClient
	routers  *compute.RoutersClient
	addrs    *compute.AddressesClient
	gops     *compute.GlobalOperationsClient
	rops     *compute.RegionOperationsClient
	igms     *compute.InstanceGroupManagersClient
	gke      *container.ClusterManagerClient
}

// start runs a sandbox in dir with every latency set to lat on a stepped
// clock, and connects the clients. Its clusters get no Kubernetes API
// server (kube_test.go starts those).
func start(t *testing.T, dir string, lat time.Duration, faults ...sandbox.Fault) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	return startWith(t, sandbox.Options{Dir: dir, Clock: clk.Now, Latency: map[string]time.Duration{"*": lat}, Faults: faults, NoKubernetes: true}, clk)
}

func startWith(t *testing.T, opts sandbox.Options, clk *clock) *env {
	t.Helper()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	ep := sb.Endpoints()
	copts := []option.ClientOption{option.WithEndpoint(ep["gcp-compute"]), option.WithoutAuthentication()}
	e := &env{sb: sb, clk: clk}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err2 error
	e.networks, err2 = compute.NewNetworksRESTClient(ctx, copts...)
	must(err2)
	e.subnets, err2 = compute.NewSubnetworksRESTClient(ctx, copts...)
	must(err2)
	e.routers, err2 = compute.NewRoutersRESTClient(ctx, copts...)
	must(err2)
	e.addrs, err2 = compute.NewAddressesRESTClient(ctx, copts...)
	must(err2)
	e.gops, err2 = compute.NewGlobalOperationsRESTClient(ctx, copts...)
	must(err2)
	e.rops, err2 = compute.NewRegionOperationsRESTClient(ctx, copts...)
	must(err2)
	e.igms, err2 = compute.NewInstanceGroupManagersRESTClient(ctx, copts...)
	must(err2)
	e.gke, err2 = container.NewClusterManagerClient(ctx, option.WithEndpoint(ep["gcp-container"]), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	must(err2)
	t.Cleanup(func() { e.gke.Close() })
	return e
}

// googleErr returns the HTTP code and first reason of a Compute error.
func googleErr(t *testing.T, err error) (int, string) {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *googleapi.Error", err, err)
	}
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	return ge.Code, reason
}
