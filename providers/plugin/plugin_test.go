package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/spec"
)

// TestConformanceThroughPlugin runs the unchanged conformance suite against
// the memcloud driver served by a plugin process, through the host adapter:
// every call crosses the process boundary. The cloud is a file both
// processes open, so the suite's inventory sees what the plugin made; the
// plugin reports its cloud calls in a file, for the check that Expand
// calls no cloud.
func TestConformanceThroughPlugin(t *testing.T) {
	p, cloud, dir := memPlugin(t)
	callsFile := filepath.Join(dir, "calls")
	t.Setenv(envCallsFile, callsFile)
	d := launch(t, p, providers.Options{})
	if _, ok := d.(providers.Finder); !ok {
		t.Fatal("memcloud implements Finder; the adapter must offer it too")
	}
	cfg := memcloud.Conformance(d, cloud)
	cfg.CloudCalls = func() int {
		b, err := os.ReadFile(callsFile)
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		n, err := strconv.Atoi(string(b))
		if err != nil {
			t.Fatalf("calls file: %v", err)
		}
		return n
	}
	drivertest.Run(t, cfg)
	if n := len(cloud.Objects()); n != 0 {
		t.Errorf("the suite left %d objects in the plugin's cloud", n)
	}
	if cfg.CloudCalls() == 0 {
		t.Error("the plugin reported no cloud calls: the suite did not reach it")
	}
	if info := d.(interface{ Info() plugin.Info }).Info(); info.Version != "0.3.1" || info.Protocol != plugin.ProtocolVersion || info.Path != p.Path {
		t.Errorf("Info = %+v", info)
	}
	if v := d.Capabilities().Version; v != "0.3.1" {
		t.Errorf("Capabilities().Version = %q, want the handshake's 0.3.1", v)
	}
}

// TestDiagnosticsGetPositionsFromTheHost: the plugin's driver reports a
// diagnostic by field path only (it has no source map); the host attaches
// the file, line and column where the user wrote that field.
func TestDiagnosticsGetPositionsFromTheHost(t *testing.T) {
	p, _, _ := memPlugin(t)
	d := launch(t, p, providers.Options{})
	src := `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: r1}
spec:
  provider: mem
  location: mem-east-1
  network: {cidr: 10.0.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2}
  overrides:
    mem: {size: huge}
`
	rs, ds := spec.LoadBytes("regions/r1.yaml", []byte(src), spec.LoadOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	got := d.(providers.Validator).Validate(context.Background(), rs[0])
	if len(got) != 1 {
		t.Fatalf("want one diagnostic, got %v", got)
	}
	g := got[0]
	if g.Path != "spec.overrides.mem" || g.Pos.File != "regions/r1.yaml" || g.Pos.Line != 13 || !strings.Contains(g.Summary, "takes no overrides") {
		t.Errorf("diagnostic %+v: want spec.overrides.mem at regions/r1.yaml:13", g)
	}
	if !strings.HasPrefix(g.String(), "regions/r1.yaml:13:") {
		t.Errorf("rendered: %s", g)
	}
}

// TestErrorClassesCrossTheBoundary: errors keep their class, so the engine
// retries, taints and adopts as it would in process; an ID returned with an
// error is kept.
func TestErrorClassesCrossTheBoundary(t *testing.T) {
	p, cloud, _ := memPlugin(t)
	d := launch(t, p, providers.Options{})
	ctx := context.Background()

	// An update memcloud refuses (skipping a Kubernetes minor) keeps its
	// message and its (unknown) class.
	c, err := d.Create(ctx, providers.CreateRequest{Address: "r/mem_cluster.main", Type: memcloud.TypeCluster, IdempotencyKey: "k1",
		Inputs: providers.Values{"name": "main", "version": "1.31", "location": "mem-east-1", "endpoint_access": "public"}})
	if err != nil {
		t.Fatal(err)
	}
	inst := providers.Instance{Address: "r/mem_cluster.main", Type: memcloud.TypeCluster, ID: c.ID,
		Inputs: providers.Values{"name": "main", "version": "1.31", "location": "mem-east-1", "endpoint_access": "public"}}
	_, err = d.Update(ctx, providers.UpdateRequest{Instance: inst, Changed: []string{"version"},
		Inputs: providers.Values{"name": "main", "version": "1.33", "location": "mem-east-1", "endpoint_access": "public"}})
	if err == nil || providers.Classify(err) != providers.ClassUnknown || !strings.Contains(err.Error(), "upgrade one minor version at a time") {
		t.Errorf("skipping a minor: %v (class %v), want memcloud's refusal", err, providers.Classify(err))
	}

	// Reading a deleted object is not an error; updating one is not found.
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: inst}); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Read(ctx, providers.ReadRequest{Instance: inst}); err != nil || r.Exists {
		t.Errorf("read of a deleted cluster: %+v, %v", r, err)
	}
	_, err = d.Update(ctx, providers.UpdateRequest{Instance: inst, Changed: []string{"version"},
		Inputs: providers.Values{"name": "main", "version": "1.32", "location": "mem-east-1", "endpoint_access": "public"}})
	if providers.Classify(err) != providers.ClassNotFound {
		t.Errorf("update of a deleted cluster: %v (class %v), want not found", err, providers.Classify(err))
	}
	if len(cloud.Objects()) != 0 {
		t.Errorf("cloud: %+v", cloud.Objects())
	}

	// A cancelled call returns the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Read(cctx, providers.ReadRequest{Instance: inst}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v, want context.Canceled", err)
	}
}

