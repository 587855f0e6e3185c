package gcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/container/apiv1/containerpb"
)

// Parity with Google's published API descriptions: the discovery documents
// of container/v1 and compute/v1 (as google.golang.org/api ships them, the
// source gcloud's and every discovery-based client's shapes come from). No
// expectation here is the sandbox's own: every reply member must be a
// property of the method's response schema, with its type and format
// (int64 as a JSON string), and every enum value one the schema lists; and
// every GKE method the document describes must be routable over REST.

// discoveryDoc is the part of a discovery document the checks read.
type discoveryDoc struct {
	Revision  string                  `json:"revision"`
	Schemas   map[string]*schemaDoc   `json:"schemas"`
	Resources map[string]*resourceDoc `json:"resources"`
}

type resourceDoc struct {
	Methods   map[string]*methodDoc   `json:"methods"`
	Resources map[string]*resourceDoc `json:"resources"`
}

type methodDoc struct {
	ID         string `json:"id"`
	HTTPMethod string `json:"httpMethod"`
	Path       string `json:"path"`
	FlatPath   string `json:"flatPath"`
}

type schemaDoc struct {
	Ref                  string                `json:"$ref"`
	Type                 string                `json:"type"`
	Format               string                `json:"format"`
	Properties           map[string]*schemaDoc `json:"properties"`
	AdditionalProperties *schemaDoc            `json:"additionalProperties"`
	Items                *schemaDoc            `json:"items"`
	Enum                 []string              `json:"enum"`
}

var (
	apiDirOnce sync.Once
	apiDir     string
	apiDirErr  error
)

// apiModuleDir is google.golang.org/api's directory in the module cache.
func apiModuleDir(t *testing.T) string {
	t.Helper()
	apiDirOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
		apiDir, apiDirErr = strings.TrimSpace(string(out)), err
	})
	if apiDirErr != nil || apiDir == "" {
		t.Fatalf("find google.golang.org/api in the module cache: %v", apiDirErr)
	}
	return apiDir
}

