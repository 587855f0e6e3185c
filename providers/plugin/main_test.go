package plugin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/plugin"
)

// The test binary doubles as a driver plugin: started with envServe=1 (by
// a test, through a symlink named regionctl-driver-mem), it serves the
// memcloud driver over a cloud kept in the file envCloudFile, so the test
// process can look at the same cloud. It is the plugin a third party would
// build, with test knobs.
const (
	envServe     = "REGIONCTL_TEST_PLUGIN_SERVE"
	envCloudFile = "REGIONCTL_TEST_PLUGIN_CLOUD"
	// envCallsFile is where the plugin writes how many cloud calls it made.
	envCallsFile = "REGIONCTL_TEST_PLUGIN_CALLS"
	// envCrashAfterCreate names a resource type: the plugin kills itself
	// (SIGKILL) right after the cloud made an object of that type, before
	// the reply leaves.
	envCrashAfterCreate = "REGIONCTL_TEST_PLUGIN_CRASH_AFTER_CREATE"
	// envName overrides the name the plugin says it has.
	envName = "REGIONCTL_TEST_PLUGIN_NAME"
	// envEmulator gives the plugin an emulator (for the sandbox checks).
	envEmulator = "REGIONCTL_TEST_PLUGIN_EMULATOR"
	// envMemory keeps the plugin's cloud in its memory (for benchmarks),
	// with envReadLatency (a duration) on every read, list and find.
	envMemory      = "REGIONCTL_TEST_PLUGIN_MEMORY"
	envReadLatency = "REGIONCTL_TEST_PLUGIN_READ_LATENCY"
	// envReadStarted names a FIFO the plugin writes a byte to when a read
	// starts (under envMemory).
	envReadStarted = "REGIONCTL_TEST_PLUGIN_READ_STARTED"
	// envNoLister hides the memcloud driver's batched read.
	envNoLister = "REGIONCTL_TEST_PLUGIN_NO_LISTER"
	// envSettle makes the memcloud driver's Read and Find report, as the
	// output "settled", whether they were asked to settle.
	envSettle = "REGIONCTL_TEST_PLUGIN_SETTLE"
	// envAccess gives the memcloud driver a ClusterAccess.
	envAccess = "REGIONCTL_TEST_PLUGIN_ACCESS"
	// envKit serves a small kit driver instead of memcloud's.
	envKit = "REGIONCTL_TEST_PLUGIN_KIT"
	// envIdentity gives that kit driver an Identity and a Kind (see
	// identityKitDriver).
	envIdentity = "REGIONCTL_TEST_PLUGIN_IDENTITY"
	// envProtocol makes the plugin speak only that protocol version.
	envProtocol = "REGIONCTL_TEST_PLUGIN_PROTOCOL"
	// envPIDFile is where the plugin writes its pid when it starts.
	envPIDFile = "REGIONCTL_TEST_PLUGIN_PIDFILE"
	// envFeatures serves memcloud's driver with what upgrades and rollouts
	// use (see featuresDriver); envDeleteLog names the file its Delete
	// writes each reason to.
	envFeatures  = "REGIONCTL_TEST_PLUGIN_FEATURES"
	envDeleteLog = "REGIONCTL_TEST_PLUGIN_DELETE_LOG"
	// envMinor makes the plugin say that protocol minor in its handshake.
	envMinor = "REGIONCTL_TEST_PLUGIN_MINOR"
	// envHost makes the test binary a host: it launches the plugin at the
	// path envHost names, prints hostReady, and waits to be killed.
	envHost = "REGIONCTL_TEST_PLUGIN_HOST"
)

const hostReady = "TEST HOST: plugin running"

