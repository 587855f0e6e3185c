package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
)

// Config is what a plugin's main function hands to Serve.
type Config struct {
	// Name is the driver's registry name, what spec.provider says; the
	// executable must be called regionctl-driver-<Name>.
	Name string
	// Version is the plugin's own version (semver, e.g. "0.1.0"); regionctl
	// records it in plans and state and `regionctl drivers` shows it.
	Version string
	// New builds the driver for a run, as a providers.Factory: it must not
	// call the cloud. With Options.Sandbox it points the driver at
	// Options.SandboxEndpoints, which come from Emulator.
	New providers.Factory
	// Emulator, when set, starts the cloud's emulator for --sandbox. A
	// plugin without one refuses --sandbox: regionctl never lets a sandbox
	// run reach a real cloud.
	Emulator EmulatorFactory
}

// EmulatorFactory starts a plugin's cloud emulator serving on 127.0.0.1,
// keeping its cloud in dir (created for it, inside the sandbox directory):
// it loads what dir holds and writes every change back, so the emulated
// cloud outlives the process like the built-in emulators'.
type EmulatorFactory func(ctx context.Context, dir string) (Emulator, error)

// Emulator is a running cloud emulator.
type Emulator interface {
	// Endpoints maps service names to base URLs ("http://127.0.0.1:PORT")
	// or gRPC host:port; the driver receives them as
	// providers.Options.SandboxEndpoints.
	Endpoints() map[string]string
	// Objects lists what the emulated cloud holds, for `regionctl sandbox ls`.
	Objects() []EmulatedObject
	// Close stops serving and persists the emulated cloud.
	Close() error
}

// EmulatedObject is one object of an emulated cloud.
type EmulatedObject struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Region string `json:"region,omitempty"`
	State  string `json:"state,omitempty"`
}

// lifelineEnv names the file descriptor a host passes to its plugin: the
// read end of a pipe whose write end only the host holds. When the host
// dies, even by SIGKILL, the pipe reads end-of-file and the plugin exits
// rather than live on as an orphan.
const lifelineEnv = "REGIONCTL_PLUGIN_LIFELINE_FD"

// Serve serves the driver over the plugin protocol on behalf of regionctl,
// which starts the executable; it returns when regionctl is done with it.
// Call it from main:
//
//	func main() {
//		plugin.Serve(plugin.Config{Name: "acme", Version: "0.1.0", New: acme.New, Emulator: acme.StartEmulator})
//	}
//
// Started by hand rather than by regionctl, the executable says what it is
// and exits with status 1.
func Serve(cfg Config) {
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "regionctl driver plugin:", err)
		os.Exit(1)
	}
	if os.Getenv(handshake.MagicCookieKey) != handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s%s is a regionctl driver plugin (driver %s %s, protocol %d), started by regionctl itself.\n"+
			"Put it in ~/.regionctl/plugins (or on PATH) and run `regionctl drivers`.\n",
			ExecutablePrefix, cfg.Name, cfg.Name, cfg.Version, ProtocolVersion)
		os.Exit(1)
	}
	watchLifeline()
	serve(cfg, newServer(cfg))
}

// serve serves srv and cfg's emulator until the host is done.
func serve(cfg Config, srv *server) {
	emu := &emulatorServer{cfg: cfg}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: pluginSets(srv, emu),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage), grpc.ChainUnaryInterceptor(collectRetries))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: cfg.Name, Level: hclog.Warn, Output: os.Stderr, JSONFormat: true}),
	})
	// The host is done (or gone): release the driver, persist the emulator.
	_ = srv.stopDriver()
	_, _ = emu.Stop(context.Background(), nil)
}

func (cfg Config) check() error {
	switch {
	case cfg.Name == "":
		return errors.New("Config.Name is empty")
	case cfg.New == nil:
		return fmt.Errorf("driver %s: Config.New is nil", cfg.Name)
	}
	return nil
}

// watchLifeline exits the process when the host that started it is gone.
func watchLifeline() {
	fd, err := strconv.Atoi(os.Getenv(lifelineEnv))
	os.Unsetenv(lifelineEnv) // not for the plugin's own children
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	go func() {
		_, _ = io.Copy(io.Discard, f) // returns at end-of-file: the host is gone
		os.Exit(2)
	}()
}

