package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/diag"
	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// Plugin is a driver plugin executable, as Discover finds it.
type Plugin struct {
	// Name is the driver's name: the NAME of regionctl-driver-NAME.
	Name string
	// Path is the executable's absolute path.
	Path string
	// Stderr receives what the plugin reports on its own (its errors and
	// panics, and everything it prints to stderr when LogLevel asks for
	// it); nil means os.Stderr.
	Stderr io.Writer
	// LogLevel is the lowest level of the plugin's log lines passed on to
	// Stderr ("trace", "debug", "info", "warn", "error"); "" means "error".
	LogLevel string
	// HostVersion is regionctl's version, sent in the handshake.
	HostVersion string
}

// Info is what a plugin said about itself at start.
type Info struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Path     string `json:"path"`
	Protocol int    `json:"protocol"`
	// ProtocolMinor is the minor version of Protocol the plugin speaks (0
	// for a plugin built before minors were sent).
	ProtocolMinor int  `json:"protocolMinor"`
	Emulator      bool `json:"emulator"`
}

// process is one running plugin executable.
type process struct {
	client   *goplugin.Client
	lifeline *os.File // the write end: the plugin exits when it closes
	driver   pb.DriverClient
	emulator pb.EmulatorClient
	info     Info
	calls    *inflight // the calls waiting for an answer
}

// inflight counts calls waiting for their answers.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (c *inflight) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.idle = make(chan struct{})
	}
	c.n++
}

func (c *inflight) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		close(c.idle)
	}
}

// wait returns when no call is waiting, or after d.
func (c *inflight) wait(d time.Duration) {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return
	}
	idle := c.idle
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// interceptor counts the calls in flight on one process.
func (c *inflight) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.add()
	defer c.done()
	return invoke(ctx, method, req, reply, cc, opts...)
}

// start runs the plugin executable and checks its handshake.
func (p Plugin) start(ctx context.Context) (*process, error) {
	stderr := p.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	level := hclog.LevelFromString(p.LogLevel)
	if level == hclog.NoLevel {
		level = hclog.Error
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start plugin %s: %w", p.Path, err)
	}
	cmd := exec.Command(p.Path)
	cmd.ExtraFiles = []*os.File{r} // fd 3 in the plugin
	cmd.Env = []string{lifelineEnv + "=3"}
	calls := &inflight{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: pluginSets(nil, nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "regionctl", Level: level, Output: stderr}),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
			grpc.WithChainUnaryInterceptor(calls.interceptor, reportRetries),
		},
		StartTimeout: time.Minute,
	})
	proc := &process{client: client, lifeline: w, calls: calls}
	rpc, err := client.Client()
	r.Close() // the plugin holds its own copy now
	if err != nil {
		proc.kill()
		if strings.Contains(err.Error(), "incompatible API version") {
			return nil, fmt.Errorf("start driver plugin %s: %w: this regionctl speaks driver protocol %d; use a build of the plugin for it, or a regionctl that speaks the plugin's",
				p.Path, err, ProtocolVersion)
		}
		return nil, fmt.Errorf("start driver plugin %s: %w", p.Path, err)
	}
	for name, dst := range map[string]any{dispenseDriver: &proc.driver, dispenseEmulator: &proc.emulator} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			proc.kill()
			return nil, fmt.Errorf("start driver plugin %s: %w", p.Path, err)
		}
		switch d := dst.(type) {
		case *pb.DriverClient:
			*d = raw.(pb.DriverClient)
		case *pb.EmulatorClient:
			*d = raw.(pb.EmulatorClient)
		}
	}
	hs, err := proc.driver.Handshake(ctx, &pb.HandshakeRequest{ProtocolVersion: ProtocolVersion, ProtocolMinor: ProtocolMinor, HostVersion: p.HostVersion})
	if err != nil {
		proc.kill()
		return nil, fmt.Errorf("driver plugin %s: handshake: %w", p.Path, err)
	}
	if hs.Name != p.Name {
		proc.kill()
		return nil, fmt.Errorf("driver plugin %s says it is driver %q: rename it %s%s, or fix its plugin.Config.Name", p.Path, hs.Name, ExecutablePrefix, hs.Name)
	}
	proc.info = Info{Name: hs.Name, Version: hs.DriverVersion, Path: p.Path, Protocol: client.NegotiatedVersion(), ProtocolMinor: int(hs.ProtocolMinor), Emulator: hs.Emulator}
	return proc, nil
}

