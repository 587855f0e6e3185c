package gcp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	container "cloud.google.com/go/container/apiv1"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
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
	// ts makes the access tokens the clients send.
	ts oauth2.TokenSource
}

// start runs a sandbox in dir with every latency set to lat on a stepped
// clock, and connects the clients. Its clusters get no Kubernetes API
// server (kube_test.go starts those).
func start(t testing.TB, dir string, lat time.Duration, faults ...sandbox.Fault) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	return startWith(t, sandbox.Options{Dir: dir, Clock: clk.Now, Latency: map[string]time.Duration{"*": lat}, Faults: faults, NoKubernetes: true}, clk)
}

func startWith(t testing.TB, opts sandbox.Options, clk *clock) *env {
	t.Helper()
	ctx := context.Background()
	opts.GCPProjects = append(opts.GCPProjects, project, "proj-b")
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	ep := sb.Endpoints()
	e := &env{sb: sb, clk: clk, ts: tokenSource(t, sb)}
	copts := []option.ClientOption{option.WithEndpoint(ep["gcp-compute"]), option.WithTokenSource(e.ts)}
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
	// GKE's gRPC endpoint is plain text: the access token goes in the
	// call's metadata as over TLS.
	conn, err2 := grpc.NewClient(ep["gcp-container"], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(plainTextBearer{e.ts}))
	must(err2)
	e.gke, err2 = container.NewClusterManagerClient(ctx, option.WithGRPCConn(conn))
	must(err2)
	t.Cleanup(func() { e.gke.Close() })
	return e
}

// tokenSource loads the sandbox's service account key file as
// Application Default Credentials load one; tokens come from its token
// endpoint on first use.
func tokenSource(t testing.TB, sb *sandbox.Sandbox) oauth2.TokenSource {
	t.Helper()
	creds, err := google.CredentialsFromJSONWithTypeAndParams(context.Background(), keyFile(t, sb), google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{cloudPlatform}})
	if err != nil {
		t.Fatal(err)
	}
	return creds.TokenSource
}

// plainTextBearer sends an OAuth2 access token with every gRPC call over
// the sandbox's plain-text connection (grpc's oauth credentials insist on
// TLS).
type plainTextBearer struct{ ts oauth2.TokenSource }

func (b plainTextBearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := b.ts.Token()
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

func (plainTextBearer) RequireTransportSecurity() bool { return false }

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
