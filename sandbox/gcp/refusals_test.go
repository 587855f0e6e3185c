package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/api/googleapi"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestProjectsAndLocationsRefused: a project that does not exist gets
// Compute's 404 and GKE's 403 CONSUMER_INVALID (both transports); a region
// or zone that does not exist gets Compute's "Unknown region/zone." and
// GKE's "Location … does not exist.".
func TestProjectsAndLocationsRefused(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	ctx := context.Background()
	const ghost = "no-such-project"

	_, err := e.networks.List(ctx, &computepb.ListNetworksRequest{Project: ghost}).Next()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 404 || ge.Errors[0].Reason != "notFound" || ge.Message != "The resource 'projects/"+ghost+"' was not found" {
		t.Errorf("Compute list in a missing project: %v", err)
	}
	_, err = e.subnets.Get(ctx, &computepb.GetSubnetworkRequest{Project: ghost, Region: "us-central1", Subnetwork: "x"})
	if !errors.As(err, &ge) || ge.Code != 404 {
		t.Errorf("Compute get in a missing project: %v", err)
	}

	for _, req := range []*containerpb.ListClustersRequest{
		{Parent: "projects/" + ghost + "/locations/-"},
		{ProjectId: ghost, Zone: "us-central1-a"}, //nolint:staticcheck // the deprecated fields name a project too
	} {
		_, err := e.gke.ListClusters(ctx, req)
		st := status.Convert(err)
		if st.Code() != codes.PermissionDenied || st.Message() != "Permission denied on resource project "+ghost+"." || len(st.Details()) == 0 {
			t.Fatalf("GKE list %v: %v", req, err)
		}
		if info, ok := st.Details()[0].(*errdetails.ErrorInfo); !ok || info.GetReason() != "CONSUMER_INVALID" || info.GetMetadata()["consumer"] != "projects/"+ghost {
			t.Errorf("GKE list %v: detail %v", req, st.Details()[0])
		}
	}
	r := restDo(t, e, http.MethodGet, "/v1/projects/"+ghost+"/locations/us-central1/clusters/demo", "", true)
	if r.code != 403 || r.Error.Status != "PERMISSION_DENIED" || r.Error.Errors[0].Reason != "forbidden" ||
		len(r.Error.Details) == 0 || r.Error.Details[0].Reason != "CONSUMER_INVALID" || r.Error.Details[0].Metadata["service"] != "container.googleapis.com" {
		t.Errorf("GKE REST get in a missing project: %d %s", r.code, r.raw)
	}

	// Locations.
	_, err = e.subnets.List(ctx, &computepb.ListSubnetworksRequest{Project: project, Region: "mars1"}).Next()
	if !errors.As(err, &ge) || ge.Code != 400 || ge.Errors[0].Reason != "invalid" || ge.Message != "Invalid value for field 'region': 'mars1'. Unknown region." {
		t.Errorf("Compute list in region mars1: %v", err)
	}
	_, err = e.igms.Get(ctx, &computepb.GetInstanceGroupManagerRequest{Project: project, Zone: "us-central1-z", InstanceGroupManager: "x"})
	if !errors.As(err, &ge) || ge.Code != 400 || ge.Message != "Invalid value for field 'zone': 'us-central1-z'. Unknown zone." {
		t.Errorf("Compute get in zone us-central1-z: %v", err)
	}
	for _, l := range []string{"mars-central1", "us-central1-z", "us-central9"} {
		_, err := e.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: "projects/" + project + "/locations/" + l})
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != `Location "`+l+`" does not exist.` {
			t.Errorf("GKE list in %s: %v", l, err)
		}
	}
	if r := restDo(t, e, http.MethodGet, "/v1/projects/"+project+"/locations/mars-central1/clusters", "", true); r.code != 400 || r.Error.Status != "INVALID_ARGUMENT" {
		t.Errorf("GKE REST list in mars-central1: %d %s", r.code, r.raw)
	}
	if _, err := e.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: "projects/" + project + "/locations/europe-west12"}); err != nil {
		t.Errorf("GKE list in europe-west12: %v", err)
	}
}

// TestLabelsRefused: the label rules Google Cloud enforces, with Compute's
// messages, on Compute addresses and GKE resource labels (both transports).
func TestLabelsRefused(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	network(t, e)
	ctx := context.Background()
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%02d", i)] = "v"
		}
		return m
	}
	long := strings.Repeat("a", 63)
	tests := []struct {
		name   string
		labels map[string]string
		want   string // "" accepted
	}{
		{"64 labels, 63-character key and value", func() map[string]string { m := many(63); m[long] = long; return m }(), ""},
		{"empty value", map[string]string{"env": ""}, ""},
		{"65 labels", many(65), "Too many labels: 65 were given, the maximum is 64."},
		{"uppercase key", map[string]string{"Env": "prod"}, "Label key 'Env' violates format constraints."},
		{"key starting with a digit", map[string]string{"1env": "prod"}, "Label key '1env' violates format constraints."},
		{"64-character key", map[string]string{long + "a": "x"}, "Label key '" + long + "a' violates format constraints."},
		{"empty key", map[string]string{"": "x"}, "Label key '' violates format constraints."},
		{"64-character value", map[string]string{"env": long + "a"}, "Label value '" + long + "a' violates format constraints."},
		{"'<' in a value", map[string]string{"env": "a<b"}, "Label value 'a<b' violates format constraints."},
		{"uppercase value", map[string]string{"env": "Prod"}, "Label value 'Prod' violates format constraints."},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.addrs.Insert(ctx, &computepb.InsertAddressRequest{Project: project, Region: "us-central1",
				AddressResource: &computepb.Address{Name: proto.String(fmt.Sprintf("a%d", i)), Labels: tc.labels}})
			var ge *googleapi.Error
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("address insert: %v", err)
			case tc.want != "" && (!errors.As(err, &ge) || ge.Code != 400 || ge.Errors[0].Reason != "invalid" ||
				!strings.HasPrefix(ge.Message, "Invalid value for field 'resource.labels': ''. "+tc.want)):
				t.Errorf("address insert: %v, want 400 invalid %q", err, tc.want)
			}
			if tc.want == "" {
				return // a created cluster would hold the subnetwork's ranges
			}
			c := demoCluster()
			c.Name = fmt.Sprintf("c%d", i)
			c.ResourceLabels = tc.labels
			_, err = e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: c})
			if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) {
				t.Errorf("GKE create: %v, want INVALID_ARGUMENT %q", err, tc.want)
			}
		})
	}
}