// kill ends the plugin process: go-plugin asks it to exit and waits, then
// kills it; closing the lifeline makes sure it cannot outlive this.
func (proc *process) kill() {
	proc.client.Kill()
	proc.lifeline.Close()
}

// Handshake starts the plugin only to learn what it says about itself,
// then stops it.
func (p Plugin) Handshake(ctx context.Context) (Info, error) {
	proc, err := p.start(ctx)
	if err != nil {
		return Info{}, err
	}
	defer proc.kill()
	return proc.info, nil
}

// Factory returns a providers.Factory that starts the plugin for each
// driver it builds (see Launch).
func (p Plugin) Factory() providers.Factory {
	return func(ctx context.Context, opts providers.Options) (providers.Driver, error) {
		return p.Launch(ctx, opts)
	}
}

// Launch starts the plugin and configures its driver with opts. The
// driver it returns implements providers.Driver, Lister, Validator,
// StateUpgrader and ClusterAccessor (the plugin answers those even when its
// driver lacks them, the way the engine would do without them), Kinder
// (from the kinds the plugin declares), Importer (the user's ID as given
// when the plugin's driver has none, as the engine does without one),
// UpdateChecker (no diagnostics without one), HealthChecker (without one,
// a passing check saying the plugin's driver has none, or that the plugin
// is too old to carry it, as the engine records for a built-in driver
// without one),
// Finder and Identifier when the plugin's driver has them, and io.Closer:
// Close stops the plugin.
//
// With opts.Sandbox, the plugin must bring an emulator (its handshake says
// so) and opts must point at it (SandboxEndpoints from StartEmulator):
// a plugin without one is refused, never started against its real cloud.
func (p Plugin) Launch(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	h := &Driver{plugin: p, name: p.Name, path: p.Path, opts: opts}
	proc, err := h.connect(ctx)
	if err != nil {
		return nil, err
	}
	caps, err := proc.driver.GetCapabilities(ctx, &pb.GetCapabilitiesRequest{})
	if err != nil {
		h.Close()
		return nil, h.callError(ctx, proc, "capabilities", err)
	}
	if h.caps, err = decodeCapabilities(caps.Capabilities); err != nil {
		h.Close()
		return nil, fmt.Errorf("driver plugin %s: capabilities: %w", p.Path, err)
	}
	if h.caps.Name != p.Name {
		h.Close()
		return nil, fmt.Errorf("driver plugin %s: its capabilities name driver %q, not %q", p.Path, h.caps.Name, p.Name)
	}
	if h.caps.Version == "" {
		h.caps.Version = proc.info.Version
	}
	switch {
	case h.features.Finder && h.features.Identifier:
		return &finderIdentifierDriver{h}, nil
	case h.features.Finder:
		return &finderDriver{h}, nil
	case h.features.Identifier:
		return &identifierDriver{h}, nil
	}
	return h, nil
}

// Driver is a driver plugin seen from regionctl: every call crosses to the
// plugin's process. When the process died (a crash, a kill), the next call
// starts it again; the call that was in flight fails with an error saying
// its outcome is unknown, which the engine treats as it treats a lost
// reply (a create stays pending and is found by the next run).
type Driver struct {
	plugin     Plugin
	name, path string
	opts       providers.Options
	caps       providers.Capabilities

	mu       sync.Mutex
	proc     *process
	features *pb.ConfigureResponse
	closed   bool
}

// finderDriver is a Driver whose plugin's driver implements Find;
// identifierDriver one whose driver implements Identity; and
// finderIdentifierDriver one whose driver implements both. (The engine
// discovers optional interfaces by type assertion, so a Driver must not
// have a method its plugin cannot answer.)
type (
	finderDriver           struct{ *Driver }
	identifierDriver       struct{ *Driver }
	finderIdentifierDriver struct{ *Driver }
)

func (f *finderIdentifierDriver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	return (&finderDriver{f.Driver}).Find(ctx, req)
}

func (f *finderIdentifierDriver) Identity(ctx context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	return (&identifierDriver{f.Driver}).Identity(ctx, req)
}

