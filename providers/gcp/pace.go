package gcp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/providers/budget"
)

// How long a ReadMany's list call waits for the ReadMany calls of other
// regions to join it (kit.Batcher).
const (
	listLinger        = 50 * time.Millisecond
	sandboxListLinger = 10 * time.Millisecond
)

// pacedClientOptions are the client options outside the sandbox: the GKE
// client's calls and the Compute clients' requests go through the rate
// budget, under the usual Application Default Credentials.
func (d *Driver) pacedClientOptions(ctx context.Context) (copts, gopts []option.ClientOption, err error) {
	t, err := htransport.NewTransport(ctx, d.pacedTransport(http.DefaultTransport), option.WithScopes("https://www.googleapis.com/auth/cloud-platform"))
	if err != nil {
		return nil, nil, fmt.Errorf("gcp: credentials for Compute Engine (Application Default Credentials): %w", err)
	}
	copts = []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: t})}
	gopts = []option.ClientOption{option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(d.paceGRPC))}
	return copts, gopts, nil
}

// paceGRPC makes every GKE call wait for a token of its project's bucket,
// and slows the bucket down when GKE answers RESOURCE_EXHAUSTED.
func (d *Driver) paceGRPC(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	key := budget.GCPContainerKey(projectOf(req))
	if err := d.budgets.Wait(ctx, key); err != nil {
		return err
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	if status.Code(err) == codes.ResourceExhausted {
		d.budgets.Throttled(key, retryHint(err))
	}
	return err
}

// projectOf is the project a GKE request names ("projects/P/...").
func projectOf(req any) string {
	for _, s := range []string{nameOf(req), parentOf(req)} {
		if p, ok := strings.CutPrefix(s, "projects/"); ok {
			p, _, _ = strings.Cut(p, "/")
			return p
		}
	}
	return ""
}

func nameOf(req any) string {
	if r, ok := req.(interface{ GetName() string }); ok {
		return r.GetName()
	}
	return ""
}

func parentOf(req any) string {
	if r, ok := req.(interface{ GetParent() string }); ok {
		return r.GetParent()
	}
	return ""
}

// pacedTransport makes every Compute Engine request wait for a token of
// its project's read or write bucket, and slows the bucket down when
// Compute answers 429. (A 403 rateLimitExceeded, which needs the body to
// tell from a refusal, is retried by the driver's retry policy.)
func (d *Driver) pacedTransport(base http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		key := budget.GCPComputeKey(computeProject(r.URL.Path), r.Method)
		if err := d.budgets.Wait(r.Context(), key); err != nil {
			return nil, err
		}
		resp, err := base.RoundTrip(r)
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			d.budgets.Throttled(key, 0)
		}
		return resp, err
	})
}

// computeProject is the project of a Compute Engine URL path
// (".../compute/v1/projects/P/...").
func computeProject(path string) string {
	_, rest, ok := strings.Cut(path, "/projects/")
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, "/")
	return p
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
