// Package azure is regionctl's Azure driver: it expands a region into a
// resource group, a virtual network with a node subnet, an AKS managed
// cluster (whose first node pool is the required System pool), User agent
// pools and static public IPs for external load balancers, and manages them
// through the official Azure SDK for Go (azcore, azidentity,
// armcontainerservice/v6, armnetwork/v9, armresources). See
// docs/providers/azure.md for the mapping from spec to resources.
//
// One Driver serves every Azure region and subscription: clients are built
// per subscription from one credential and cached. Long-running operations
// are polled by hand at the server's Retry-After, never with
// PollUntilDone's fixed 30-second default.
package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// Tag keys every resource that takes tags carries. Azure tag names cannot
// hold "/", so they use "-".
const (
	TagManagedBy      = "managed-by"
	TagRegion         = "regionctl-region"
	TagAddress        = "regionctl-address"
	TagIdempotencyKey = "regionctl-idempotency-key"
	managedByValue    = "regionctl"
)

// SandboxSubscription is the subscription used in sandbox mode when the
// spec names none.
const SandboxSubscription = "00000000-0000-0000-0000-000000000000"

// EnvSubscription is the environment variable that names the default
// subscription outside the sandbox.
const EnvSubscription = "AZURE_SUBSCRIPTION_ID"

// MaxRetries is how many times a throttled (429) or failed (5xx) call is
// retried by the SDK's retry policy, at the server's Retry-After.
const MaxRetries = 10

// Driver is the Azure providers.Driver. Build it with New.
type Driver struct {
	cred    azcore.TokenCredential
	opts    arm.ClientOptions
	sandbox bool
	// subscription is the default subscription (AZURE_SUBSCRIPTION_ID, or
	// SandboxSubscription in the sandbox).
	subscription string
	// pollDefault is the wait between polls when the server sends no
	// Retry-After; pollMin and pollMax bound the server's value.
	pollDefault, pollMin, pollMax time.Duration

	// kube creates, reads, updates and deletes the in-cluster objects.
	kube *kubernetes.Handler

	mu      sync.Mutex
	clients map[string]*clients
}

var (
	_ providers.Driver    = (*Driver)(nil)
	_ providers.Finder    = (*Driver)(nil)
	_ providers.Validator = (*Driver)(nil)
)

type clients struct {
	groups   *armresources.ResourceGroupsClient
	vnets    *armnetwork.VirtualNetworksClient
	subnets  *armnetwork.SubnetsClient
	pips     *armnetwork.PublicIPAddressesClient
	clusters *armcontainerservice.ManagedClustersClient
	pools    *armcontainerservice.AgentPoolsClient
}

// sandboxCredential is the sandbox's analogue of static dummy keys: a token
// the emulator accepts. In sandbox mode no real credential is ever read.
type sandboxCredential struct{}

func (sandboxCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "sandbox", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// sandboxRetryCap bounds how long the sandbox makes a throttled call wait.
const sandboxRetryCap = 50 * time.Millisecond

// capRetryAfter is a per-try policy (sandbox only) that shortens the
// Retry-After of a throttled or failed reply to sandboxRetryCap, so the
// SDK's retry policy still honours the header but tests stay fast.
type capRetryAfter struct{}

func (capRetryAfter) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil && resp != nil && retryAfter(resp) > sandboxRetryCap {
		resp.Header.Set("Retry-After-Ms", strconv.Itoa(int(sandboxRetryCap/time.Millisecond)))
	}
	return resp, err
}

// New is the registry factory. Outside the sandbox it builds the credential
// with azidentity.NewDefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI) and takes the default subscription from
// AZURE_SUBSCRIPTION_ID (spec.overrides.azure.subscriptionId wins per
// region); it makes no API call. With opts.Sandbox it never reads the
// user's credentials: it sends every call to opts.SandboxEndpoints["azure"]
// with a static sandbox token.
func New(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	d := &Driver{clients: map[string]*clients{}, sandbox: opts.Sandbox}
	d.kube = d.kubeHandler(opts.ForceConflicts)
	d.opts.Retry = policy.RetryOptions{MaxRetries: MaxRetries}
	if opts.Sandbox {
		ep := strings.TrimSuffix(opts.SandboxEndpoints["azure"], "/")
		if ep == "" {
			return nil, errors.New("azure: sandbox mode needs SandboxEndpoints[\"azure\"] (the ARM emulator's base URL)")
		}
		d.cred = sandboxCredential{}
		d.subscription = SandboxSubscription
		d.opts.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: ep,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: ep, Audience: "https://management.azure.com"},
			},
		}
		d.opts.InsecureAllowCredentialWithHTTP = true
		d.opts.DisableRPRegistration = true
		d.opts.PerRetryPolicies = []policy.Policy{capRetryAfter{}}
		d.opts.Retry.RetryDelay = 10 * time.Millisecond
		d.opts.Retry.MaxRetryDelay = time.Second
		d.pollDefault, d.pollMin, d.pollMax = 20*time.Millisecond, 0, 200*time.Millisecond
		return d, nil
	}
	if opts.Offline {
		d.subscription = os.Getenv(EnvSubscription) // validate: no credentials
		return d, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure: credentials (environment, workload identity, managed identity, Azure CLI): %w", err)
	}
	d.cred = cred
	d.subscription = os.Getenv(EnvSubscription)
	d.pollDefault, d.pollMin, d.pollMax = 10*time.Second, time.Second, time.Minute
	return d, nil
}

