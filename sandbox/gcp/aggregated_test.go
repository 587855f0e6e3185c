package gcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	computerest "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/gcp"
)

// computeFixture makes subnetworks, addresses and a router in two regions.
func computeFixture(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	network(t, e)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	op, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "europe-west1", SubnetworkResource: &computepb.Subnetwork{
		Name: proto.String("eu"), Network: proto.String("global/networks/net"), IpCidrRange: proto.String("10.16.0.0/20")}})
	must(err)
	must(op.Wait(ctx))
	for _, a := range []struct{ region, name string }{{"us-central1", "ip-us"}, {"europe-west1", "ip-eu"}, {"europe-west1", "ip-eu-2"}} {
		op, err := e.addrs.Insert(ctx, &computepb.InsertAddressRequest{Project: project, Region: a.region,
			AddressResource: &computepb.Address{Name: proto.String(a.name), Labels: map[string]string{"env": strings.TrimPrefix(a.name, "ip-")}}})
		must(err)
		must(op.Wait(ctx))
	}
	op, err = e.routers.Insert(ctx, &computepb.InsertRouterRequest{Project: project, Region: "us-central1", RouterResource: &computepb.Router{
		Name: proto.String("nat"), Network: proto.String("global/networks/net")}})
	must(err)
	must(op.Wait(ctx))
}

// TestAggregatedLists: /aggregated/subnetworks, addresses and routers with
// items keyed by "regions/R", the NO_RESULTS_ON_PAGE warning on scopes
// without items, pagination, filter and returnPartialSuccess, read with
// the official Go client (cloud.google.com/go/compute) and with Google's
// discovery-based client (what gcloud's list calls look like).
func TestAggregatedLists(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	computeFixture(t, e)
	ctx := context.Background()

	names := func(it interface {
		Next() (string, []string, error)
	}) map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for {
			scope, items, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 0 {
				out[scope] = append(out[scope], items...)
			}
		}
	}
	subnets := func(req *computepb.AggregatedListSubnetworksRequest) map[string][]string {
		it := e.subnets.AggregatedList(ctx, req)
		return names(pairs(func() (string, []string, error) {
			p, err := it.Next()
			var n []string
			for _, s := range p.Value.GetSubnetworks() {
				n = append(n, s.GetName())
			}
			return p.Key, n, err
		}))
	}
	want := map[string][]string{"regions/us-central1": {"nodes"}, "regions/europe-west1": {"eu"}}
	if got := subnets(&computepb.AggregatedListSubnetworksRequest{Project: project}); !equalScopes(got, want) {
		t.Errorf("aggregated subnetworks = %v, want %v", got, want)
	}
	// One item per page: the iterator follows nextPageToken to the end.
	if got := subnets(&computepb.AggregatedListSubnetworksRequest{Project: project, MaxResults: proto.Uint32(1)}); !equalScopes(got, want) {
		t.Errorf("aggregated subnetworks, 1 per page = %v, want %v", got, want)
	}
	if got := subnets(&computepb.AggregatedListSubnetworksRequest{Project: project, Filter: proto.String(`name = "eu"`)}); !equalScopes(got, map[string][]string{"regions/europe-west1": {"eu"}}) {
		t.Errorf("aggregated subnetworks name = eu: %v", got)
	}

	it := e.addrs.AggregatedList(ctx, &computepb.AggregatedListAddressesRequest{Project: project, Filter: proto.String("labels.env eq eu.*")})
	got := names(pairs(func() (string, []string, error) {
		p, err := it.Next()
		var n []string
		for _, a := range p.Value.GetAddresses() {
			n = append(n, a.GetName())
		}
		return p.Key, n, err
	}))
	if !equalScopes(got, map[string][]string{"regions/europe-west1": {"ip-eu", "ip-eu-2"}}) {
		t.Errorf("aggregated addresses labels.env eq eu.* = %v", got)
	}
	rit := e.routers.AggregatedList(ctx, &computepb.AggregatedListRoutersRequest{Project: project})
	got = names(pairs(func() (string, []string, error) {
		p, err := rit.Next()
		var n []string
		for _, r := range p.Value.GetRouters() {
			n = append(n, r.GetName())
		}
		return p.Key, n, err
	}))
	if !equalScopes(got, map[string][]string{"regions/us-central1": {"nat"}}) {
		t.Errorf("aggregated routers = %v", got)
	}

	// The raw first page of two: items keyed by scope, warnings on the
	// others, a page token; "global" is a scope of addresses.
	svc, err := computerest.NewService(ctx, option.WithEndpoint(e.sb.Endpoints()[gcp.ComputeKey]+"/compute/v1/"), option.WithTokenSource(e.ts))
	if err != nil {
		t.Fatal(err)
	}
	page, err := svc.Addresses.AggregatedList(project).MaxResults(2).IncludeAllScopes(true).Do()
	if err != nil {
		t.Fatal(err)
	}
	if page.Kind != "compute#addressAggregatedList" || page.NextPageToken == "" || len(page.Items["regions/europe-west1"].Addresses) != 2 ||
		page.Items["regions/us-central1"].Warning == nil || page.Items["regions/us-central1"].Warning.Code != "NO_RESULTS_ON_PAGE" ||
		page.Items["global"].Warning == nil || page.Items["global"].Warning.Data[0].Value != "global" {
		b, _ := json.Marshal(page)
		t.Errorf("first page = %s", b)
	}
	page2, err := svc.Addresses.AggregatedList(project).MaxResults(2).PageToken(page.NextPageToken).Do()
	if err != nil || page2.NextPageToken != "" || len(page2.Items["regions/us-central1"].Addresses) != 1 || len(page2.Items["regions/europe-west1"].Addresses) != 0 {
		t.Errorf("second page = %+v, %v", page2, err)
	}
	// Plain lists filter and page the same way.
	sl, err := svc.Addresses.List(project, "europe-west1").Filter(`(name != "ip-eu") (addressType = EXTERNAL)`).Do()
	if err != nil || len(sl.Items) != 1 || sl.Items[0].Name != "ip-eu-2" {
		t.Errorf("filtered list = %+v, %v", sl, err)
	}
	sl, err = svc.Addresses.List(project, "europe-west1").MaxResults(1).Do()
	if err != nil || len(sl.Items) != 1 || sl.NextPageToken == "" {
		t.Errorf("list with maxResults 1 = %+v, %v", sl, err)
	}

	// returnPartialSuccess, which gcloud has sent with aggregated lists
	// (the current API dropped it), is taken; nothing is unreachable.
	if r := restDo(t, e, http.MethodGet, "/compute/v1/projects/"+project+"/aggregated/routers?returnPartialSuccess=true&alt=json", "", true); r.code != 200 || !strings.Contains(r.raw, `"nat"`) || strings.Contains(r.raw, "unreachables") {
		t.Errorf("returnPartialSuccess=true: %d %s", r.code, r.raw)
	}
	// What Compute refuses.
	for _, q := range []string{"filter=name+%3D", "filter=" + url.QueryEscape("(name = a"), "filter=" + url.QueryEscape("name ~ a"), "maxResults=501", "pageToken=bogus", "returnPartialSuccess=maybe", "includeAllScopes=2", "serviceProjectNumber=x", "orderBy=size"} {
		r := restDo(t, e, http.MethodGet, "/compute/v1/projects/"+project+"/aggregated/subnetworks?"+q, "", true)
		if r.code != 400 || r.Error.Errors[0].Reason != "invalid" {
			t.Errorf("aggregated subnetworks ?%s: %d %s", q, r.code, r.raw)
		}
	}
	_, err = svc.Subnetworks.AggregatedList(project).Filter("name = ").Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 400 {
		t.Errorf("bad filter with the REST client: %v", err)
	}
}