func TestMain(m *testing.M) {
	if os.Getenv(envServe) == "1" {
		servePlugin()
		return
	}
	if path := os.Getenv(envHost); path != "" {
		p := plugin.Plugin{Name: "mem", Path: path}
		os.Unsetenv(envHost) // the plugin inherits the environment: it is a plugin, not another host
		os.Setenv(envServe, "1")
		if _, err := p.Launch(context.Background(), providers.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(hostReady)
		select {} // until killed
	}
	os.Exit(m.Run())
}

func servePlugin() {
	name := "mem"
	if n := os.Getenv(envName); n != "" {
		name = n
	}
	if f := os.Getenv(envPIDFile); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	cfg := plugin.Config{Name: name, Version: "0.3.1", New: newMemDriver}
	if v, err := strconv.Atoi(os.Getenv(envProtocol)); err == nil {
		plugin.ServeAtProtocol(cfg, v)
		return
	}
	if os.Getenv(envEmulator) == "1" {
		cfg.Emulator = startNoEmulator
	}
	if v, err := strconv.Atoi(os.Getenv(envMinor)); err == nil {
		plugin.ServeAtMinor(cfg, v)
		return
	}
	plugin.Serve(cfg)
}

func newMemDriver(_ context.Context, opts providers.Options) (providers.Driver, error) {
	if os.Getenv(envKit) == "1" {
		d, err := newKitDriver()
		if err != nil || os.Getenv(envIdentity) != "1" {
			return d, err
		}
		return &identityKitDriver{kitDriver: d.(*kitDriver), offline: opts.Offline}, nil
	}
	if os.Getenv(envMemory) == "1" {
		lat, err := time.ParseDuration(os.Getenv(envReadLatency))
		if err != nil {
			return nil, err
		}
		memoryCloud.Latency = readLatency(lat)
		d := memcloud.NewDriver(memoryCloud)
		if os.Getenv(envNoLister) == "1" {
			return readOnly{d, d}, nil
		}
		return d, nil
	}
	cloud, err := memcloud.Open(os.Getenv(envCloudFile))
	if err != nil {
		return nil, err
	}
	var calls atomic.Int64
	callsFile := os.Getenv(envCallsFile)
	cloud.Latency = func(op, typ, address string) time.Duration {
		n := calls.Add(1)
		if callsFile != "" {
			tmp := fmt.Sprintf("%s.%d.tmp", callsFile, n)
			if os.WriteFile(tmp, []byte(strconv.FormatInt(n, 10)), 0o600) == nil {
				_ = os.Rename(tmp, callsFile) // the highest count wins in the end: counts only grow
			}
		}
		return 0
	}
	d := memcloud.NewDriver(cloud)
	// Given rate budgets, the driver says it paces itself, and shows the
	// burst of its "mem:api" budget as MaxParallel, so a test sees what
	// crossed the boundary.
	if b, ok := opts.RateBudgets["mem:api"]; ok {
		d.RateBudgeted, d.MaxParallel = true, b.Burst
	}
	if os.Getenv(envFeatures) == "1" {
		return featuresDriver{d}, nil
	}
	if os.Getenv(envAccess) == "1" {
		return accessDriver{d}, nil
	}
	if os.Getenv(envSettle) == "1" {
		return settleDriver{d}, nil
	}
	if typ := os.Getenv(envCrashAfterCreate); typ != "" {
		return &crashingDriver{Driver: d, typ: typ}, nil
	}
	return d, nil
}

// memoryCloud is the plugin's cloud under envMemory.
var memoryCloud = memcloud.New()

// readLatency is a memcloud latency of lat on reads, lists and finds only.
func readLatency(lat time.Duration) func(op, typ, address string) time.Duration {
	started := os.Getenv(envReadStarted)
	return func(op, _, _ string) time.Duration {
		if op != memcloud.OpRead && op != memcloud.OpList && op != memcloud.OpFind {
			return 0
		}
		if started != "" {
			if f, err := os.OpenFile(started, os.O_WRONLY, 0); err == nil {
				_, _ = f.Write([]byte{1})
				f.Close()
			}
		}
		return lat
	}
}

// accessDriver is memcloud's driver with cluster access: the endpoint
// its cluster records, a fixed CA and a token made of the cluster's ID.
type accessDriver struct{ *memcloud.Driver }

// settleDriver is memcloud's driver saying whether a Read or Find was asked
// to settle.
type settleDriver struct{ *memcloud.Driver }

func (d settleDriver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	resp, err := d.Driver.Read(ctx, req)
	resp.Outputs = providers.Values{"settled": req.Settle}
	return resp, err
}

func (d settleDriver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	resp, err := d.Driver.Find(ctx, req)
	resp.Outputs = providers.Values{"settled": req.Settle}
	return resp, err
}

func (d accessDriver) ClusterAccess(_ context.Context, req providers.AccessRequest) (providers.AccessResponse, error) {
	for _, inst := range req.Resources {
		if inst.Type != memcloud.TypeCluster {
			continue
		}
		endpoint, _ := inst.Outputs["endpoint"].(string)
		resp := providers.AccessResponse{ClusterID: inst.ID, Endpoint: endpoint, CAPEM: []byte("-----BEGIN CERTIFICATE-----\n")}
		if req.Token {
			resp.Token, resp.Expiry = "token-for-"+inst.ID, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		return resp, nil
	}
	return providers.AccessResponse{}, fmt.Errorf("mem: no cluster in state: %w", providers.ErrNotFound)
}

// featuresDriver is memcloud's driver with what upgrades and rollouts use,
// each answer made from its request so a test sees what crossed: an
// Identity that refuses the account (providers.ErrWrongAccount) when the
// region's network is named "elsewhere"; a health check per resource; an
// update check that refuses every change of "version"; a Delete that
// records its reason in the file envDeleteLog names; a Create that
// reports two throttled attempts before it succeeds; and cluster access
// with workload identity.
type featuresDriver struct{ *memcloud.Driver }

var (
	_ providers.Identifier    = featuresDriver{}
	_ providers.HealthChecker = featuresDriver{}
	_ providers.UpdateChecker = featuresDriver{}
)

func (d featuresDriver) Identity(_ context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	if providers.FirstInput(req.Resources, "name") == "elsewhere" {
		return providers.IdentityResponse{}, fmt.Errorf("mem: region %s must act in mem account 1, but the credentials act in 2: refusing: %w", req.Region, providers.ErrWrongAccount)
	}
	return providers.IdentityResponse{Identity: providers.Identity{Kind: "mem account", ID: "1"}}, nil
}

func (d featuresDriver) CheckHealth(_ context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	var resp providers.HealthResponse
	for _, r := range req.Resources {
		resp.Checks = append(resp.Checks, providers.HealthCheck{Name: r.Address, OK: r.Type != memcloud.TypeCluster,
			Detail: fmt.Sprintf("%s, %d before", r.ID, len(req.Before))})
	}
	return resp, nil
}

func (d featuresDriver) CheckUpdate(_ context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	if req.Before["version"] == req.After["version"] {
		return nil
	}
	return diag.Diagnostics{{Severity: diag.Error, Path: "spec.cluster.kubernetesVersion",
		Summary: fmt.Sprintf("%s: %v → %v refused", req.Address, req.Before["version"], req.After["version"]), Fix: "one minor at a time"}}
}

func (d featuresDriver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	f, err := os.OpenFile(os.Getenv(envDeleteLog), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	_, err = fmt.Fprintf(f, "%s %d\n", req.Instance.Address, req.Reason)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	return d.Driver.Delete(ctx, req)
}

func (d featuresDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	for i := range 2 {
		providers.ReportRetry(ctx, providers.RetryReport{Err: fmt.Errorf("create %s, attempt %d: 429 slow down: %w", req.Address, i+1, providers.ErrThrottled)})
	}
	return d.Driver.Create(ctx, req)
}

func (d featuresDriver) ClusterAccess(_ context.Context, req providers.AccessRequest) (providers.AccessResponse, error) {
	resp, err := accessDriver{d.Driver}.ClusterAccess(context.Background(), req)
	resp.WorkloadIdentity = &providers.WorkloadIdentity{Issuer: "https://oidc.mem.test/" + resp.ClusterID, Provider: "mem-pool/" + resp.ClusterID,
		Audience: "mem.test", ServiceAccountAnnotation: "mem.test/identity", TrustSubject: "system:serviceaccount:NAMESPACE:NAME"}
	return resp, err
}

// crashingDriver dies right after the cloud created an object of type typ.
type crashingDriver struct {
	*memcloud.Driver
	typ string
}

func (d *crashingDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	resp, err := d.Driver.Create(ctx, req)
	if req.Type == d.typ {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal arrives
	}
	return resp, err
}

// startNoEmulator stands in for an emulator: memcloud needs none, the
// sandbox checks only need the plugin to declare one.
func startNoEmulator(context.Context, string) (plugin.Emulator, error) {
	return nil, fmt.Errorf("the test plugin's emulator is not meant to start")
}

// memPlugin links this test binary as regionctl-driver-<name> in a fresh
// folder, sets up its cloud file, and returns the plugin and the cloud (as
// the test process sees it).
func memPlugin(t testing.TB) (plugin.Plugin, *memcloud.Cloud, string) {
	t.Helper()
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "bin", plugin.ExecutablePrefix+"mem")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, exe); err != nil {
		t.Fatal(err)
	}
	cloudFile := filepath.Join(dir, "cloud.json")
	t.Setenv(envServe, "1")
	t.Setenv(envCloudFile, cloudFile)
	cloud, err := memcloud.Open(cloudFile)
	if err != nil {
		t.Fatal(err)
	}
	return plugin.Plugin{Name: "mem", Path: exe, HostVersion: "test"}, cloud, dir
}

// launch starts p and stops it when the test ends.
func launch(t *testing.T, p plugin.Plugin, opts providers.Options) providers.Driver {
	t.Helper()
	d, err := p.Launch(context.Background(), opts)
	if err != nil {
		t.Fatalf("launch %s: %v", p.Path, err)
	}
	t.Cleanup(func() {
		if err := d.(interface{ Close() error }).Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}