func loadDiscovery(t *testing.T, api string) *discoveryDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(apiModuleDir(t), api, "v1", api+"-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d discoveryDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// check validates v (decoded with UseNumber) against schema s.
func (d *discoveryDoc) check(path string, v any, s *schemaDoc, errs *[]string) {
	for s.Ref != "" {
		s = d.Schemas[s.Ref]
		if s == nil {
			*errs = append(*errs, path+": schema not found")
			return
		}
	}
	bad := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%T, want an object", v)
			return
		}
		for k, x := range m {
			switch {
			case s.Properties[k] != nil:
				d.check(path+"."+k, x, s.Properties[k], errs)
			case s.AdditionalProperties != nil:
				d.check(path+"["+k+"]", x, s.AdditionalProperties, errs)
			default:
				bad("member %q is not in the schema", k)
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			bad("%T, want an array", v)
			return
		}
		for i, x := range l {
			d.check(fmt.Sprintf("%s[%d]", path, i), x, s.Items, errs)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("%T %v, want a string (format %q)", v, v, s.Format)
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			bad("%q is not one of %v", str, s.Enum)
		}
	case "integer", "number":
		if _, ok := v.(json.Number); !ok {
			bad("%T %v, want a number", v, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("%T %v, want a boolean", v, v)
		}
	case "any", "":
	default:
		bad("unknown schema type %q", s.Type)
	}
}

// parityGet fetches a REST reply and checks it against schema.
func parityGet(t *testing.T, e *env, d *discoveryDoc, schema, path string) {
	t.Helper()
	r := restDo(t, e, http.MethodGet, path, "", true)
	if r.code != 200 {
		t.Errorf("GET %s: %d %s", path, r.code, r.raw)
		return
	}
	dec := json.NewDecoder(strings.NewReader(r.raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var errs []string
	d.check(schema, v, &schemaDoc{Ref: schema}, &errs)
	sort.Strings(errs)
	for _, e := range errs {
		t.Errorf("GET %s (%s, discovery revision %s): %s", path, schema, d.Revision, e)
	}
}

// TestDiscoveryParity: the sandbox's GKE and Compute replies against the
// discovery documents' schemas.
func TestDiscoveryParity(t *testing.T) {
	e := gkeEnv(t, t.TempDir())
	computeFixture(t, e)
	ctx := context.Background()
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	gkeOpPath := "/v1/" + loc + "/operations/" + op.GetName()
	parityGet(t, e, loadDiscovery(t, "container"), "Operation", gkeOpPath) // while PENDING
	waitOp(t, e, op)

	gke := loadDiscovery(t, "container")
	// The check itself refuses what the document does not allow.
	for _, bad := range []string{`{"bogus": 1}`, `{"status": "SLEEPING"}`, `{"currentNodeCount": "3"}`, `{"nodePools": [{"name": 7}]}`, `{"resourceLabels": {"a": 1}}`} {
		dec := json.NewDecoder(strings.NewReader(bad))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var errs []string
		gke.check("Cluster", v, &schemaDoc{Ref: "Cluster"}, &errs)
		if len(errs) == 0 {
			t.Errorf("%s passed as a Cluster", bad)
		}
	}
	for _, c := range []struct{ schema, path string }{
		{"Cluster", "/v1/" + clusterKey},
		{"ListClustersResponse", "/v1/projects/" + project + "/locations/-/clusters"},
		{"NodePool", "/v1/" + clusterKey + "/nodePools/system"},
		{"ListNodePoolsResponse", "/v1/" + clusterKey + "/nodePools"},
		{"Operation", gkeOpPath},
		{"ListOperationsResponse", "/v1/" + loc + "/operations"},
		{"ServerConfig", "/v1/" + loc + "/serverConfig"},
		{"ListClustersResponse", "/v1/projects/" + project + "/zones/us-central1/clusters"},
	} {
		parityGet(t, e, gke, c.schema, c.path)
	}

	compute := loadDiscovery(t, "compute")
	p := "/compute/v1/projects/" + project
	for _, c := range []struct{ schema, path string }{
		{"Network", p + "/global/networks/net"},
		{"NetworkList", p + "/global/networks"},
		{"Subnetwork", p + "/regions/us-central1/subnetworks/nodes"},
		{"SubnetworkList", p + "/regions/us-central1/subnetworks?maxResults=1"},
		{"SubnetworkAggregatedList", p + "/aggregated/subnetworks"},
		{"Router", p + "/regions/us-central1/routers/nat"},
		{"RouterList", p + "/regions/us-central1/routers"},
		{"RouterAggregatedList", p + "/aggregated/routers"},
		{"Address", p + "/regions/europe-west1/addresses/ip-eu"},
		{"AddressList", p + "/regions/europe-west1/addresses"},
		{"AddressAggregatedList", p + "/aggregated/addresses"},
		{"AutoscalerList", p + "/zones/us-central1-a/autoscalers"},
		{"RegionAutoscalerList", p + "/regions/us-central1/autoscalers"},
		{"AutoscalerAggregatedList", p + "/aggregated/autoscalers"},
		{"InstanceGroupManagerList", p + "/zones/us-central1-a/instanceGroupManagers"},
		{"InstanceGroupManagerAggregatedList", p + "/aggregated/instanceGroupManagers"},
		{"InstanceGroupList", p + "/zones/us-central1-a/instanceGroups"},
		{"Region", p + "/regions/us-central1"},
		{"RegionList", p + "/regions"},
		{"Zone", p + "/zones/us-central1-f"},
		{"ZoneList", p + "/zones"},
	} {
		parityGet(t, e, compute, c.schema, c.path)
	}
	// Operations, done and failed, as the insert returned them.
	r := restDo(t, e, http.MethodPost, p+"/global/networks", `{"name":"other","autoCreateSubnetworks":false}`, true)
	var netOp struct{ Name string }
	if err := json.Unmarshal([]byte(r.raw), &netOp); err != nil || netOp.Name == "" {
		t.Fatalf("insert network: %d %s", r.code, r.raw)
	}
	parityGet(t, e, compute, "Operation", p+"/global/operations/"+netOp.Name)
}

// TestDiscoveryMethodsRoutable: every method of the container/v1
// discovery document (the REST surface gcloud calls) reaches the sandbox's
// transcoder — served, or UNIMPLEMENTED (501) for the ones it does not
// emulate — never an unknown path.
func TestDiscoveryMethodsRoutable(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	d := loadDiscovery(t, "container")
	param := regexp.MustCompile(`\{\+?([A-Za-z]+)\}`)
	var walk func(r *resourceDoc)
	n := 0
	walk = func(r *resourceDoc) {
		for _, m := range r.Methods {
			n++
			path := param.ReplaceAllStringFunc(m.Path, func(s string) string {
				switch name := param.FindStringSubmatch(s)[1]; name {
				case "parent", "name":
					return "" // filled from flatPath below
				case "projectId":
					return project
				case "zone":
					return "us-central1"
				default:
					return "x"
				}
			})
			if strings.Contains(m.Path, "{+") {
				path = param.ReplaceAllStringFunc(m.FlatPath, func(s string) string {
					switch param.FindStringSubmatch(s)[1] {
					case "projectsId":
						return project
					case "locationsId":
						return "us-central1"
					default:
						return "x"
					}
				})
			}
			body := ""
			if m.HTTPMethod != http.MethodGet && m.HTTPMethod != http.MethodDelete {
				body = "{}"
			}
			r := restDo(t, e, m.HTTPMethod, "/"+path, body, true)
			if r.code == 404 && r.Error.Status == "NOT_FOUND" && strings.Contains(r.Error.Message, "is not a method of") {
				t.Errorf("%s (%s %s) is not routed: %s", m.ID, m.HTTPMethod, path, r.raw)
			}
		}
		for _, sub := range r.Resources {
			walk(sub)
		}
	}
	for _, r := range d.Resources {
		walk(r)
	}
	if n < 40 {
		t.Errorf("walked %d methods of container/v1; the document has more", n)
	}
}