// clientsFor returns the clients of one subscription (cached).
func (d *Driver) clientsFor(sub string) (*clients, error) {
	if sub == "" {
		return nil, fmt.Errorf("no Azure subscription: set spec.overrides.azure.subscriptionId or %s", EnvSubscription)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[sub]; ok {
		return c, nil
	}
	o := &d.opts
	c := &clients{}
	var err error
	build := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	var e error
	c.groups, e = armresources.NewResourceGroupsClient(sub, d.cred, o)
	build(e)
	c.vnets, e = armnetwork.NewVirtualNetworksClient(sub, d.cred, o)
	build(e)
	c.subnets, e = armnetwork.NewSubnetsClient(sub, d.cred, o)
	build(e)
	c.pips, e = armnetwork.NewPublicIPAddressesClient(sub, d.cred, o)
	build(e)
	c.clusters, e = armcontainerservice.NewManagedClustersClient(sub, d.cred, o)
	build(e)
	c.pools, e = armcontainerservice.NewAgentPoolsClient(sub, d.cred, o)
	build(e)
	if err != nil {
		return nil, fmt.Errorf("build Azure clients for subscription %s: %w", sub, err)
	}
	d.clients[sub] = c
	return c, nil
}

// Capabilities describes AKS.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Name:                "azure",
		Description:         "Microsoft Azure: resource group, VNet, AKS (Azure CNI overlay, Standard LB) with System and User agent pools, static public IPs",
		KubernetesVersions:  append([]string(nil), KubernetesVersions...),
		Machines:            Machines(),
		StorageTiers:        []string{spec.TierStandard, spec.TierSSD},
		LoadBalancerSchemes: []string{spec.SchemeExternal, spec.SchemeInternal},
		Locations:           Locations(),
		MaxParallel:         10,
	}
}

// handler manages one resource type.
type handler interface {
	// create makes the resource (or finishes one an interrupted create with
	// the same key made) and waits until it is usable; it returns the ID,
	// also when the operation failed after the object came to exist.
	create(ctx context.Context, c *call) (string, error)
	// read reports the live inputs and outputs of c.id; exists false when
	// it is gone.
	read(ctx context.Context, c *call) (exists bool, inputs, outputs providers.Values, err error)
	// update changes c.id in place to c.in.
	update(ctx context.Context, c *call, changed []string) error
	// delete removes c.id and waits until it is gone; gone already is fine.
	delete(ctx context.Context, c *call) error
	// find returns the ID of the resource tagged with c.key (or c.address
	// when there is no key), or "".
	find(ctx context.Context, c *call) (string, error)
}

// call is one operation on one resource.
type call struct {
	d       *Driver
	cl      *clients
	typ     string
	address string
	key     string
	id      string
	// in are the desired (resolved) inputs; prev the recorded ones.
	in, prev providers.Values
	// outputs are the recorded outputs (Delete only).
	outputs providers.Values
}

var handlers = map[string]handler{
	TypeResourceGroup:  groupHandler{},
	TypeVirtualNetwork: vnetHandler{},
	TypeSubnet:         subnetHandler{},
	TypeCluster:        clusterHandler{},
	TypeNodePool:       poolHandler{},
	TypePublicIP:       pipHandler{},
}

// subscriptionOf finds the subscription a call works in: that of its ID,
// of an ARM ID among its inputs, its subscription_id input, or the default.
func (d *Driver) subscriptionOf(id string, vals ...providers.Values) string {
	if s := subOfID(id); s != "" {
		return s
	}
	for _, v := range vals {
		if s := str(v, "subscription_id"); s != "" {
			return s
		}
		for _, k := range []string{"resource_group_id", "virtual_network_id", "cluster_id"} {
			if s := subOfID(str(v, k)); s != "" {
				return s
			}
		}
	}
	return d.subscription
}

