package spec

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"

	"github.com/regionctl/regionctl/diag"
)

func TestExamplesLoadCleanly(t *testing.T) {
	regions, ds := Load(context.Background(), []string{"../examples"}, LoadOptions{})
	if len(ds) != 0 {
		t.Fatalf("examples have diagnostics:\n%s", ds)
	}
	byFile := map[string]int{}
	providers := map[string]int{}
	names := map[string]bool{}
	var nets []netip.Prefix
	for _, r := range regions {
		byFile[strings.Split(r.Source.File, "[")[0]]++
		names[r.Metadata.Name] = true
		nets = append(nets, netip.MustParsePrefix(r.Spec.Network.CIDR))
		if strings.HasPrefix(r.Source.File, "../examples/fleet.jsonnet") {
			providers[r.Spec.Provider]++
		}
	}
	for f, want := range map[string]int{
		"../examples/aws.yaml": 1, "../examples/gcp.yaml": 1, "../examples/azure.yaml": 1, "../examples/fleet.jsonnet": 6,
	} {
		if byFile[f] != want {
			t.Errorf("%s: %d regions, want %d", f, byFile[f], want)
		}
	}
	for _, p := range []string{"aws", "gcp", "azure"} {
		if providers[p] != 2 {
			t.Errorf("fleet.jsonnet has %d regions on %s, want 2", providers[p], p)
		}
	}
	if len(names) != len(regions) {
		t.Errorf("region names are not distinct: %v", names)
	}
	for i := range nets {
		for j := i + 1; j < len(nets); j++ {
			if nets[i].Overlaps(nets[j]) {
				t.Errorf("networks overlap: %s and %s", nets[i], nets[j])
			}
		}
	}
}

func TestLoadSameFileTwice(t *testing.T) {
	regions, ds := Load(context.Background(), []string{"../examples/aws.yaml", "../examples", "../examples/./aws.yaml"}, LoadOptions{})
	if len(ds) != 0 || len(regions) != 9 {
		t.Errorf("got %d regions, diagnostics:\n%s", len(regions), ds)
	}
}

func TestAWSExampleShape(t *testing.T) {
	regions, ds := Load(context.Background(), []string{"../examples/aws.yaml"}, LoadOptions{})
	if ds.HasErrors() || len(regions) != 1 {
		t.Fatalf("got %d regions, diagnostics:\n%s", len(regions), ds)
	}
	r := regions[0]
	s := r.Spec
	if r.Metadata.Name != "prod-us-east" || s.Provider != "aws" || s.Location != "us-east-1" || !s.Protect {
		t.Errorf("unexpected region header: %+v", r.Metadata)
	}
	if len(s.Cluster.NodePools) != 2 || s.Cluster.NodePools[0].Name != "system" || s.Cluster.NodePools[1].Name != "ingest" || !s.Cluster.NodePools[1].Spot {
		t.Errorf("node pools: %+v", s.Cluster.NodePools)
	}
	if len(s.StorageClasses) != 2 || s.StorageClasses[0] != (StorageClass{Name: "fast", Tier: "ssd", Default: true, ReclaimPolicy: "Retain", Expandable: true}) ||
		s.StorageClasses[1] != (StorageClass{Name: "bulk", Tier: "standard", ReclaimPolicy: "Delete"}) {
		t.Errorf("storage classes: %+v", s.StorageClasses)
	}
	lb := s.LoadBalancers[0]
	if lb.Name != "api" || lb.Scheme != "external" || lb.Ports[0] != (Port{Port: 443, TargetPort: 8443, Protocol: "TCP"}) || lb.Selector["app"] != "gateway" {
		t.Errorf("load balancer: %+v", lb)
	}
}

// lineOf returns the 1-based line and column where text first appears.
func lineOf(t *testing.T, file, text string) (int, int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if c := strings.Index(l, text); c >= 0 {
			return i + 1, c + 1
		}
	}
	t.Fatalf("%q not in %s", text, file)
	return 0, 0
}

