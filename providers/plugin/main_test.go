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
	if os.Getenv(envAccess) == "1" {
		return accessDriver{d}, nil
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