func subOfID(id string) string {
	if id == "" {
		return ""
	}
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return ""
	}
	return r.SubscriptionID
}

func (d *Driver) newCall(typ, address, key, id string, in, prev providers.Values) (handler, *call, error) {
	h, ok := handlers[typ]
	if !ok {
		return nil, nil, fmt.Errorf("azure: %s: unknown resource type %q", address, typ)
	}
	cl, err := d.clientsFor(d.subscriptionOf(id, in, prev))
	if err != nil {
		return nil, nil, fmt.Errorf("azure: %s: %w", address, err)
	}
	return h, &call{d: d, cl: cl, typ: typ, address: address, key: key, id: id, in: in, prev: prev}, nil
}

func checkResolved(in providers.Values) error {
	if refs := providers.Refs(map[string]any(in)); len(refs) > 0 {
		return fmt.Errorf("inputs hold unresolved references to %s", strings.Join(refs, ", "))
	}
	return nil
}

// Create makes one resource. It first looks for one an interrupted create
// with the same idempotency key made, so a retry never makes a duplicate.
func (d *Driver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.CreateResponse{}, fmt.Errorf("azure: create %s: %w", req.Address, err)
	}
	if kubernetes.Handles(req.Type) {
		resp, err := d.kube.Create(ctx, req)
		return resp, wrapKube(err)
	}
	h, c, err := d.newCall(req.Type, req.Address, req.IdempotencyKey, "", req.Inputs, nil)
	if err != nil {
		return providers.CreateResponse{}, err
	}
	id, err := h.create(ctx, c)
	if err != nil {
		resp := providers.CreateResponse{ID: id}
		if id != "" { // it exists but is not usable: report what it is
			c.id = id
			if exists, _, out, rerr := h.read(context.WithoutCancel(ctx), c); rerr == nil && exists {
				resp.Outputs = out
			}
		}
		return resp, fmt.Errorf("azure: create %s: %w", req.Address, err)
	}
	c.id = id
	exists, _, out, err := h.read(ctx, c)
	if err == nil && !exists {
		err = errors.New("it is gone")
	}
	if err != nil {
		return providers.CreateResponse{ID: id}, fmt.Errorf("azure: create %s: read back %s: %w", req.Address, id, err)
	}
	return providers.CreateResponse{ID: id, Outputs: out}, nil
}

// Read returns the live inputs (in the shape Expand produced) and outputs.
// An ID that is not an ARM ID of this type names nothing: Exists false.
func (d *Driver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	in := req.Instance
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Read(ctx, req)
		return resp, wrapKube(err)
	}
	if in.ID == "" {
		return providers.ReadResponse{}, nil
	}
	if _, err := arm.ParseResourceID(in.ID); err != nil {
		return providers.ReadResponse{}, nil
	}
	h, c, err := d.newCall(in.Type, in.Address, "", in.ID, in.Inputs, in.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	exists, inputs, outputs, err := h.read(ctx, c)
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("azure: read %s (%s): %w", in.Address, in.ID, err)
	}
	if !exists {
		return providers.ReadResponse{}, nil
	}
	return providers.ReadResponse{Exists: true, Inputs: inputs, Outputs: outputs}, nil
}

// Update changes one resource in place and waits until it is usable.
func (d *Driver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("azure: update %s: %w", req.Instance.Address, err)
	}
	in := req.Instance
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Update(ctx, req)
		return resp, wrapKube(err)
	}
	h, c, err := d.newCall(in.Type, in.Address, "", in.ID, req.Inputs, in.Inputs)
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	if err := h.update(ctx, c, req.Changed); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("azure: update %s (%s): %w", in.Address, in.ID, err)
	}
	c.prev = req.Inputs
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("azure: update %s: read back: %w", in.Address, err)
	}
	if !exists {
		return providers.UpdateResponse{}, fmt.Errorf("azure: update %s (%s): %w", in.Address, in.ID, providers.ErrNotFound)
	}
	return providers.UpdateResponse{Outputs: out}, nil
}

