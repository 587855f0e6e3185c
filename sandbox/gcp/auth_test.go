package gcp_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	container "cloud.google.com/go/container/apiv1"
	"cloud.google.com/go/container/apiv1/containerpb"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/sandbox/gcp"
)

const realm = `Bearer realm="https://accounts.google.com/"`

// TestCredentialsRequired: what Google's front end refuses, the sandbox
// refuses, on REST (GKE and Compute) and gRPC alike: no credentials (401
// CREDENTIALS_MISSING), a token the sandbox's token endpoint did not issue
// (401 invalid_token), a token without a scope the API takes (403); the
// sandbox's own tokens pass.
func TestCredentialsRequired(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	ctx := context.Background()
	gkePath := "/v1/projects/" + project + "/locations/-/clusters"
	computePath := "/compute/v1/projects/" + project + "/global/networks"

	// The sandbox's own token, from its key file.
	for _, p := range []string{gkePath, computePath} {
		if r := restDo(t, e, http.MethodGet, p, "", true); r.code != http.StatusOK {
			t.Errorf("GET %s with the sandbox's token: %d %s", p, r.code, r.raw)
		}
	}

	// No credentials: GKE (a newer API) answers without an "errors" list,
	// Compute with one naming the Authorization header.
	r := restDoAuth(t, e, http.MethodGet, gkePath, "", "")
	if r.code != 401 || r.header.Get("WWW-Authenticate") != realm || r.Error.Status != "UNAUTHENTICATED" ||
		!strings.HasPrefix(r.Error.Message, "Request is missing required authentication credential.") ||
		len(r.Error.Details) != 1 || r.Error.Details[0].Type != "type.googleapis.com/google.rpc.ErrorInfo" || r.Error.Details[0].Reason != "CREDENTIALS_MISSING" ||
		r.Error.Details[0].Metadata["service"] != "container.googleapis.com" || r.Error.Details[0].Metadata["method"] != "google.container.v1.ClusterManager.ListClusters" {
		t.Errorf("GKE REST without credentials: %d %v %s", r.code, r.header, r.raw)
	}
	r = restDoAuth(t, e, http.MethodGet, computePath, "", "")
	if r.code != 401 || r.header.Get("WWW-Authenticate") != realm || r.Error.Status != "UNAUTHENTICATED" || len(r.Error.Errors) != 1 ||
		r.Error.Errors[0].Reason != "required" || r.Error.Errors[0].Location != "Authorization" || r.Error.Errors[0].LocationType != "header" ||
		r.Error.Details[0].Metadata["service"] != "compute.googleapis.com" {
		t.Errorf("Compute without credentials: %d %v %s", r.code, r.header, r.raw)
	}

	// Tokens the sandbox did not issue.
	tok, err := e.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	forged := tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA"
	for _, authz := range []string{"Bearer not-a-jwt", "Bearer " + forged, "Basic c2FuZGJveDpzYW5kYm94", "Bearer ya29.a0AfH6SMB-from-google"} {
		for _, p := range []string{gkePath, computePath} {
			r := restDoAuth(t, e, http.MethodGet, p, "", authz)
			if r.code != 401 || r.header.Get("WWW-Authenticate") != realm+`, error="invalid_token"` ||
				!strings.HasPrefix(r.Error.Message, "Request had invalid authentication credentials.") || r.Error.Details[0].Reason != "ACCESS_TOKEN_TYPE_UNSUPPORTED" {
				t.Errorf("GET %s with %q: %d %v %s", p, authz, r.code, r.header, r.raw)
			}
		}
	}

	// A token without cloud-platform: GKE refuses it (403), as Google does.
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, keyFile(t, e.sb), google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{"https://www.googleapis.com/auth/userinfo.email"}})
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	r = restDoAuth(t, e, http.MethodGet, gkePath, "", "Bearer "+narrow.AccessToken)
	if r.code != 403 || r.Error.Status != "PERMISSION_DENIED" || r.Error.Details[0].Reason != "ACCESS_TOKEN_SCOPE_INSUFFICIENT" ||
		!strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("GKE with a userinfo.email token: %d %v %s", r.code, r.header, r.raw)
	}

	// The official clients without credentials get the typed errors.
	ep := e.sb.Endpoints()
	nets, err := compute.NewNetworksRESTClient(ctx, option.WithEndpoint(ep[gcp.ComputeKey]), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer nets.Close()
	_, err = nets.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "net"})
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 401 || ge.Errors[0].Reason != "required" {
		t.Errorf("Compute client without credentials: %v", err)
	}
	gke, err := container.NewClusterManagerClient(ctx, option.WithEndpoint(ep[gcp.ContainerKey]), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer gke.Close()
	_, err = gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: "projects/" + project + "/locations/-"})
	st := status.Convert(err)
	if st.Code() != codes.Unauthenticated || !strings.HasPrefix(st.Message(), "Request is missing required authentication credential.") || len(st.Details()) != 1 {
		t.Fatalf("GKE gRPC without credentials: %v", err)
	}
	if info, ok := st.Details()[0].(*errdetails.ErrorInfo); !ok || info.GetReason() != "CREDENTIALS_MISSING" || info.GetMetadata()["method"] != "google.container.v1.ClusterManager.ListClusters" {
		t.Errorf("GKE gRPC error detail = %v", st.Details()[0])
	}
	// Service Usage, which gcloud asks before creating a cluster: every API
	// is enabled in a project that exists.
	su := "compute:/v1/projects/" + project + "/services/containerfilesystem.googleapis.com"
	if r := restDo(t, e, http.MethodGet, su, "", true); r.code != 200 || !strings.Contains(r.raw, `"state":"ENABLED"`) {
		t.Errorf("services.get: %d %s", r.code, r.raw)
	}
	if r := restDo(t, e, http.MethodGet, su, "", false); r.code != 401 {
		t.Errorf("services.get without credentials: %d %s", r.code, r.raw)
	}
	if r := restDo(t, e, http.MethodGet, "compute:/v1/projects/no-such-project/services/container.googleapis.com", "", true); r.code != 403 {
		t.Errorf("services.get in a missing project: %d %s", r.code, r.raw)
	}
	// Refused calls are still counted, under their operation.
	if n := e.sb.Requests()["container:ListClusters"]; n != 1+1+4+1+1 {
		t.Errorf("container:ListClusters requests = %d, want 8", n)
	}
}