// server is the plugin side of the Driver service: it decodes each request,
// calls the driver, and encodes what it returns.
type server struct {
	pb.UnimplementedDriverServer
	cfg Config
	// minor is the protocol minor the handshake says (ProtocolMinor; a
	// test poses as an older plugin).
	minor int

	mu  sync.RWMutex
	drv providers.Driver

	// stopped is cancelled by Stop: every call in flight is cancelled.
	stopped context.Context
	stop    context.CancelFunc
	// calls counts the driver calls running, which Stop waits for.
	calls inflight
}

func newServer(cfg Config) *server {
	ctx, cancel := context.WithCancel(context.Background())
	return &server{cfg: cfg, minor: ProtocolMinor, stopped: ctx, stop: cancel}
}

// call returns the configured driver and a context that Stop cancels too.
func (s *server) call(ctx context.Context) (providers.Driver, context.Context, context.CancelFunc, error) {
	s.mu.RLock()
	drv := s.drv
	s.mu.RUnlock()
	if drv == nil {
		return nil, nil, nil, fmt.Errorf("driver %s: not configured: the host must call Configure first: %w", s.cfg.Name, providers.ErrPermanent)
	}
	s.calls.add()
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.stopped, cancel)
	return drv, ctx, func() { unhook(); cancel(); s.calls.done() }, nil
}

// stopWait bounds how long Stop waits for cancelled calls to return (a
// driver that ignores its context is not waited for forever).
const stopWait = 30 * time.Second

// badRequest is the error of a request that does not decode.
func (s *server) badRequest(err error) *pb.Error {
	return encodeError(fmt.Errorf("driver %s: bad request from regionctl: %w: %w", s.cfg.Name, err, providers.ErrPermanent))
}

func (s *server) Handshake(context.Context, *pb.HandshakeRequest) (*pb.HandshakeResponse, error) {
	return &pb.HandshakeResponse{ProtocolVersion: ProtocolVersion, ProtocolMinor: int32(s.minor), Name: s.cfg.Name, DriverVersion: s.cfg.Version, Emulator: s.cfg.Emulator != nil}, nil
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	opts, err := decodeOptions(req.Options)
	if err != nil {
		return &pb.ConfigureResponse{Error: s.badRequest(err)}, nil
	}
	if opts.Sandbox && s.cfg.Emulator == nil {
		return &pb.ConfigureResponse{Error: encodeError(fmt.Errorf("driver %s has no emulator, so it cannot run with --sandbox (it would reach the real cloud): %w",
			s.cfg.Name, providers.ErrPermanent))}, nil
	}
	drv, err := s.cfg.New(ctx, opts)
	if err != nil {
		return &pb.ConfigureResponse{Error: encodeError(fmt.Errorf("start driver %s: %w", s.cfg.Name, err))}, nil
	}
	s.mu.Lock()
	old := s.drv
	s.drv = drv
	s.mu.Unlock()
	closeDriver(old)
	_, finder := drv.(providers.Finder)
	_, lister := drv.(providers.Lister)
	_, validator := drv.(providers.Validator)
	_, upgrader := drv.(providers.StateUpgrader)
	_, access := drv.(providers.ClusterAccessor)
	_, identifier := drv.(providers.Identifier)
	_, importer := drv.(providers.Importer)
	_, health := drv.(providers.HealthChecker)
	_, update := drv.(providers.UpdateChecker)
	return &pb.ConfigureResponse{Finder: finder, Lister: lister, Validator: validator, StateUpgrader: upgrader, ClusterAccess: access,
		Identifier: identifier, Importer: importer, HealthChecker: health, UpdateChecker: update, Kinds: kindsOf(drv)}, nil
}

// kindsOf is what a driver's providers.Kinder says of the resource types
// its capabilities declare; nil without Kinder.
func kindsOf(drv providers.Driver) map[string]string {
	k, ok := drv.(providers.Kinder)
	if !ok {
		return nil
	}
	kinds := map[string]string{}
	for _, r := range drv.Capabilities().Resources {
		if kind := k.Kind(r.Type); kind != providers.KindOther {
			kinds[r.Type] = string(kind)
		}
	}
	return kinds
}

