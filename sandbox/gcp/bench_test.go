package gcp_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
)

// BenchmarkGetClusterTransports measures GetCluster of the same cluster
// (one node pool) over gRPC and over REST (Google's discovery-based client;
// transcoding by the proto's http rules, protojson both ways), each call
// authenticated. It reports µs/call per transport and, on the REST
// sub-benchmark, the ratio to the gRPC figure measured just before.
func BenchmarkGetClusterTransports(b *testing.B) {
	e := start(b, b.TempDir(), 0)
	network(b, e)
	ctx := context.Background()
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		b.Fatal(err)
	}
	waitOp(b, e, op)
	rest := restGKE(b, e)
	var grpcPerCall time.Duration
	b.Run("grpc", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey}); err != nil {
				b.Fatal(err)
			}
		}
		grpcPerCall = time.Since(start) / time.Duration(b.N)
		b.ReportMetric(float64(grpcPerCall.Microseconds()), "µs/call")
	})
	b.Run("rest", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := rest.Projects.Locations.Clusters.Get(clusterKey).Do(); err != nil {
				b.Fatal(err)
			}
		}
		perCall := time.Since(start) / time.Duration(b.N)
		b.ReportMetric(float64(perCall.Microseconds()), "µs/call")
		if grpcPerCall > 0 {
			b.ReportMetric(float64(perCall)/float64(grpcPerCall), "x-grpc")
		}
	})
}