var (
	_ providers.Driver          = (*Driver)(nil)
	_ providers.Lister          = (*Driver)(nil)
	_ providers.Validator       = (*Driver)(nil)
	_ providers.StateUpgrader   = (*Driver)(nil)
	_ providers.ClusterAccessor = (*Driver)(nil)
	_ providers.Kinder          = (*Driver)(nil)
	_ providers.Importer        = (*Driver)(nil)
	_ providers.HealthChecker   = (*Driver)(nil)
	_ providers.UpdateChecker   = (*Driver)(nil)
	_ providers.Finder          = (*finderDriver)(nil)
	_ providers.Identifier      = (*identifierDriver)(nil)
	_ providers.Finder          = (*finderIdentifierDriver)(nil)
	_ providers.Identifier      = (*finderIdentifierDriver)(nil)
	_ io.Closer                 = (*Driver)(nil)
)

// connect returns the running plugin process, starting (or restarting) and
// configuring it when needed.
func (h *Driver) connect(ctx context.Context) (*process, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("%s: the driver plugin was closed", h.name)
	}
	if h.proc != nil && !h.proc.client.Exited() {
		return h.proc, nil
	}
	if h.proc != nil {
		h.proc.kill() // collect the dead one
		h.proc = nil
	}
	proc, err := h.plugin.start(ctx)
	if err != nil {
		return nil, err
	}
	if h.opts.Sandbox && !proc.info.Emulator {
		proc.kill()
		return nil, fmt.Errorf("driver %s (%s) has no emulator, so it cannot run with --sandbox: refusing rather than reach its real cloud", h.name, h.path)
	}
	conf, err := proc.driver.Configure(ctx, &pb.ConfigureRequest{Options: encodeOptions(h.opts)})
	if err == nil && conf.Error != nil {
		err = decodeError(conf.Error)
	}
	if err != nil {
		proc.kill()
		return nil, fmt.Errorf("driver plugin %s: configure: %w", h.path, err)
	}
	h.proc, h.features = proc, conf
	return proc, nil
}

// forget drops proc after a call found it gone, so the next call starts
// the plugin again (go-plugin notices a dead process a little later).
func (h *Driver) forget(proc *process) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == proc {
		proc.kill()
		h.proc = nil
	}
}

// Info says which plugin this is: its name, version, path and protocol.
func (h *Driver) Info() Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil {
		return Info{Name: h.name, Path: h.path, Version: h.caps.Version}
	}
	return h.proc.info
}

// Close asks the plugin to stop (cancelling whatever is in flight) and ends
// its process.
func (h *Driver) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	if h.proc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.proc.driver.Stop(ctx, &pb.StopRequest{})
	switch {
	case status.Code(err) == codes.Unavailable:
		err = nil // it is gone already
	case err == nil:
		err = decodeError(resp.Error)
	}
	// The calls Stop cancelled are answering; let their answers arrive.
	h.proc.calls.wait(10 * time.Second)
	h.proc.kill()
	h.proc = nil
	if err != nil {
		return fmt.Errorf("%s: stop plugin: %w", h.name, err)
	}
	return nil
}

// Capabilities returns what the plugin's driver declared at start, with
// its Version from the handshake when the driver left it empty.
func (h *Driver) Capabilities() providers.Capabilities { return h.caps }

// Validate implements providers.Validator; positions come from the region.
// A plugin built before workload identity outputs crossed the boundary
// (protocol 1.0) cannot serve a region that asks for them: it is refused
// here, rather than applied and then silent in `regionctl output`.
func (h *Driver) Validate(ctx context.Context, r *spec.Region) diag.Diagnostics {
	fail := func(err error) diag.Diagnostics {
		return diag.Diagnostics{{Severity: diag.Error, Pos: r.Pos("spec.provider"), Path: "spec.provider", Summary: err.Error()}}
	}
	p, err := h.connect(ctx)
	if err != nil {
		return fail(err)
	}
	reg, err := encodeRegion(r)
	if err != nil {
		return fail(err)
	}
	resp, err := p.driver.Validate(ctx, &pb.ValidateRequest{Region: reg})
	if err != nil {
		return fail(h.callError(ctx, p, "validate", err))
	}
	ds := decodeDiagnostics(resp.Diagnostics, r)
	if r.Spec.Cluster.WorkloadIdentity && p.info.ProtocolMinor < 1 {
		const path = "spec.cluster.workloadIdentity"
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path), Path: path,
			Summary: h.tooOld(p, "workload identity outputs"), Fix: "rebuild the plugin against a newer regionctl, or remove workloadIdentity"})
	}
	return ds
}

// tooOld says that the plugin speaks a protocol older than what needs it.
func (h *Driver) tooOld(p *process, what string) string {
	return fmt.Sprintf("driver %s (plugin %s) speaks driver protocol %d.%d, which cannot carry %s: rebuild it against a newer regionctl (protocol %d.%d)",
		h.name, h.path, p.info.Protocol, p.info.ProtocolMinor, what, ProtocolVersion, ProtocolMinor)
}