func TestSourcePositions(t *testing.T) {
	const file = "../examples/aws.yaml"
	regions, _ := Load(context.Background(), []string{file}, LoadOptions{})
	r := regions[0]
	minLine, minCol := lineOf(t, file, "min: 0")
	teamLine, teamCol := lineOf(t, file, "team: platform")
	selLine, selCol := lineOf(t, file, "app: gateway")
	tests := []struct {
		path string
		want diag.Pos
	}{
		{"spec.cluster.nodePools[1].min", diag.Pos{File: file, Line: minLine, Column: minCol}},
		{"metadata.labels.team", diag.Pos{File: file, Line: teamLine, Column: teamCol}},
		{"spec.loadBalancers[0].selector.app", diag.Pos{File: file, Line: selLine, Column: selCol}},
		// A defaulted field falls back to its enclosing mapping.
		{"spec.loadBalancers[0].ports[0].protocol", r.Pos("spec.loadBalancers[0].ports[0]")},
		{"no.such.path", diag.Pos{File: file}},
	}
	for _, tt := range tests {
		if got := r.Pos(tt.path); got != tt.want {
			t.Errorf("Pos(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestFleetArguments(t *testing.T) {
	tests := []struct {
		name       string
		opts       LoadOptions
		wantPrefix string
		wantZones  int
		wantErr    string
	}{
		{name: "default env", wantPrefix: "prod-", wantZones: 3},
		{name: "staging", opts: LoadOptions{TLAStr: map[string]string{"env": "staging"}}, wantPrefix: "staging-", wantZones: 2},
		{name: "bad env", opts: LoadOptions{TLAStr: map[string]string{"env": "qa"}}, wantErr: "env must be prod, staging or dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regions, ds := Load(context.Background(), []string{"../examples/fleet.jsonnet"}, tt.opts)
			if tt.wantErr != "" {
				if !strings.Contains(ds.String(), tt.wantErr) {
					t.Fatalf("want error %q, got:\n%s", tt.wantErr, ds)
				}
				return
			}
			if len(ds) != 0 || len(regions) != 6 {
				t.Fatalf("got %d regions, diagnostics:\n%s", len(regions), ds)
			}
			for _, r := range regions {
				if !strings.HasPrefix(r.Metadata.Name, tt.wantPrefix) || r.Spec.Zones != tt.wantZones {
					t.Errorf("region %s has %d zones", r.Metadata.Name, r.Spec.Zones)
				}
			}
		})
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"base.libsonnet": `{ region(name, cidr):: { apiVersion: 'regionctl.dev/v1alpha1', kind: 'Region', metadata: { name: name },
		  spec: { provider: 'aws', location: 'us-east-1', network: { cidr: cidr }, cluster: { kubernetesVersion: '1.33',
		  nodePools: [{ name: 'system', machine: { cpu: 2, memoryGiB: 8 }, min: 1, max: 2 }] } } } }`,
		"main.jsonnet": `local base = import 'base.libsonnet'; base.region(std.extVar('env') + '-a', '10.0.0.0/16')`,
		"README.md":    "not a region",
		".hidden.yaml": "not: [valid",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "x.yaml"), []byte("not: [valid"), 0o644); err != nil {
		t.Fatal(err)
	}
	regions, ds := Load(context.Background(), []string{dir}, LoadOptions{ExtStr: map[string]string{"env": "dev"}})
	if len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", ds)
	}
	if len(regions) != 1 || regions[0].Metadata.Name != "dev-a" {
		t.Fatalf("got %d regions", len(regions))
	}
	if want := filepath.Join(dir, "main.jsonnet") + " (rendered)"; regions[0].Source.File != want {
		t.Errorf("source file %q, want %q", regions[0].Source.File, want)
	}

	// Without the ext var the program fails, pointing into the program.
	_, ds = Load(context.Background(), []string{dir}, LoadOptions{})
	if len(ds) != 1 || !strings.Contains(ds[0].Summary, "Undefined external variable: env") || ds[0].Pos.Line != 1 {
		t.Errorf("want one undefined-variable error at line 1, got:\n%s", ds)
	}
}