func (s *server) GetCapabilities(ctx context.Context, _ *pb.GetCapabilitiesRequest) (*pb.GetCapabilitiesResponse, error) {
	drv, _, done, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return &pb.GetCapabilitiesResponse{Capabilities: encodeCapabilities(drv.Capabilities())}, nil
}

func (s *server) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	v, ok := drv.(providers.Validator)
	if !ok {
		return &pb.ValidateResponse{}, nil
	}
	r, err := decodeRegion(req.Region)
	if err != nil {
		return nil, err
	}
	return &pb.ValidateResponse{Diagnostics: encodeDiagnostics(v.Validate(ctx, r))}, nil
}

func (s *server) Expand(ctx context.Context, req *pb.ExpandRequest) (*pb.ExpandResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.ExpandResponse{Error: encodeError(err)}, nil
	}
	defer done()
	r, err := decodeRegion(req.Region)
	if err != nil {
		return &pb.ExpandResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := drv.Expand(ctx, providers.ExpandRequest{Region: r})
	out := &pb.ExpandResponse{Error: encodeError(err), Notes: resp.Notes, Diagnostics: encodeDiagnostics(resp.Diagnostics)}
	for _, res := range resp.Resources {
		m, err := encodeResource(res)
		if err != nil {
			return &pb.ExpandResponse{Error: encodeError(fmt.Errorf("driver %s: expand %s: %w", s.cfg.Name, r.Metadata.Name, err))}, nil
		}
		out.Resources = append(out.Resources, m)
	}
	return out, nil
}

func (s *server) Read(ctx context.Context, req *pb.ReadRequest) (*pb.ReadResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.ReadResponse{Error: encodeError(err)}, nil
	}
	defer done()
	r, err := s.decodeRead(req)
	if err != nil {
		return &pb.ReadResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := drv.Read(ctx, r)
	return s.encodeRead(resp, err), nil
}

func (s *server) decodeRead(req *pb.ReadRequest) (providers.ReadRequest, error) {
	inst, err := decodeInstance(req.GetInstance())
	return providers.ReadRequest{Instance: inst, Settle: req.GetSettle()}, err
}

func (s *server) encodeRead(resp providers.ReadResponse, err error) *pb.ReadResponse {
	if err != nil {
		return &pb.ReadResponse{Error: encodeError(err)}
	}
	in, err := encodeValues(resp.Inputs)
	if err != nil {
		return &pb.ReadResponse{Error: encodeError(fmt.Errorf("driver %s: read: inputs: %w", s.cfg.Name, err))}
	}
	out, err := encodeValues(resp.Outputs)
	if err != nil {
		return &pb.ReadResponse{Error: encodeError(fmt.Errorf("driver %s: read: outputs: %w", s.cfg.Name, err))}
	}
	return &pb.ReadResponse{Exists: resp.Exists, Inputs: in, Outputs: out, CreateFailed: resp.CreateFailed}
}

func (s *server) ReadMany(ctx context.Context, req *pb.ReadManyRequest) (*pb.ReadManyResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.ReadManyResponse{Error: encodeError(err)}, nil
	}
	defer done()
	reqs := make([]providers.ReadRequest, len(req.Requests))
	for i, r := range req.Requests {
		if reqs[i], err = s.decodeRead(r); err != nil {
			return &pb.ReadManyResponse{Error: s.badRequest(err)}, nil
		}
	}
	var resps []providers.ReadResponse
	if l, ok := drv.(providers.Lister); ok {
		resps, err = l.ReadMany(ctx, reqs)
		if err == nil && len(resps) != len(reqs) {
			err = fmt.Errorf("driver %s: ReadMany returned %d responses for %d requests", s.cfg.Name, len(resps), len(reqs))
		}
	} else {
		// One read after another: the engine counts a ReadMany as one
		// call against its parallelism (the cloud's rate limit), so the
		// batch must not fan out.
		resps = make([]providers.ReadResponse, len(reqs))
		for i := range reqs {
			if resps[i], err = drv.Read(ctx, reqs[i]); err != nil {
				break
			}
		}
	}
	if err != nil {
		return &pb.ReadManyResponse{Error: encodeError(err)}, nil
	}
	out := &pb.ReadManyResponse{Responses: make([]*pb.ReadResponse, len(resps))}
	for i, r := range resps {
		out.Responses[i] = s.encodeRead(r, nil)
		if out.Responses[i].Error != nil {
			return &pb.ReadManyResponse{Error: out.Responses[i].Error}, nil
		}
	}
	return out, nil
}