// TestSandboxRefusedWithoutEmulator: a plugin that brings no emulator is
// never started with --sandbox (it would reach its real cloud).
func TestSandboxRefusedWithoutEmulator(t *testing.T) {
	p, _, _ := memPlugin(t)
	_, err := p.Launch(context.Background(), providers.Options{Sandbox: true, SandboxDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "has no emulator") || !strings.Contains(err.Error(), "--sandbox") {
		t.Fatalf("launch with --sandbox: %v, want a refusal naming the missing emulator", err)
	}
	t.Setenv(envEmulator, "1")
	info, err := p.Handshake(context.Background())
	if err != nil || !info.Emulator || info.Name != "mem" || info.Version != "0.3.1" {
		t.Fatalf("handshake of a plugin with an emulator: %+v, %v", info, err)
	}
}

// TestPluginNamedWrongIsRefused: regionctl-driver-mem must serve driver
// mem, or a spec naming mem would be planned by another driver.
func TestPluginNamedWrongIsRefused(t *testing.T) {
	p, _, _ := memPlugin(t)
	t.Setenv(envName, "other")
	_, err := p.Launch(context.Background(), providers.Options{})
	if err == nil || !strings.Contains(err.Error(), `says it is driver "other"`) {
		t.Fatalf("launch: %v", err)
	}
}

// TestRestartsAfterCrash: when the plugin process dies, the call in flight
// fails saying its outcome is unknown, and the next call starts the plugin
// again.
func TestRestartsAfterCrash(t *testing.T) {
	p, cloud, _ := memPlugin(t)
	t.Setenv(envCrashAfterCreate, memcloud.TypeNetwork)
	d := launch(t, p, providers.Options{})
	ctx := context.Background()
	in := providers.Values{"cidr": "10.0.0.0/16", "name": "n"}
	_, err := d.Create(ctx, providers.CreateRequest{Address: "r/mem_network.main", Type: memcloud.TypeNetwork, Inputs: in, IdempotencyKey: "key-1"})
	if err == nil || !strings.Contains(err.Error(), "stopped answering") || providers.Classify(err) != providers.ClassUnknown {
		t.Fatalf("create through a crashing plugin: %v (class %v)", err, providers.Classify(err))
	}
	if n := len(cloud.Objects()); n != 1 {
		t.Fatalf("the cloud holds %d objects, want the network the plugin made before it died", n)
	}
	f, err := d.(providers.Finder).Find(ctx, providers.FindRequest{Address: "r/mem_network.main", Type: memcloud.TypeNetwork, Inputs: in, IdempotencyKey: "key-1"})
	if err != nil || !f.Found || f.ID != cloud.Objects()[0].ID {
		t.Fatalf("find after the restart: %+v, %v", f, err)
	}
}

// TestStopCancelsCallsInFlight: closing the driver (the Stop call)
// cancels what the plugin is still doing, rather than leaving it to run
// until the process is killed.
func TestStopCancelsCallsInFlight(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "read-started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envReadStarted, fifo)
	d := memoryPlugin(t, time.Hour, false)
	ctx := context.Background()
	in := providers.Values{"name": "n", "cidr": "10.0.0.0/16"}
	c, err := d.Create(ctx, providers.CreateRequest{Address: "r/mem_network.main", Type: memcloud.TypeNetwork, Inputs: in, IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := d.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: "r/mem_network.main", Type: memcloud.TypeNetwork, ID: c.ID, Inputs: in}})
		errc <- err
	}()
	f, err := os.Open(fifo) // returns once the plugin opened it: the read has started
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.(interface{ Close() error }).Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("a read in flight when the driver stopped: %v, want context.Canceled", err)
	}
}

