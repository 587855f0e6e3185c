package gcp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/gcp"
	"github.com/regionctl/regionctl/sandbox/internal/parity"
)

// Parity with Google's published API descriptions: the discovery documents
// of compute/v1, container/v1 and serviceusage/v1 as google.golang.org/api
// (go.mod) ships them, the source gcloud's and every discovery-based
// client's shapes come from. No expectation here is the sandbox's own.

// gcpGaps are the known differences between the emulator's replies and
// the discovery documents, each with its reason. Keep it short: fix the
// emulator instead where that can be done.
var gcpGaps = []parity.Gap{}

// gcpParity drives the emulator's REST endpoints with raw requests, as
// gcloud sends them, and checks every reply against its method's response
// schema.
type gcpParity struct {
	t                          *testing.T
	e                          *env
	compute, container, usage  *parity.Discovery
	report                     *parity.Report
	rec                        *parity.Recorder
	computeBase, containerBase string
	last                       []byte // the last reply's body
}

func newGCPParity(t *testing.T, e *env) *gcpParity {
	rec := &parity.Recorder{}
	p := &gcpParity{t: t, e: e, compute: parity.LoadDiscovery(t, "compute", "v1"), container: parity.LoadDiscovery(t, "container", "v1"),
		usage: parity.LoadDiscovery(t, "serviceusage", "v1"), rec: rec,
		computeBase: e.sb.Endpoints()[gcp.ComputeKey], containerBase: e.sb.Endpoints()[gcp.ContainerRESTKey]}
	p.report = parity.NewReport("Google discovery documents")
	t.Logf("sources: %s; %s; %s", p.compute.Source(), p.container.Source(), p.usage.Source())
	return p
}

// doc and base pick the document and endpoint of a path: /compute/v1/… is
// Compute, usage:/v1/… Service Usage (on the Compute endpoint), the rest GKE.
func (p *gcpParity) route(path string) (*parity.Discovery, string, string) {
	if rest, ok := strings.CutPrefix(path, "usage:"); ok {
		return p.usage, p.computeBase, rest
	}
	if strings.HasPrefix(path, "/compute/") {
		return p.compute, p.computeBase, path
	}
	return p.container, p.containerBase, path
}

// do sends one authorized request, checks a successful reply against its
// method's response schema and returns the decoded reply; it fails the
// test on an error reply unless wantStatus says which.
func (p *gcpParity) do(method, path string, body any, wantStatus ...int) map[string]any {
	p.t.Helper()
	doc, base, path := p.route(path)
	var reqBody []byte
	switch b := body.(type) {
	case nil:
	case string:
		reqBody = []byte(b)
	default:
		reqBody, _ = json.Marshal(b)
	}
	tok, err := p.e.ts.Token()
	if err != nil {
		p.t.Fatal(err)
	}
	ex, err := p.rec.SendJSON(method, base+path, tok.AccessToken, reqBody)
	if err != nil {
		p.t.Fatal(err)
	}
	want := http.StatusOK
	if len(wantStatus) > 0 {
		want = wantStatus[0]
	}
	if ex.Status != want {
		p.t.Fatalf("%s %s: %d %s; want %d", method, path, ex.Status, ex.Body, want)
	}
	var reply map[string]any
	_ = json.Unmarshal(ex.Body, &reply)
	p.last = ex.Body
	if ex.Status >= 300 {
		return reply
	}
	u := strings.SplitN(path, "?", 2)[0]
	id := doc.Identify(method, u)
	if id == "" {
		p.t.Fatalf("%s %s: no method of %s", method, u, doc.Source())
	}
	p.report.Add(id, doc.Check(id, ex.Body))
	return reply
}

// probed sends a write whose body's read-only string properties (of
// schema, inside body[key] when key is set) carry parity.ReadOnlyProbe,
// then reads the resource at get once the write is done (after settles
// it), and checks neither reply hands a probe back: Google's APIs ignore
// output-only fields in a request.
func (p *gcpParity) probed(method, path, schema, key string, body map[string]any, get string, settle func(op map[string]any)) {
	p.t.Helper()
	doc, _, _ := p.route(path)
	target := body
	if key != "" {
		target = body[key].(map[string]any)
	}
	if doc.ProbeReadOnly(schema, target) == 0 {
		p.t.Fatalf("%s: no read-only property to probe", schema)
	}
	op := p.do(method, path, body)
	id := doc.Identify(method, path)
	p.report.Add(id, parity.EchoedProbes(id, p.last))
	if settle != nil {
		settle(op)
	}
	p.do(http.MethodGet, get, nil)
	id = doc.Identify(http.MethodGet, get)
	p.report.Add(id, parity.EchoedProbes(id, p.last))
}