func (s *server) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.CreateResponse{Error: encodeError(err)}, nil
	}
	defer done()
	in, err := decodeValues(req.Inputs)
	if err != nil {
		return &pb.CreateResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := drv.Create(ctx, providers.CreateRequest{Address: req.Address, Type: req.Type, Inputs: in, IdempotencyKey: req.IdempotencyKey})
	out, encErr := encodeValues(resp.Outputs)
	if err == nil && encErr != nil {
		// The object exists: keep its ID, so the engine records it.
		err = fmt.Errorf("driver %s: create %s: outputs: %w", s.cfg.Name, req.Address, encErr)
	}
	return &pb.CreateResponse{Error: encodeError(err), Id: resp.ID, Outputs: out}, nil
}

func (s *server) Update(ctx context.Context, req *pb.UpdateRequest) (*pb.UpdateResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.UpdateResponse{Error: encodeError(err)}, nil
	}
	defer done()
	inst, err := decodeInstance(req.Instance)
	if err != nil {
		return &pb.UpdateResponse{Error: s.badRequest(err)}, nil
	}
	in, err := decodeValues(req.Inputs)
	if err != nil {
		return &pb.UpdateResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := drv.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: in, Changed: req.Changed})
	if err != nil {
		return &pb.UpdateResponse{Error: encodeError(err)}, nil
	}
	out, err := encodeValues(resp.Outputs)
	return &pb.UpdateResponse{Error: encodeError(err), Outputs: out}, nil
}

func (s *server) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.DeleteResponse{Error: encodeError(err)}, nil
	}
	defer done()
	inst, err := decodeInstance(req.Instance)
	if err != nil {
		return &pb.DeleteResponse{Error: s.badRequest(err)}, nil
	}
	_, err = drv.Delete(ctx, providers.DeleteRequest{Instance: inst, Reason: providers.DeleteReason(req.Reason)})
	return &pb.DeleteResponse{Error: encodeError(err)}, nil
}

func (s *server) Find(ctx context.Context, req *pb.FindRequest) (*pb.FindResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.FindResponse{Error: encodeError(err)}, nil
	}
	defer done()
	f, ok := drv.(providers.Finder)
	if !ok {
		return &pb.FindResponse{Error: encodeError(fmt.Errorf("driver %s cannot find resources: %w", s.cfg.Name, providers.ErrPermanent))}, nil
	}
	in, err := decodeValues(req.Inputs)
	if err != nil {
		return &pb.FindResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := f.Find(ctx, providers.FindRequest{Address: req.Address, Type: req.Type, Inputs: in, IdempotencyKey: req.IdempotencyKey, Settle: req.Settle})
	if err != nil {
		return &pb.FindResponse{Error: encodeError(err)}, nil
	}
	out, err := encodeValues(resp.Outputs)
	return &pb.FindResponse{Error: encodeError(err), Found: resp.Found, Id: resp.ID, Outputs: out}, nil
}

func (s *server) ClusterAccess(ctx context.Context, req *pb.ClusterAccessRequest) (*pb.ClusterAccessResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.ClusterAccessResponse{Error: encodeError(err)}, nil
	}
	defer done()
	acc, ok := drv.(providers.ClusterAccessor)
	if !ok {
		return &pb.ClusterAccessResponse{Error: encodeError(fmt.Errorf("driver %s cannot reach its clusters (it does not implement providers.ClusterAccessor): %w",
			s.cfg.Name, providers.ErrPermanent))}, nil
	}
	r := providers.AccessRequest{Token: req.Token}
	if r.Resources, err = decodeInstances(req.Resources); err != nil {
		return &pb.ClusterAccessResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := acc.ClusterAccess(ctx, r)
	if err != nil {
		return &pb.ClusterAccessResponse{Error: encodeError(err)}, nil
	}
	return encodeAccess(resp), nil
}