// Delete removes one resource and waits until it is gone. A resource that
// is already gone (or whose ID names nothing) is deleted.
func (d *Driver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	in := req.Instance
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Delete(ctx, req)
		return resp, wrapKube(err)
	}
	if in.ID == "" {
		return providers.DeleteResponse{}, nil
	}
	if _, err := arm.ParseResourceID(in.ID); err != nil {
		return providers.DeleteResponse{}, nil
	}
	h, c, err := d.newCall(in.Type, in.Address, "", in.ID, in.Inputs, in.Inputs)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	c.outputs = in.Outputs
	if err := h.delete(ctx, c); err != nil {
		return providers.DeleteResponse{}, fmt.Errorf("azure: delete %s (%s): %w", in.Address, in.ID, err)
	}
	return providers.DeleteResponse{}, nil
}

// Find looks for the resource an interrupted create made: by its name
// (from the inputs) and its regionctl-idempotency-key tag, or its
// regionctl-address tag when no key is given. Subnets take no tags; they
// are found by name in their (regionctl-made) virtual network.
func (d *Driver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	if kubernetes.Handles(req.Type) {
		resp, err := d.kube.Find(ctx, req)
		return resp, wrapKube(err)
	}
	h, c, err := d.newCall(req.Type, req.Address, req.IdempotencyKey, "", req.Inputs, nil)
	if err != nil {
		return providers.FindResponse{}, err
	}
	id, err := h.find(ctx, c)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("azure: find %s: %w", req.Address, err)
	}
	if id == "" {
		return providers.FindResponse{}, nil
	}
	c.id = id
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("azure: find %s: read %s: %w", req.Address, id, err)
	}
	if !exists {
		return providers.FindResponse{}, nil
	}
	return providers.FindResponse{Found: true, ID: id, Outputs: out}, nil
}

// wrapKube prefixes an in-cluster error with the driver's name.
func wrapKube(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("azure: %w", err)
}

// tags are the tags every resource that takes tags gets.
func (c *call) tags() map[string]*string {
	region, _, _, err := providers.SplitAddress(c.address)
	t := map[string]*string{TagManagedBy: to(managedByValue), TagAddress: to(c.address)}
	if err == nil {
		t[TagRegion] = to(region)
	}
	if c.key != "" {
		t[TagIdempotencyKey] = to(c.key)
	}
	return t
}

// matchTags reports whether tags identify this call's resource: the
// idempotency key when there is one, else the address.
func (c *call) matchTags(tags map[string]*string) bool {
	if c.key != "" {
		return deref(tags[TagIdempotencyKey]) == c.key
	}
	return deref(tags[TagAddress]) == c.address
}

// notOurs is the error for an object with the wanted name that this
// create did not make: regionctl never silently takes over an object.
func (c *call) notOurs(what, name string, tags map[string]*string) error {
	owner := deref(tags[TagAddress])
	if owner == "" {
		owner = "not made by regionctl"
	} else {
		owner = "made by regionctl for " + owner + " under another idempotency key"
	}
	return fmt.Errorf("%s %s already exists (%s); delete or rename it, or import it", what, name, owner)
}

// respErr returns the ARM error in err, or nil.
func respErr(err error) *azcore.ResponseError {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// isNotFound reports whether err says the object (or its parent) does not
// exist.
func isNotFound(err error) bool {
	re := respErr(err)
	if re == nil {
		return false
	}
	switch re.ErrorCode {
	case "ResourceNotFound", "ResourceGroupNotFound", "NotFound", "ParentResourceNotFound":
		return true
	case "InvalidResourceType", "NoRegisteredProviderFound":
		return false // a wrong path or API version, not a missing object
	}
	return re.StatusCode == http.StatusNotFound
}

// conflictInProgress reports whether err says another operation on the
// object is still running — after a lost reply, usually the SDK's retry
// of our own create colliding with the first attempt.
func conflictInProgress(err error) bool {
	re := respErr(err)
	if re == nil || re.StatusCode != http.StatusConflict {
		return false
	}
	return re.ErrorCode == "AnotherOperationInProgress" || re.ErrorCode == "OperationNotAllowed" && strings.Contains(err.Error(), "in progress")
}

// settleState polls get until the object's provisioning state is terminal
// and returns an error for a failed one.
func settleState(ctx context.Context, d *Driver, what string, get func() (state *string, exists bool, err error)) error {
	for {
		st, exists, err := get()
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%s disappeared while being provisioned", what)
		}
		if !inProgress(st) {
			return provisioned(what, "", st)
		}
		if err := sleep(ctx, d.pollDelay(nil)); err != nil {
			return err
		}
	}
}

// errorCode is the ARM error code of err, or "".
func errorCode(err error) string {
	if re := respErr(err); re != nil {
		return re.ErrorCode
	}
	return ""
}