// has reports whether the plugin's driver said it has a feature.
func (h *Driver) has(feature func(*pb.ConfigureResponse) bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.features != nil && feature(h.features)
}

// CheckHealth implements providers.HealthChecker through the plugin when
// its driver has a health check. Without one, the gate passes the wave on
// its apply alone, as for a built-in driver without one, and says why:
// the driver has none, or the plugin is too old to carry it.
func (h *Driver) CheckHealth(ctx context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.HealthResponse{}, err
	}
	if !h.has(func(f *pb.ConfigureResponse) bool { return f.HealthChecker }) {
		if p.info.ProtocolMinor < 1 {
			return providers.NoHealthCheck(h.tooOld(p, "health checks")), nil
		}
		return providers.NoHealthCheck(fmt.Sprintf("driver %s (plugin %s) has no health check", h.name, h.path)), nil
	}
	m := &pb.CheckHealthRequest{Region: req.Region}
	if m.Resources, err = encodeInstances(req.Resources); err == nil {
		m.Before, err = encodeInstances(req.Before)
	}
	if err != nil {
		return providers.HealthResponse{}, err
	}
	resp, err := p.driver.CheckHealth(ctx, m)
	if err != nil {
		return providers.HealthResponse{}, h.callError(ctx, p, "health check of region "+req.Region, err)
	}
	var out providers.HealthResponse
	for _, c := range resp.Checks {
		out.Checks = append(out.Checks, providers.HealthCheck{Name: c.Name, OK: c.Ok, Detail: c.Detail})
	}
	return out, decodeError(resp.Error)
}

// CheckUpdate implements providers.UpdateChecker through the plugin when
// its driver has one; without one there is nothing to check, as for a
// built-in driver without one. A plugin too old to carry update checks
// gets a warning: its driver may have one the plan cannot ask. The engine
// attaches the positions.
func (h *Driver) CheckUpdate(ctx context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	fail := func(err error) diag.Diagnostics {
		return diag.Diagnostics{{Severity: diag.Error, Path: "spec.provider", Summary: fmt.Sprintf("check the update of %s: %v", req.Address, err)}}
	}
	p, err := h.connect(ctx)
	if err != nil {
		return fail(err)
	}
	if !h.has(func(f *pb.ConfigureResponse) bool { return f.UpdateChecker }) {
		if p.info.ProtocolMinor < 1 {
			return diag.Diagnostics{{Severity: diag.Warning, Path: "spec.provider", Summary: h.tooOld(p, "update checks") +
				"; this plan cannot tell whether the cloud accepts the update of " + req.Address}}
		}
		return nil
	}
	m := &pb.CheckUpdateRequest{Address: req.Address, Type: req.Type}
	if m.Before, err = encodeValues(req.Before); err == nil {
		m.After, err = encodeValues(req.After)
	}
	if err != nil {
		return fail(err)
	}
	resp, err := p.driver.CheckUpdate(ctx, m)
	if err == nil {
		err = decodeError(resp.Error)
	}
	if err != nil {
		return fail(h.callError(ctx, p, "check update of "+req.Address, err))
	}
	return decodeDiagnostics(resp.Diagnostics, nil)
}

// Expand implements providers.Driver.
func (h *Driver) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.ExpandResponse{}, err
	}
	reg, err := encodeRegion(req.Region)
	if err != nil {
		return providers.ExpandResponse{}, err
	}
	resp, err := p.driver.Expand(ctx, &pb.ExpandRequest{Region: reg})
	if err != nil {
		return providers.ExpandResponse{}, h.callError(ctx, p, "expand", err)
	}
	out := providers.ExpandResponse{Notes: resp.Notes, Diagnostics: decodeDiagnostics(resp.Diagnostics, req.Region)}
	for _, m := range resp.Resources {
		r, err := decodeResource(m)
		if err != nil {
			return providers.ExpandResponse{}, fmt.Errorf("%s: expand: %w", h.name, err)
		}
		out.Resources = append(out.Resources, r)
	}
	return out, decodeError(resp.Error)
}

// Read implements providers.Driver.
func (h *Driver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	m, err := encodeReadRequest(req)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	resp, err := p.driver.Read(ctx, m)
	if err != nil {
		return providers.ReadResponse{}, h.callError(ctx, p, "read "+req.Instance.Address, err)
	}
	return decodeReadResponse(resp)
}