// TestAutoscalersOfNodePools: a GKE node pool with autoscaling is scaled by
// GKE's cluster autoscaler, not a Compute autoscaler — as on Google Cloud,
// Compute lists no autoscaler for its managed instance groups, which it
// does list (zonal and aggregated) with the pool's size.
func TestAutoscalersOfNodePools(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	network(t, e)
	ctx := context.Background()
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, e, op)
	svc, err := computerest.NewService(ctx, option.WithEndpoint(e.sb.Endpoints()[gcp.ComputeKey]+"/compute/v1/"), option.WithTokenSource(e.ts))
	if err != nil {
		t.Fatal(err)
	}
	agg, err := svc.Autoscalers.AggregatedList(project).Do()
	if err != nil {
		t.Fatal(err)
	}
	for scope, l := range agg.Items {
		if len(l.Autoscalers) > 0 || l.Warning == nil || l.Warning.Code != "NO_RESULTS_ON_PAGE" {
			t.Errorf("autoscalers in %s = %+v", scope, l)
		}
	}
	if _, ok := agg.Items["zones/us-central1-a"]; !ok || len(agg.Items) < 100 {
		t.Errorf("aggregated autoscalers cover %d scopes, want every region and zone", len(agg.Items))
	}
	if l, err := svc.Autoscalers.List(project, "us-central1-a").Do(); err != nil || len(l.Items) != 0 {
		t.Errorf("autoscalers in us-central1-a = %+v, %v", l, err)
	}
	if l, err := svc.RegionAutoscalers.List(project, "us-central1").Do(); err != nil || len(l.Items) != 0 {
		t.Errorf("region autoscalers = %+v, %v", l, err)
	}
	migs, err := svc.InstanceGroupManagers.AggregatedList(project).Do()
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for scope, l := range migs.Items {
		for _, m := range l.InstanceGroupManagers {
			zones = append(zones, scope)
			if m.TargetSize != 1 || !strings.Contains(m.Name, "-system-") {
				t.Errorf("MIG %s = %+v", scope, m)
			}
			if _, err := svc.Autoscalers.Get(project, strings.TrimPrefix(scope, "zones/"), m.Name).Do(); !isCode(err, 404) {
				t.Errorf("autoscaler of %s: %v, want 404", m.Name, err)
			}
		}
	}
	sort.Strings(zones)
	if strings.Join(zones, " ") != "zones/us-central1-a zones/us-central1-b zones/us-central1-c" {
		t.Errorf("MIGs in %v", zones)
	}
	if l, err := svc.InstanceGroupManagers.List(project, "us-central1-b").Do(); err != nil || len(l.Items) != 1 || l.Kind != "compute#instanceGroupManagerList" {
		t.Errorf("MIGs in us-central1-b = %+v, %v", l, err)
	}
	if l, err := svc.InstanceGroups.List(project, "us-central1-b").Do(); err != nil || len(l.Items) != 1 || l.Items[0].Size != 1 ||
		!strings.HasSuffix(l.Items[0].Subnetwork, "/regions/us-central1/subnetworks/nodes") || l.Kind != "compute#instanceGroupList" {
		t.Errorf("instance groups in us-central1-b = %+v, %v", l, err)
	}
}