func (s *server) Identity(ctx context.Context, req *pb.IdentityRequest) (*pb.IdentityResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.IdentityResponse{Error: encodeError(err)}, nil
	}
	defer done()
	idr, ok := drv.(providers.Identifier)
	if !ok {
		return &pb.IdentityResponse{Error: encodeError(fmt.Errorf("driver %s cannot name its cloud account (it does not implement providers.Identifier): %w",
			s.cfg.Name, providers.ErrPermanent))}, nil
	}
	r := providers.IdentityRequest{Region: req.Region}
	for _, m := range req.Resources {
		res, err := decodeResource(m)
		if err != nil {
			return &pb.IdentityResponse{Error: s.badRequest(err)}, nil
		}
		r.Resources = append(r.Resources, res)
	}
	resp, err := idr.Identity(ctx, r)
	if err != nil {
		return &pb.IdentityResponse{Error: encodeError(err)}, nil
	}
	id := resp.Identity
	return &pb.IdentityResponse{Kind: id.Kind, Id: id.ID, Principal: id.Principal}, nil
}

func (s *server) ImportID(ctx context.Context, req *pb.ImportIDRequest) (*pb.ImportIDResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.ImportIDResponse{Error: encodeError(err)}, nil
	}
	defer done()
	im, ok := drv.(providers.Importer)
	if !ok {
		return &pb.ImportIDResponse{Id: req.Id}, nil // as the engine does without an Importer
	}
	in, err := decodeValues(req.Inputs)
	if err != nil {
		return &pb.ImportIDResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := im.ImportID(ctx, providers.ImportIDRequest{Address: req.Address, Type: req.Type, ID: req.Id, Inputs: in})
	if err != nil {
		return &pb.ImportIDResponse{Error: encodeError(err)}, nil
	}
	return &pb.ImportIDResponse{Id: resp.ID}, nil
}

func (s *server) CheckHealth(ctx context.Context, req *pb.CheckHealthRequest) (*pb.CheckHealthResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.CheckHealthResponse{Error: encodeError(err)}, nil
	}
	defer done()
	hc, ok := drv.(providers.HealthChecker)
	if !ok {
		return &pb.CheckHealthResponse{Error: encodeError(fmt.Errorf("driver %s has no health check (it does not implement providers.HealthChecker): %w",
			s.cfg.Name, providers.ErrPermanent))}, nil
	}
	r := providers.HealthRequest{Region: req.Region}
	if r.Resources, err = decodeInstances(req.Resources); err == nil {
		r.Before, err = decodeInstances(req.Before)
	}
	if err != nil {
		return &pb.CheckHealthResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := hc.CheckHealth(ctx, r)
	out := &pb.CheckHealthResponse{Error: encodeError(err)}
	for _, c := range resp.Checks {
		out.Checks = append(out.Checks, &pb.HealthCheck{Name: c.Name, Ok: c.OK, Detail: c.Detail})
	}
	return out, nil
}

func (s *server) CheckUpdate(ctx context.Context, req *pb.CheckUpdateRequest) (*pb.CheckUpdateResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.CheckUpdateResponse{Error: encodeError(err)}, nil
	}
	defer done()
	uc, ok := drv.(providers.UpdateChecker)
	if !ok {
		return &pb.CheckUpdateResponse{}, nil // as the engine does without an UpdateChecker
	}
	r := providers.CheckUpdateRequest{Address: req.Address, Type: req.Type}
	if r.Before, err = decodeValues(req.Before); err == nil {
		r.After, err = decodeValues(req.After)
	}
	if err != nil {
		return &pb.CheckUpdateResponse{Error: s.badRequest(err)}, nil
	}
	return &pb.CheckUpdateResponse{Diagnostics: encodeDiagnostics(uc.CheckUpdate(ctx, r))}, nil
}