func TestLoadPathErrors(t *testing.T) {
	empty := t.TempDir()
	lib := filepath.Join(t.TempDir(), "x.libsonnet")
	if err := os.WriteFile(lib, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", "does/not/exist.yaml", "no such file or folder"},
		{"empty folder", empty, "folder has no region files"},
		{"libsonnet", lib, "is a library"},
		{"other extension", "load_test.go", `unsupported file type ".go"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := Load(context.Background(), []string{tt.path}, LoadOptions{})
			if len(ds) != 1 || ds[0].Pos.File != tt.path || !strings.Contains(ds[0].Summary, tt.want) {
				t.Errorf("want one error naming %s with %q, got:\n%s", tt.path, tt.want, ds)
			}
		})
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ds := Load(ctx, []string{"../examples/aws.yaml"}, LoadOptions{})
	if !strings.Contains(ds.String(), "loading stopped") {
		t.Errorf("want a cancellation diagnostic, got:\n%s", ds)
	}
}

const validYAML = `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: NAME}
spec:
  provider: aws
  location: us-east-1
  network: {cidr: 10.0.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools: [{name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}]
`

func region(name string) string { return strings.Replace(validYAML, "NAME", name, 1) }

func TestLoadBytes(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		data      string
		wantNames []string
		wantErr   string // substring of the diagnostics; "" for none
	}{
		{name: "multi-document with empty documents", file: "a.yaml",
			data:      "---\n---\n" + region("one") + "---\n# only a comment\n---\n" + region("two") + "...\n",
			wantNames: []string{"one", "two"}},
		{name: "list of regions", file: "a.yml",
			data:      "- " + strings.ReplaceAll(region("one"), "\n", "\n  ") + "\n- " + strings.ReplaceAll(region("two"), "\n", "\n  "),
			wantNames: []string{"one", "two"}},
		{name: "duplicate region in one file", file: "a.yaml", data: region("one") + "---\n" + region("one"),
			wantNames: []string{"one", "one"}, wantErr: `region "one" is defined twice; it is also defined at a.yaml:3:`},
		{name: "json", file: "a.json",
			data: `{"apiVersion":"regionctl.dev/v1alpha1","kind":"Region","metadata":{"name":"j"},"spec":{"provider":"gcp","location":"x",
			"network":{"cidr":"10.0.0.0/8"},"cluster":{"kubernetesVersion":"1.33","nodePools":[{"name":"p","machine":{"cpu":1,"memoryGiB":1},"min":0,"max":1}]},
			"overrides":{"gcp":{"releaseChannel":"REGULAR","n":[1,2.5,true,null]}}}}`,
			wantNames: []string{"j"}},
		{name: "merge keys", file: "m.yaml",
			data: "x-pool: &pool {machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}\n" +
				strings.Replace(validYAML, "[{name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}]", "[{<<: *pool, name: a}, {<<: [*pool], name: b, max: 5}]", 1),
			wantErr: `unknown field "x-pool"`, wantNames: []string{"NAME"}},
		{name: "scalar document", file: "s.yaml", data: "hello\n", wantErr: "a region must be a mapping"},
		{name: "alias cycle", file: "c.yaml", data: "metadata: &m {labels: *m}\n", wantErr: "refers to a value that contains it"},
		{name: "billion laughs", file: "b.yaml",
			data: "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
				"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
				"spec: {overrides: {aws: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]}}\n",
			wantErr: "document expands to more than"},
		{name: "non-string key", file: "k.yaml", data: region("k") + "? [a, b]\n: c\n", wantErr: "keys must be strings", wantNames: []string{"k"}},
		{name: "int overflow", file: "o.yaml", data: strings.Replace(region("o"), "min: 1", "min: 99999999999999999999", 1),
			wantErr: "out of range", wantNames: []string{"o"}},
		{name: "jsonnet syntax error", file: "bad.jsonnet", data: "{\n  a: ,\n}", wantErr: "bad.jsonnet:2:6: error: jsonnet: Unexpected"},
		{name: "jsonnet returns a string", file: "s.jsonnet", data: "'hello'", wantErr: "must return a Region object or an array of them"},
		{name: "jsonnet array with a number", file: "n.jsonnet", data: "[1]", wantErr: "array element is 1"},
		{name: "jsonnet empty array", file: "e.jsonnet", data: "[]", wantErr: "returned no regions"},
		{name: "jsonnet import disabled", file: "i.jsonnet", data: "import 'x.libsonnet'", wantErr: "i.jsonnet:1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regions, ds := LoadBytes(tt.file, []byte(tt.data), LoadOptions{importer: noImporter{}})
			var names []string
			for _, r := range regions {
				names = append(names, r.Metadata.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantNames, ",") {
				t.Errorf("regions %v, want %v", names, tt.wantNames)
			}
			if tt.wantErr == "" {
				if len(ds) != 0 {
					t.Errorf("unexpected diagnostics:\n%s", ds)
				}
				return
			}
			if !strings.Contains(ds.String(), tt.wantErr) {
				t.Errorf("want %q in diagnostics, got:\n%s", tt.wantErr, ds)
			}
		})
	}
}

func TestMergeKeysDecode(t *testing.T) {
	data := strings.Replace(validYAML, "[{name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}]",
		"\n      - &pool {name: a, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}\n      - {<<: *pool, name: b, max: 5}", 1)
	regions, ds := LoadBytes("m.yaml", []byte(strings.Replace(data, "NAME", "m", 1)), LoadOptions{})
	if len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", ds)
	}
	pools := regions[0].Spec.Cluster.NodePools
	if len(pools) != 2 || pools[1].Name != "b" || pools[1].Max != 5 || pools[1].Min != 1 || pools[1].Machine.CPU != 2 {
		t.Errorf("merged pool: %+v", pools)
	}
}

func TestDefault(t *testing.T) {
	r := &Region{Spec: RegionSpec{
		Cluster:        Cluster{NodePools: []NodePool{{Name: "p"}, {Name: "q", Machine: Machine{Arch: ArchARM64}}}},
		StorageClasses: []StorageClass{{Name: "s"}, {Name: "t", ReclaimPolicy: ReclaimRetain}},
		LoadBalancers:  []LoadBalancer{{Name: "l", Ports: []Port{{Port: 80}, {Port: 443, TargetPort: 8443, Protocol: ProtocolUDP}}}},
	}}
	r.Default()
	r.Default() // idempotent
	s := r.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"zones", s.Zones, 3},
		{"endpointAccess", s.Cluster.EndpointAccess, "public"},
		{"arch default", s.Cluster.NodePools[0].Machine.Arch, "amd64"},
		{"arch kept", s.Cluster.NodePools[1].Machine.Arch, "arm64"},
		{"reclaim default", s.StorageClasses[0].ReclaimPolicy, "Delete"},
		{"reclaim kept", s.StorageClasses[1].ReclaimPolicy, "Retain"},
		{"protocol default", s.LoadBalancers[0].Ports[0].Protocol, "TCP"},
		{"targetPort default", s.LoadBalancers[0].Ports[0].TargetPort, 80},
		{"port kept", s.LoadBalancers[0].Ports[1], Port{Port: 443, TargetPort: 8443, Protocol: "UDP"}},
		{"labels non-nil", r.Metadata.Labels != nil && s.Cluster.NodePools[0].Labels != nil && s.LoadBalancers[0].Selector != nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestRenderedPositions checks the promise of the docs: a position in
// "file[i] (rendered)" is a line of `jsonnet -e '(import "file")[i]'`.
func TestRenderedPositions(t *testing.T) {
	const file = "testdata/invalid/rendered.jsonnet"
	_, ds := Load(context.Background(), []string{file}, LoadOptions{})
	var pos diag.Pos
	for _, d := range ds {
		if d.Path == "spec.zonez" {
			pos = d.Pos
		}
	}
	if pos.File != file+"[1] (rendered)" || pos.Line == 0 {
		t.Fatalf("no rendered position for spec.zonez in:\n%s", ds)
	}
	vm := jsonnet.MakeVM()
	out, err := vm.EvaluateAnonymousSnippet("check.jsonnet", `(import "`+file+`")[1]`)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if pos.Line > len(lines) || !strings.Contains(lines[pos.Line-1], `"zonez"`) || strings.Index(lines[pos.Line-1], `"zonez"`)+1 != pos.Column {
		t.Errorf("line %d column %d of the jsonnet output is %q, want the zonez key", pos.Line, pos.Column, lines[min(pos.Line, len(lines))-1])
	}
}