// TestSchemasAndStateUpgradesCrossTheBoundary: a kit driver's schemas
// (versions, replacement rules and reasons) reach regionctl as declared,
// and UpgradeState runs the driver's upgrade in the plugin.
func TestSchemasAndStateUpgradesCrossTheBoundary(t *testing.T) {
	p, _, _ := memPlugin(t)
	t.Setenv(envKit, "1")
	d := launch(t, p, providers.Options{})
	s, ok := d.Capabilities().Schema("toy_disk")
	if !ok || s.Version != 1 {
		t.Fatalf("schema of toy_disk: %+v (found %v), want version 1", s, ok)
	}
	if a, _ := s.Input("zone"); !a.RequiresReplace || a.ReplaceReason != "a disk cannot move between zones" || a.Type != "string" {
		t.Errorf("input zone as regionctl sees it: %+v", a)
	}
	if a, _ := s.Input("tags"); a.Type != "map(string)" {
		t.Errorf("input tags as regionctl sees it: %+v", a)
	}
	if a, _ := s.Input("size"); a.RequiresReplace || a.Type != "integer" {
		t.Errorf("input size as regionctl sees it: %+v", a)
	}
	resp, err := d.(providers.StateUpgrader).UpgradeState(context.Background(), providers.UpgradeStateRequest{Instance: providers.Instance{
		Address: "r/toy_disk.d", Type: "toy_disk", ID: "d", SchemaVersion: 0,
		Inputs: providers.Values{"zone": "z1", "size_gb": 3}, Outputs: providers.Values{"id": "d"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.SchemaVersion != 1 || resp.Inputs["size"] != 3.0 || resp.Inputs["size_gb"] != nil || resp.Outputs["id"] != "d" {
		t.Errorf("upgraded: %+v", resp)
	}
	if _, ok := d.(providers.Finder); !ok {
		t.Error("a kit driver implements Finder; the adapter must offer it")
	}
}

// TestClusterAccessCrossesTheBoundary: regionctl kubeconfig's call reaches
// the plugin's driver, with the token only when asked; a driver without
// cluster access says so.
func TestClusterAccessCrossesTheBoundary(t *testing.T) {
	p, _, _ := memPlugin(t)
	ctx := context.Background()
	cluster := providers.Instance{Address: "r/mem_cluster.main", Type: memcloud.TypeCluster, ID: "c-1",
		Outputs: providers.Values{"endpoint": "https://c-1.k8s.mem.test"}}
	req := providers.AccessRequest{Resources: []providers.Instance{{Address: "r/mem_network.main", Type: memcloud.TypeNetwork, ID: "n-1"}, cluster}}

	_, err := launch(t, p, providers.Options{}).(providers.ClusterAccessor).ClusterAccess(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "cannot reach its clusters") {
		t.Errorf("cluster access of a driver without it: %v", err)
	}

	t.Setenv(envAccess, "1")
	acc := launch(t, p, providers.Options{}).(providers.ClusterAccessor)
	got, err := acc.ClusterAccess(ctx, req)
	if err != nil || got.ClusterID != "c-1" || got.Endpoint != "https://c-1.k8s.mem.test" || len(got.CAPEM) == 0 || got.Token != "" {
		t.Errorf("without a token: %+v, %v", got, err)
	}
	req.Token = true
	got, err = acc.ClusterAccess(ctx, req)
	if err != nil || got.Token != "token-for-c-1" || !got.Expiry.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("with a token: %+v, %v", got, err)
	}
}

// TestIdentityKindsAndOfflineCrossTheBoundary: a plugin's driver that names
// its account is offered to the engine as a providers.Identifier (and one
// that does not, is not), its kinds reach regionctl output, and a driver
// built offline (validate) is built offline in the plugin too.
func TestIdentityKindsAndOfflineCrossTheBoundary(t *testing.T) {
	p, _, _ := memPlugin(t)
	ctx := context.Background()
	t.Setenv(envKit, "1")
	if _, ok := launch(t, p, providers.Options{}).(providers.Identifier); ok {
		t.Error("a plugin whose driver has no Identity is offered as a providers.Identifier")
	}

	t.Setenv(envIdentity, "1")
	for _, offline := range []bool{false, true} {
		d := launch(t, p, providers.Options{Offline: offline})
		idr, ok := d.(providers.Identifier)
		if !ok {
			t.Fatal("a plugin whose driver has Identity is not offered as a providers.Identifier")
		}
		if _, ok := d.(providers.Finder); !ok {
			t.Error("the kit driver's Finder is lost when it also has Identity")
		}
		resp, err := idr.Identity(ctx, providers.IdentityRequest{Region: "r", Resources: []providers.Resource{
			{Address: "r/toy_disk.d", Type: "toy_disk", Inputs: providers.Values{"account": "acct-7"}}}})
		want := providers.Identity{Kind: "Toy account", ID: "acct-7", Principal: fmt.Sprintf("offline=%v", offline)}
		if err != nil || resp.Identity != want {
			t.Errorf("identity (offline %v): %+v, %v; want %+v", offline, resp.Identity, err, want)
		}
		k := d.(providers.Kinder)
		if got := k.Kind("toy_disk"); got != providers.KindNodePool {
			t.Errorf("kind of toy_disk: %q, want %q", got, providers.KindNodePool)
		}
		if got := k.Kind("toy_other"); got != providers.KindOther {
			t.Errorf("kind of an undeclared type: %q", got)
		}
	}
}

// TestProtocolVersionsMustMatch: a plugin that speaks only another version
// of the protocol is refused at start, with a message naming both.
func TestProtocolVersionsMustMatch(t *testing.T) {
	p, _, _ := memPlugin(t)
	t.Setenv(envProtocol, "2")
	_, err := p.Launch(context.Background(), providers.Options{})
	if err == nil || !strings.Contains(err.Error(), p.Path) || !strings.Contains(err.Error(), "Plugin version: 2") || !strings.Contains(err.Error(), "[1]") {
		t.Fatalf("launch of a protocol-2 plugin: %v", err)
	}
	if !strings.Contains(err.Error(), "this regionctl speaks driver protocol 1") {
		t.Errorf("the refusal does not say what regionctl speaks: %v", err)
	}
}

// TestImportAndElementsCrossTheBoundary: the spec element a resource
// realises survives Expand through the plugin (import blocks, regionctl
// import, --target and --replace name resources by it), and ImportID is
// answered by the plugin's Importer when it has one — the kit driver's
// refuses a type it does not know — and by the user's ID as given when it
// has none, as the engine does.
func TestImportAndElementsCrossTheBoundary(t *testing.T) {
	p, cloud, _ := memPlugin(t)
	ctx := context.Background()
	d := launch(t, p, providers.Options{})
	cfg := memcloud.Conformance(d, cloud)
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	elements := map[string]string{}
	for _, r := range resp.Resources {
		if r.Element != "" {
			elements[r.Element] = r.Address
		}
	}
	for _, want := range []string{spec.ElementNetwork, spec.ElementCluster, spec.NodePoolElement("work")} {
		if elements[want] == "" {
			t.Errorf("no resource realises %s after Expand through the plugin; elements: %v", want, elements)
		}
	}
	im, ok := d.(providers.Importer)
	if !ok {
		t.Fatal("the plugin host does not offer providers.Importer")
	}
	got, err := im.ImportID(ctx, providers.ImportIDRequest{Address: "eu1/mem_cluster.main", Type: "mem_cluster", ID: "cluster-7"})
	if err != nil || got.ID != "cluster-7" {
		t.Errorf("ImportID through a plugin whose driver has no Importer = %q, %v; want the ID as given", got.ID, err)
	}

	t.Setenv(envKit, "1")
	kd := launch(t, p, providers.Options{})
	kim := kd.(providers.Importer)
	got, err = kim.ImportID(ctx, providers.ImportIDRequest{Address: "r/toy_disk.d", Type: "toy_disk", ID: "disk-1", Inputs: providers.Values{"size": 10}})
	if err != nil || got.ID != "disk-1" {
		t.Errorf("ImportID of a toy_disk through the kit plugin = %q, %v; want disk-1", got.ID, err)
	}
	if _, err := kim.ImportID(ctx, providers.ImportIDRequest{Address: "r/toy_nope.d", Type: "toy_nope", ID: "x"}); err == nil {
		t.Error("ImportID of a type the kit driver does not know was not refused: the call did not reach the plugin's Importer")
	}
}