func (s *server) UpgradeState(ctx context.Context, req *pb.UpgradeStateRequest) (*pb.UpgradeStateResponse, error) {
	drv, ctx, done, err := s.call(ctx)
	if err != nil {
		return &pb.UpgradeStateResponse{Error: encodeError(err)}, nil
	}
	defer done()
	up, ok := drv.(providers.StateUpgrader)
	if !ok {
		return &pb.UpgradeStateResponse{Error: encodeError(fmt.Errorf("driver %s cannot upgrade stored values (it does not implement providers.StateUpgrader): %w",
			s.cfg.Name, providers.ErrPermanent))}, nil
	}
	inst, err := decodeInstance(req.Instance)
	if err != nil {
		return &pb.UpgradeStateResponse{Error: s.badRequest(err)}, nil
	}
	resp, err := up.UpgradeState(ctx, providers.UpgradeStateRequest{Instance: inst})
	if err != nil {
		return &pb.UpgradeStateResponse{Error: encodeError(err)}, nil
	}
	in, err := encodeValues(resp.Inputs)
	if err != nil {
		return &pb.UpgradeStateResponse{Error: encodeError(err)}, nil
	}
	out, err := encodeValues(resp.Outputs)
	return &pb.UpgradeStateResponse{Error: encodeError(err), Inputs: in, Outputs: out, SchemaVersion: int64(resp.SchemaVersion)}, nil
}

// Stop cancels every call in flight and waits for them to return, so
// their answers (cancelled) reach the host before it ends the process.
func (s *server) Stop(context.Context, *pb.StopRequest) (*pb.StopResponse, error) {
	s.stop()
	s.calls.wait(stopWait)
	return &pb.StopResponse{Error: encodeError(s.stopDriver())}, nil
}

// stopDriver releases the driver (its Close, when it has one).
func (s *server) stopDriver() error {
	s.mu.Lock()
	drv := s.drv
	s.drv = nil
	s.mu.Unlock()
	return closeDriver(drv)
}

func closeDriver(d providers.Driver) error {
	if c, ok := d.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// emulatorServer is the plugin side of the Emulator service.
type emulatorServer struct {
	pb.UnimplementedEmulatorServer
	cfg Config

	mu      sync.Mutex
	running Emulator
}

func (e *emulatorServer) Start(ctx context.Context, req *pb.StartEmulatorRequest) (*pb.StartEmulatorResponse, error) {
	if e.cfg.Emulator == nil {
		return &pb.StartEmulatorResponse{Error: encodeError(fmt.Errorf("driver %s has no emulator: %w", e.cfg.Name, providers.ErrPermanent))}, nil
	}
	if req.Dir == "" {
		return &pb.StartEmulatorResponse{Error: encodeError(fmt.Errorf("driver %s: start emulator: no directory given: %w", e.cfg.Name, providers.ErrPermanent))}, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running != nil {
		return &pb.StartEmulatorResponse{Endpoints: e.running.Endpoints()}, nil
	}
	em, err := e.cfg.Emulator(ctx, req.Dir)
	if err != nil {
		return &pb.StartEmulatorResponse{Error: encodeError(fmt.Errorf("driver %s: start emulator in %s: %w", e.cfg.Name, req.Dir, err))}, nil
	}
	e.running = em
	return &pb.StartEmulatorResponse{Endpoints: em.Endpoints()}, nil
}

func (e *emulatorServer) List(context.Context, *pb.ListEmulatorRequest) (*pb.ListEmulatorResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == nil {
		return &pb.ListEmulatorResponse{Error: encodeError(fmt.Errorf("driver %s: the emulator is not running", e.cfg.Name))}, nil
	}
	var out []*pb.EmulatedObject
	for _, o := range e.running.Objects() {
		out = append(out, &pb.EmulatedObject{Type: o.Type, Id: o.ID, Name: o.Name, Region: o.Region, State: o.State})
	}
	return &pb.ListEmulatorResponse{Objects: out}, nil
}

func (e *emulatorServer) Stop(context.Context, *pb.StopEmulatorRequest) (*pb.StopEmulatorResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == nil {
		return &pb.StopEmulatorResponse{}, nil
	}
	err := e.running.Close()
	e.running = nil
	return &pb.StopEmulatorResponse{Error: encodeError(err)}, nil
}