func encodeReadRequest(req providers.ReadRequest) (*pb.ReadRequest, error) {
	inst, err := encodeInstance(req.Instance)
	if err != nil {
		return nil, err
	}
	return &pb.ReadRequest{Instance: inst, Settle: req.Settle}, nil
}

func decodeReadResponse(m *pb.ReadResponse) (providers.ReadResponse, error) {
	if m.Error != nil {
		return providers.ReadResponse{}, decodeError(m.Error)
	}
	in, err := decodeValues(m.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	out, err := decodeValues(m.Outputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	return providers.ReadResponse{Exists: m.Exists, Inputs: in, Outputs: out, CreateFailed: m.CreateFailed}, nil
}

// ReadMany implements providers.Lister: one call for the whole batch.
func (h *Driver) ReadMany(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return nil, err
	}
	m := &pb.ReadManyRequest{Requests: make([]*pb.ReadRequest, len(reqs))}
	for i, r := range reqs {
		if m.Requests[i], err = encodeReadRequest(r); err != nil {
			return nil, err
		}
	}
	resp, err := p.driver.ReadMany(ctx, m)
	if err != nil {
		return nil, h.callError(ctx, p, "read many", err)
	}
	if resp.Error != nil {
		return nil, decodeError(resp.Error)
	}
	if len(resp.Responses) != len(reqs) {
		return nil, fmt.Errorf("%s: read many: the plugin answered %d of %d reads", h.name, len(resp.Responses), len(reqs))
	}
	out := make([]providers.ReadResponse, len(reqs))
	for i, r := range resp.Responses {
		if out[i], err = decodeReadResponse(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Create implements providers.Driver. An ID the plugin returns with an
// error is returned with it, as the engine expects.
func (h *Driver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.CreateResponse{}, err
	}
	in, err := encodeValues(req.Inputs)
	if err != nil {
		return providers.CreateResponse{}, fmt.Errorf("%s: create %s: %w", h.name, req.Address, err)
	}
	resp, err := p.driver.Create(ctx, &pb.CreateRequest{Address: req.Address, Type: req.Type, Inputs: in, IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return providers.CreateResponse{}, h.callError(ctx, p, "create "+req.Address, err)
	}
	out, decErr := decodeValues(resp.Outputs)
	err = decodeError(resp.Error)
	if err == nil && decErr != nil {
		err = fmt.Errorf("%s: create %s: outputs: %w", h.name, req.Address, decErr)
	}
	return providers.CreateResponse{ID: resp.Id, Outputs: out}, err
}

// Update implements providers.Driver.
func (h *Driver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	inst, err := encodeInstance(req.Instance)
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	in, err := encodeValues(req.Inputs)
	if err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("%s: update %s: %w", h.name, req.Instance.Address, err)
	}
	resp, err := p.driver.Update(ctx, &pb.UpdateRequest{Instance: inst, Inputs: in, Changed: req.Changed})
	if err != nil {
		return providers.UpdateResponse{}, h.callError(ctx, p, "update "+req.Instance.Address, err)
	}
	if resp.Error != nil {
		return providers.UpdateResponse{}, decodeError(resp.Error)
	}
	out, err := decodeValues(resp.Outputs)
	return providers.UpdateResponse{Outputs: out}, err
}

// Delete implements providers.Driver.
func (h *Driver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	inst, err := encodeInstance(req.Instance)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	resp, err := p.driver.Delete(ctx, &pb.DeleteRequest{Instance: inst, Reason: pb.DeleteReason(req.Reason)})
	if err != nil {
		return providers.DeleteResponse{}, h.callError(ctx, p, "delete "+req.Instance.Address, err)
	}
	return providers.DeleteResponse{}, decodeError(resp.Error)
}

// Find implements providers.Finder for a plugin whose driver has it.
func (f *finderDriver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	p, err := f.connect(ctx)
	if err != nil {
		return providers.FindResponse{}, err
	}
	in, err := encodeValues(req.Inputs)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("%s: find %s: %w", f.name, req.Address, err)
	}
	resp, err := p.driver.Find(ctx, &pb.FindRequest{Address: req.Address, Type: req.Type, Inputs: in, IdempotencyKey: req.IdempotencyKey, Settle: req.Settle})
	if err != nil {
		return providers.FindResponse{}, f.callError(ctx, p, "find "+req.Address, err)
	}
	if resp.Error != nil {
		return providers.FindResponse{}, decodeError(resp.Error)
	}
	out, err := decodeValues(resp.Outputs)
	return providers.FindResponse{Found: resp.Found, ID: resp.Id, Outputs: out}, err
}

// ClusterAccess implements providers.ClusterAccessor.
func (h *Driver) ClusterAccess(ctx context.Context, req providers.AccessRequest) (providers.AccessResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.AccessResponse{}, err
	}
	m := &pb.ClusterAccessRequest{Token: req.Token}
	if m.Resources, err = encodeInstances(req.Resources); err != nil {
		return providers.AccessResponse{}, err
	}
	resp, err := p.driver.ClusterAccess(ctx, m)
	if err != nil {
		return providers.AccessResponse{}, h.callError(ctx, p, "cluster access", err)
	}
	if resp.Error != nil {
		return providers.AccessResponse{}, decodeError(resp.Error)
	}
	return decodeAccess(resp), nil
}

// ImportID implements providers.Importer: through the plugin when its
// driver is an Importer, else the ID as the user gave it.
func (h *Driver) ImportID(ctx context.Context, req providers.ImportIDRequest) (providers.ImportIDResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.ImportIDResponse{}, err
	}
	h.mu.Lock()
	importer := h.features != nil && h.features.Importer
	h.mu.Unlock()
	if !importer {
		return providers.ImportIDResponse{ID: req.ID}, nil
	}
	in, err := encodeValues(req.Inputs)
	if err != nil {
		return providers.ImportIDResponse{}, fmt.Errorf("%s: import %s: %w", h.name, req.Address, err)
	}
	resp, err := p.driver.ImportID(ctx, &pb.ImportIDRequest{Address: req.Address, Type: req.Type, Id: req.ID, Inputs: in})
	if err != nil {
		return providers.ImportIDResponse{}, h.callError(ctx, p, "import "+req.Address, err)
	}
	if resp.Error != nil {
		return providers.ImportIDResponse{}, decodeError(resp.Error)
	}
	return providers.ImportIDResponse{ID: resp.Id}, nil
}