// jsonMap decodes a JSON object.
func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// gkeDone steps the clock past GKE's latency and reads the operation.
func (p *gcpParity) gkeDone(op map[string]any) {
	p.t.Helper()
	name := fmt.Sprint(op["name"])
	p.do(http.MethodGet, "/v1/"+loc+"/operations/"+name, nil) // PENDING or RUNNING
	p.e.clk.Advance(15 * time.Second)
	if got := p.do(http.MethodGet, "/v1/"+loc+"/operations/"+name, nil); got["status"] != "DONE" {
		p.t.Fatalf("operation %s: %v", name, got)
	}
}

// protoBody is a REST request body: the request message as protojson.
func protoBody(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDiscoveryParity drives every method the GCP emulator serves over
// REST — Compute, GKE and Service Usage, writes and reads, operations
// pending and done — and checks each reply against the method's response
// schema in Google's discovery document: every member a property of the
// schema, of its type and format, every enum value one the schema lists;
// then proves no served method went unchecked.
func TestDiscoveryParity(t *testing.T) {
	e := gkeEnv(t, t.TempDir())
	p := newGCPParity(t, e)
	c := "/compute/v1/projects/" + project

	p.do(http.MethodGet, "usage:/v1/projects/"+project+"/services/container.googleapis.com", nil)
	// Networks, with their global operation.
	globalOp := func(op map[string]any) {
		p.do(http.MethodGet, c+"/global/operations/"+fmt.Sprint(op["name"]), nil)
		p.do(http.MethodPost, c+"/global/operations/"+fmt.Sprint(op["name"])+"/wait", nil)
	}
	regionOp := func(op map[string]any) {
		p.do(http.MethodGet, c+"/regions/us-central1/operations/"+fmt.Sprint(op["name"]), nil)
		p.do(http.MethodPost, c+"/regions/us-central1/operations/"+fmt.Sprint(op["name"])+"/wait", nil)
	}
	p.probed(http.MethodPost, c+"/global/networks", "Network", "", jsonMap(t, `{"name": "net", "autoCreateSubnetworks": false, "mtu": 1460}`),
		c+"/global/networks/net", globalOp)
	p.do(http.MethodGet, c+"/global/networks", nil)
	// Subnetworks, with their regional operation.
	p.probed(http.MethodPost, c+"/regions/us-central1/subnetworks", "Subnetwork", "", jsonMap(t, `{"name": "nodes", "network": "global/networks/net",
		"ipCidrRange": "10.0.0.0/20", "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.4.0.0/14"}, {"rangeName": "services", "ipCidrRange": "10.8.0.0/20"}]}`),
		c+"/regions/us-central1/subnetworks/nodes", regionOp)
	sn := p.do(http.MethodGet, c+"/regions/us-central1/subnetworks/nodes", nil)
	p.do(http.MethodPatch, c+"/regions/us-central1/subnetworks/nodes", map[string]any{"fingerprint": sn["fingerprint"], "privateIpGoogleAccess": true})
	p.do(http.MethodGet, c+"/regions/us-central1/subnetworks?maxResults=1", nil)
	p.do(http.MethodGet, c+"/aggregated/subnetworks", nil)
	// Addresses and a router with a NAT using one.
	p.probed(http.MethodPost, c+"/regions/us-central1/addresses", "Address", "", jsonMap(t, `{"name": "ip", "labels": {"env": "test"}}`),
		c+"/regions/us-central1/addresses/ip", nil)
	ip := p.do(http.MethodGet, c+"/regions/us-central1/addresses/ip", nil)
	p.do(http.MethodPost, c+"/regions/us-central1/addresses/ip/setLabels", map[string]any{"labels": map[string]string{"env": "prod"}, "labelFingerprint": ip["labelFingerprint"]})
	p.do(http.MethodGet, c+"/regions/us-central1/addresses", nil)
	p.do(http.MethodGet, c+"/aggregated/addresses", nil)
	router := map[string]any{"name": "nat", "network": "global/networks/net", "bgp": map[string]any{"asn": 64514},
		"nats": []any{map[string]any{"name": "nat", "natIpAllocateOption": "MANUAL_ONLY", "natIps": []any{ip["selfLink"]},
			"sourceSubnetworkIpRangesToNat": "LIST_OF_SUBNETWORKS", "subnetworks": []any{map[string]any{"name": sn["selfLink"], "sourceIpRangesToNat": []any{"ALL_IP_RANGES"}}}}}}
	probedRouter, _ := json.Marshal(router)
	p.probed(http.MethodPost, c+"/regions/us-central1/routers", "Router", "", jsonMap(t, string(probedRouter)), c+"/regions/us-central1/routers/nat", nil)
	p.do(http.MethodGet, c+"/regions/us-central1/addresses/ip", nil) // IN_USE by the router
	p.do(http.MethodPatch, c+"/regions/us-central1/routers/nat", map[string]any{"bgp": map[string]any{"asn": 64515}})
	p.do(http.MethodPut, c+"/regions/us-central1/routers/nat", router)
	p.do(http.MethodGet, c+"/regions/us-central1/routers", nil)
	p.do(http.MethodGet, c+"/aggregated/routers", nil)

	// GKE over REST, as gcloud calls it.
	p.do(http.MethodGet, "/v1/"+loc+"/serverConfig", nil)
	p.probed(http.MethodPost, "/v1/"+loc+"/clusters", "Cluster", "cluster", jsonMap(t, protoBody(t, &containerpb.CreateClusterRequest{Cluster: demoCluster()})),
		"/v1/"+clusterKey, p.gkeDone)
	cl := p.do(http.MethodGet, "/v1/"+clusterKey, nil)
	p.do(http.MethodGet, "/v1/projects/"+project+"/locations/-/clusters", nil)
	p.do(http.MethodGet, "/v1/projects/"+project+"/zones/us-central1/clusters", nil)
	p.gkeDone(p.do(http.MethodPost, "/v1/"+clusterKey+":setResourceLabels", map[string]any{"resourceLabels": map[string]string{"env": "test"},
		"labelFingerprint": cl["labelFingerprint"]}))
	p.gkeDone(p.do(http.MethodPut, "/v1/"+clusterKey, `{"update": {"desiredNodePoolId": "system", "desiredNodePoolAutoscaling": {"enabled": true, "minNodeCount": 1, "maxNodeCount": 4}}}`))
	pool := "/v1/" + clusterKey + "/nodePools/pool"
	p.probed(http.MethodPost, "/v1/"+clusterKey+"/nodePools", "NodePool", "nodePool", jsonMap(t, protoBody(t, &containerpb.CreateNodePoolRequest{NodePool: &containerpb.NodePool{
		Name: "pool", InitialNodeCount: 1, Config: &containerpb.NodeConfig{MachineType: "e2-standard-8", Spot: true,
			Taints: []*containerpb.NodeTaint{{Key: "dedicated", Value: "batch", Effect: containerpb.NodeTaint_NO_SCHEDULE}}}}})), pool, p.gkeDone)
	p.do(http.MethodGet, "/v1/"+clusterKey+"/nodePools", nil)
	p.gkeDone(p.do(http.MethodPost, pool+":setAutoscaling", `{"autoscaling": {"enabled": true, "minNodeCount": 1, "maxNodeCount": 3}}`))
	p.gkeDone(p.do(http.MethodPost, pool+":setSize", `{"nodeCount": 2}`))
	p.gkeDone(p.do(http.MethodPut, pool, `{"labels": {"labels": {"tier": "batch"}}}`))
	p.do(http.MethodGet, "/v1/"+loc+"/operations", nil)

	// The node pools' instance groups, autoscalers (none), regions, zones.
	igms := p.do(http.MethodGet, c+"/aggregated/instanceGroupManagers", nil)
	zone, name := firstItem(t, igms, "instanceGroupManagers")
	p.do(http.MethodGet, c+"/"+zone+"/instanceGroupManagers", nil)
	p.do(http.MethodGet, c+"/"+zone+"/instanceGroupManagers/"+name, nil)
	p.do(http.MethodGet, c+"/"+zone+"/instanceGroups", nil)
	p.do(http.MethodGet, c+"/"+zone+"/instanceGroups/"+name, nil)
	p.do(http.MethodGet, c+"/"+zone+"/autoscalers", nil)
	p.do(http.MethodGet, c+"/regions/us-central1/autoscalers", nil)
	// Node pools are scaled by GKE's cluster autoscaler, not by a Compute
	// autoscaler: get is 404, as on Google Cloud. The reply is Google's
	// error body, which no document describes (refusals_test.go checks it).
	p.do(http.MethodGet, c+"/"+zone+"/autoscalers/"+name, nil, http.StatusNotFound)
	p.do(http.MethodGet, c+"/regions/us-central1/autoscalers/"+name, nil, http.StatusNotFound)
	p.report.Add("compute.autoscalers.get", nil)
	p.report.Add("compute.regionAutoscalers.get", nil)
	p.do(http.MethodGet, c+"/aggregated/autoscalers", nil)
	p.do(http.MethodGet, c+"/regions/us-central1", nil)
	p.do(http.MethodGet, c+"/regions", nil)
	p.do(http.MethodGet, c+"/zones/us-central1-f", nil)
	p.do(http.MethodGet, c+"/zones", nil)

	p.gkeDone(p.do(http.MethodDelete, pool, nil))
	p.gkeDone(p.do(http.MethodDelete, "/v1/"+clusterKey, nil))

	// GKE's legacy zonal bindings (older gcloud releases and client
	// libraries): the same methods under projects/P/zones/Z.
	z := "/v1/projects/" + project + "/zones/us-central1"
	legacyDone := func(op map[string]any) {
		t.Helper()
		p.do(http.MethodGet, z+"/operations/"+fmt.Sprint(op["name"]), nil)
		p.e.clk.Advance(15 * time.Second)
		p.do(http.MethodGet, z+"/operations/"+fmt.Sprint(op["name"]), nil)
	}
	p.do(http.MethodGet, z+"/serverconfig", nil)
	legacyDone(p.do(http.MethodPost, z+"/clusters", protoBody(t, &containerpb.CreateClusterRequest{Cluster: demoCluster()})))
	cl = p.do(http.MethodGet, z+"/clusters/demo", nil)
	legacyDone(p.do(http.MethodPost, z+"/clusters/demo/resourceLabels", map[string]any{"resourceLabels": map[string]string{"env": "test"},
		"labelFingerprint": cl["labelFingerprint"]}))
	legacyDone(p.do(http.MethodPut, z+"/clusters/demo", `{"update": {"desiredNodePoolId": "system", "desiredNodePoolAutoscaling": {"enabled": true, "minNodeCount": 1, "maxNodeCount": 4}}}`))
	legacyDone(p.do(http.MethodPost, z+"/clusters/demo/nodePools", `{"nodePool": {"name": "pool", "initialNodeCount": 1}}`))
	p.do(http.MethodGet, z+"/clusters/demo/nodePools/pool", nil)
	p.do(http.MethodGet, z+"/clusters/demo/nodePools", nil)
	legacyDone(p.do(http.MethodPost, z+"/clusters/demo/nodePools/pool/autoscaling", `{"autoscaling": {"enabled": true, "minNodeCount": 1, "maxNodeCount": 3}}`))
	legacyDone(p.do(http.MethodPost, z+"/clusters/demo/nodePools/pool/setSize", `{"nodeCount": 2}`))
	legacyDone(p.do(http.MethodPost, z+"/clusters/demo/nodePools/pool/update", `{"labels": {"labels": {"tier": "batch"}}}`))
	p.do(http.MethodGet, z+"/operations", nil)
	legacyDone(p.do(http.MethodDelete, z+"/clusters/demo/nodePools/pool", nil))
	legacyDone(p.do(http.MethodDelete, z+"/clusters/demo", nil))

	// Tear down.
	p.do(http.MethodDelete, c+"/regions/us-central1/routers/nat", nil)
	p.do(http.MethodDelete, c+"/regions/us-central1/addresses/ip", nil)
	p.do(http.MethodDelete, c+"/regions/us-central1/subnetworks/nodes", nil)
	p.do(http.MethodDelete, c+"/global/networks/net", nil)

	p.report.Verify(t, gcpGaps)
	served := servedGCPMethods(t, p, p.compute, p.container)
	if missing := p.report.Missing(served); len(missing) > 0 {
		t.Errorf("served but not checked (drive them in TestDiscoveryParity): %v", missing)
	}
}

// TestDiscoveryParityOfFailures: operations that end failed (the
// sandbox's fail faults) and what they leave — a Compute operation DONE
// with its error, a GKE cluster in ERROR with its conditions — are shaped
// as the discovery documents describe them too.
func TestDiscoveryParityOfFailures(t *testing.T) {
	e := start(t, t.TempDir(), 0, sandbox.Fault{Op: "compute:networks.insert", Kind: sandbox.FaultFail, Nth: 2},
		sandbox.Fault{Op: "container:CreateCluster", Kind: sandbox.FaultFail, Nth: 1})
	p := newGCPParity(t, e)
	c := "/compute/v1/projects/" + project
	p.do(http.MethodPost, c+"/global/networks", `{"name": "net", "autoCreateSubnetworks": false}`)
	p.do(http.MethodPost, c+"/regions/us-central1/subnetworks", `{"name": "nodes", "network": "global/networks/net", "ipCidrRange": "10.0.0.0/20",
		"secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.4.0.0/14"}, {"rangeName": "services", "ipCidrRange": "10.8.0.0/20"}]}`)
	op := p.do(http.MethodPost, c+"/global/networks", `{"name": "failed", "autoCreateSubnetworks": false}`)
	if done := p.do(http.MethodGet, c+"/global/operations/"+fmt.Sprint(op["name"]), nil); done["error"] == nil {
		t.Errorf("failed insert's operation: %v", done)
	}
	op = p.do(http.MethodPost, "/v1/"+loc+"/clusters", protoBody(t, &containerpb.CreateClusterRequest{Cluster: demoCluster()}))
	if done := p.do(http.MethodGet, "/v1/"+loc+"/operations/"+fmt.Sprint(op["name"]), nil); done["error"] == nil {
		t.Errorf("failed create's operation: %v", done)
	}
	if cl := p.do(http.MethodGet, "/v1/"+clusterKey, nil); cl["status"] != "ERROR" || cl["conditions"] == nil {
		t.Errorf("failed cluster: status %v, conditions %v", cl["status"], cl["conditions"])
	}
	p.report.Verify(t, nil) // no known gap applies here
}

// firstItem returns the scope and name of the first item of an aggregated
// list's scopes.
func firstItem(t *testing.T, agg map[string]any, key string) (scope, name string) {
	t.Helper()
	items, _ := agg["items"].(map[string]any)
	for s, v := range items {
		l, _ := v.(map[string]any)[key].([]any)
		if len(l) > 0 {
			return s, fmt.Sprint(l[0].(map[string]any)["name"])
		}
	}
	t.Fatalf("no %s in %v", key, agg)
	return "", ""
}

// servedGCPMethods sends every method of the documents to the emulator
// with placeholder parameters and lists those it does not answer as not
// emulated (Compute: 404 "does not emulate" or an unknown URL; GKE: 501
// UNIMPLEMENTED or "is not a method").
func servedGCPMethods(t *testing.T, p *gcpParity, docs ...*parity.Discovery) []string {
	t.Helper()
	fill := func(param string) string {
		switch param {
		case "project", "projectId", "projectsId":
			return project
		case "region", "locationsId":
			return "us-central1"
		case "zone":
			return "us-central1-a"
		}
		return "parity-probe"
	}
	var served []string
	for _, d := range docs {
		base := p.computeBase
		if d == p.container {
			base = p.containerBase
		}
		for _, m := range d.Methods(fill) {
			path := m[2]
			if d == p.container {
				path = strings.ReplaceAll(path, "/zones/us-central1-a", "/zones/us-central1")
			}
			body := ""
			if m[1] != http.MethodGet && m[1] != http.MethodDelete {
				body = "{}"
			}
			req, _ := http.NewRequest(m[1], base+path, strings.NewReader(body))
			tok, err := p.e.ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var reply struct {
				Error struct {
					Code    int
					Message string
				}
			}
			_ = json.NewDecoder(resp.Body).Decode(&reply)
			resp.Body.Close()
			msg := reply.Error.Message
			unserved := resp.StatusCode == http.StatusNotImplemented || strings.Contains(msg, "does not emulate") ||
				strings.Contains(msg, "was not found on this server") || strings.Contains(msg, "is not a method of")
			if !unserved {
				served = append(served, m[0])
			}
		}
	}
	if len(served) < 40 {
		t.Errorf("only %d methods look served (%v): the probe is wrong", len(served), served)
	}
	return served
}

// TestDiscoveryMethodsRoutable: every method of the container/v1
// discovery document (the REST surface gcloud calls) reaches the sandbox's
// transcoder — served, or UNIMPLEMENTED (501) for the ones it does not
// emulate — never an unknown path.
func TestDiscoveryMethodsRoutable(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	d := parity.LoadDiscovery(t, "container", "v1")
	methods := d.Methods(func(param string) string {
		switch param {
		case "projectsId", "projectId":
			return project
		case "locationsId", "zone":
			return "us-central1"
		}
		return "x"
	})
	for _, m := range methods {
		body := ""
		if m[1] != http.MethodGet && m[1] != http.MethodDelete {
			body = "{}"
		}
		r := restDo(t, e, m[1], m[2], body, true)
		if r.code == 404 && r.Error.Status == "NOT_FOUND" && strings.Contains(r.Error.Message, "is not a method of") {
			t.Errorf("%s (%s %s) is not routed: %s", m[0], m[1], m[2], r.raw)
		}
	}
	if len(methods) < 40 {
		t.Errorf("walked %d methods of container/v1; the document has more", len(methods))
	}
}