// TestRegionsZonesAndBatch: regions and zones are listed as Compute lists
// them, and gcloud's batch endpoint answers each part in order, with the
// outer request's credentials.
func TestRegionsZonesAndBatch(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	network(t, e)
	ctx := context.Background()
	svc, err := computerest.NewService(ctx, option.WithEndpoint(e.sb.Endpoints()[gcp.ComputeKey]+"/compute/v1/"), option.WithTokenSource(e.ts))
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Regions.Get(project, "europe-west1").Do()
	if err != nil || r.Status != "UP" || len(r.Zones) != 3 || !strings.HasSuffix(r.Zones[0], "/zones/europe-west1-b") {
		t.Errorf("region europe-west1 = %+v, %v", r, err)
	}
	if _, err := svc.Regions.Get(project, "mars1").Do(); !isCode(err, 404) {
		t.Errorf("region mars1: %v, want 404", err)
	}
	zl, err := svc.Zones.List(project).Filter(`region eq ".*/us-central1"`).Do()
	if err != nil || len(zl.Items) != 4 || zl.Items[3].Name != "us-central1-f" {
		t.Errorf("zones of us-central1 = %+v, %v", zl, err)
	}

	batch := func(authz string, paths ...string) (int, []string) {
		t.Helper()
		var body strings.Builder
		for i, p := range paths {
			fmt.Fprintf(&body, "--b0undary\r\nContent-Type: application/http\r\nContent-ID: <%d+id>\r\n\r\nGET %s HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n", i, p)
		}
		body.WriteString("--b0undary--\r\n")
		req, err := http.NewRequest(http.MethodPost, e.sb.Endpoints()[gcp.ComputeKey]+gcp.BatchPath, strings.NewReader(body.String()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "multipart/mixed; boundary=b0undary")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("batch reply Content-Type %q: %v", resp.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(resp.Body, params["boundary"])
		var parts []string
		for i := 0; ; i++ {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if id := part.Header.Get("Content-ID"); id != fmt.Sprintf("<response-%d+id>", i) {
				t.Errorf("part %d Content-ID %q", i, id)
			}
			res, err := http.ReadResponse(bufio.NewReader(part), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			parts = append(parts, fmt.Sprintf("%d %s", res.StatusCode, b))
		}
		return resp.StatusCode, parts
	}
	tok, err := e.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	code, parts := batch("Bearer "+tok.AccessToken, "/compute/v1/projects/"+project+"/global/networks/net", "/compute/v1/projects/"+project+"/global/networks/nope")
	if code != 200 || len(parts) != 2 || !strings.HasPrefix(parts[0], `200 {`) || !strings.Contains(parts[0], `"name":"net"`) || !strings.HasPrefix(parts[1], "404 ") {
		t.Errorf("batch = %d %q", code, parts)
	}
	if code, parts := batch("", "/compute/v1/projects/"+project+"/global/networks/net"); code != 200 || len(parts) != 1 || !strings.HasPrefix(parts[0], "401 ") {
		t.Errorf("batch without credentials = %d %q", code, parts)
	}
	if n := e.sb.Requests()["compute:batch"]; n != 2 {
		t.Errorf("compute:batch requests = %d, want 2", n)
	}
}

func isCode(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}

// pairs adapts an aggregated-list iterator to Next() (scope, names, err).
type pairs func() (string, []string, error)

func (p pairs) Next() (string, []string, error) { return p() }

func equalScopes(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w := b[k]
		sort.Strings(v)
		sort.Strings(w)
		if strings.Join(v, ",") != strings.Join(w, ",") {
			return false
		}
	}
	return true
}