// retryAfter reads the server's wait hint: retry-after-ms,
// x-ms-retry-after-ms, then Retry-After (seconds or an HTTP date).
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	for _, h := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := resp.Header.Get(h); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Millisecond
			}
		}
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// pollDelay is how long to wait before the next poll: the server's
// Retry-After bounded to [pollMin, pollMax], or pollDefault without one.
func (d *Driver) pollDelay(resp *http.Response) time.Duration {
	ra := retryAfter(resp)
	if ra <= 0 {
		return d.pollDefault
	}
	return min(max(ra, d.pollMin), d.pollMax)
}

// sleep waits for dur or until ctx ends.
func sleep(ctx context.Context, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// begin starts a long-running operation with ctx capturing the initial
// response, so the first wait honours its Retry-After too.
func begin[T any](ctx context.Context, start func(ctx context.Context) (*runtime.Poller[T], error)) (*runtime.Poller[T], *http.Response, error) {
	var raw *http.Response
	p, err := start(policy.WithCaptureResponse(ctx, &raw))
	return p, raw, err
}

// wait drives a poller to its end by hand: Poll, then sleep for the
// server's Retry-After (bounded), until Done; then Result.
func wait[T any](ctx context.Context, d *Driver, p *runtime.Poller[T], first *http.Response) (T, error) {
	resp := first
	for !p.Done() {
		if err := sleep(ctx, d.pollDelay(resp)); err != nil {
			var zero T
			return zero, err
		}
		r, err := p.Poll(ctx)
		if err != nil {
			var zero T
			return zero, fmt.Errorf("poll: %w", err)
		}
		resp = r
	}
	return p.Result(ctx)
}

// run starts a long-running operation and waits for its result.
func run[T any](ctx context.Context, d *Driver, start func(ctx context.Context) (*runtime.Poller[T], error)) (T, error) {
	p, raw, err := begin(ctx, start)
	if err != nil {
		var zero T
		return zero, err
	}
	return wait(ctx, d, p, raw)
}

// Value helpers: inputs are JSON-like, and numbers may come back from a
// plan file as float64.

func to[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func str(v providers.Values, k string) string {
	s, _ := v[k].(string)
	return s
}

func boolean(v providers.Values, k string) bool {
	b, _ := v[k].(bool)
	return b
}

func integer(v providers.Values, k string) int {
	switch n := v[k].(type) {
	case int:
		return n
	case int32:
		return int(n)
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

func number(v providers.Values, k string) float64 {
	switch n := v[k].(type) {
	case int:
		return float64(n)
	case float64:
		return n
	case float32:
		return float64(n)
	}
	return 0
}

func values(v providers.Values, k string) providers.Values {
	switch m := v[k].(type) {
	case map[string]any:
		return m
	case providers.Values:
		return m
	}
	return nil
}

func strList(v providers.Values, k string) []string {
	var out []string
	switch l := v[k].(type) {
	case []any:
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, l...)
	}
	return out
}

func strMap(v providers.Values, k string) map[string]string {
	out := map[string]string{}
	switch m := v[k].(type) {
	case map[string]any:
		for k, e := range m {
			if s, ok := e.(string); ok {
				out[k] = s
			}
		}
	case map[string]string:
		for k, e := range m {
			out[k] = e
		}
	}
	return out
}

func ptrList(ss []string) []*string {
	if ss == nil {
		return nil
	}
	out := make([]*string, len(ss))
	for i, s := range ss {
		out[i] = to(s)
	}
	return out
}

func fromPtrList(ps []*string) []string {
	var out []string
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

func ptrMap(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to(v)
	}
	return out
}

func anyMap(m map[string]*string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = deref(v)
	}
	return out
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// orderLike returns live in the order of want when both hold the same set,
// else sorted: Azure does not promise an order for sets.
func orderLike(live, want []string) []any {
	if sameSet(live, want) {
		return anyList(want)
	}
	out := append([]string(nil), live...)
	sort.Strings(out)
	return anyList(out)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// normLocation is Azure's canonical location name ("West Europe" →
// "westeurope").
func normLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(l, " ", ""))
}

// minorOf parses "1.33" or "1.33.2" into 1, 33.
func minorOf(v string) (int, int, bool) {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(parts[1])
	return a, b, err1 == nil && err2 == nil
}

// minorString returns "1.33" for "1.33.2"; v itself when it is no version.
func minorString(v string) string {
	a, b, ok := minorOf(v)
	if !ok {
		return v
	}
	return fmt.Sprintf("%d.%d", a, b)
}