// Identity implements providers.Identifier for a plugin whose driver has it.
func (f *identifierDriver) Identity(ctx context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	p, err := f.connect(ctx)
	if err != nil {
		return providers.IdentityResponse{}, err
	}
	m := &pb.IdentityRequest{Region: req.Region}
	for _, r := range req.Resources {
		e, err := encodeResource(r)
		if err != nil {
			return providers.IdentityResponse{}, err
		}
		m.Resources = append(m.Resources, e)
	}
	resp, err := p.driver.Identity(ctx, m)
	if err != nil {
		return providers.IdentityResponse{}, f.callError(ctx, p, "identity of region "+req.Region, err)
	}
	if resp.Error != nil {
		return providers.IdentityResponse{}, decodeError(resp.Error)
	}
	return providers.IdentityResponse{Identity: providers.Identity{Kind: resp.Kind, ID: resp.Id, Principal: resp.Principal}}, nil
}

// Kind implements providers.Kinder from the kinds the plugin declared.
func (h *Driver) Kind(resourceType string) providers.Kind {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.features == nil {
		return providers.KindOther
	}
	return providers.Kind(h.features.Kinds[resourceType])
}

// UpgradeState implements providers.StateUpgrader.
func (h *Driver) UpgradeState(ctx context.Context, req providers.UpgradeStateRequest) (providers.UpgradeStateResponse, error) {
	p, err := h.connect(ctx)
	if err != nil {
		return providers.UpgradeStateResponse{}, err
	}
	inst, err := encodeInstance(req.Instance)
	if err != nil {
		return providers.UpgradeStateResponse{}, err
	}
	resp, err := p.driver.UpgradeState(ctx, &pb.UpgradeStateRequest{Instance: inst})
	if err != nil {
		return providers.UpgradeStateResponse{}, h.callError(ctx, p, "upgrade state of "+req.Instance.Address, err)
	}
	if resp.Error != nil {
		return providers.UpgradeStateResponse{}, decodeError(resp.Error)
	}
	in, err := decodeValues(resp.Inputs)
	if err != nil {
		return providers.UpgradeStateResponse{}, err
	}
	out, err := decodeValues(resp.Outputs)
	return providers.UpgradeStateResponse{Inputs: in, Outputs: out, SchemaVersion: int(resp.SchemaVersion)}, err
}
