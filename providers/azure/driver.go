// Package azure is regionctl's Azure driver: it expands a region into a
// resource group, a virtual network with a node subnet, an AKS managed
// cluster (whose first node pool is the required System pool), User agent
// pools, static public IPs for external load balancers and the role
// assignments of spec.access, and manages them through the official Azure
// SDK for Go (azcore, azidentity, armcontainerservice/v6, armnetwork/v9,
// armresources, armauthorization/v2). See
// docs/providers/azure.md for the mapping from spec to resources.
//
// One Driver serves every Azure region and subscription: clients are built
// per subscription from one credential and cached. Long-running operations
// are polled by hand at the server's Retry-After, never with
// PollUntilDone's fixed 30-second default.
package azure

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
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
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
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
// retried by the SDK's retry policy, at the server's Retry-After: 25
// attempts in all, as the other drivers (10 retries were too few under
// the fault profile of issue 17).
const MaxRetries = 24

// Driver is the Azure providers.Driver. Build it with New. Its embedded
// kit.Router serves Create, Read, Update, Delete, Find and UpgradeState
// from the resource types declared in router.
type Driver struct {
	*kit.Router

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
	// drain is how agent pools are drained before they are deleted (Label
	// and Value set per pool).
	drain kubernetes.DrainOptions

	// budgets pace every ARM request (per subscription: reads, writes,
	// deletes), as ARM meters them.
	budgets *budget.Budgets
	// lists coalesces the list calls of concurrent ReadMany calls.
	lists kit.Batcher[any]
	// clusterOps runs the operations on one AKS cluster and its agent
	// pools one at a time (AKS refuses a second while one runs).
	clusterOps kit.Queues

	mu      sync.Mutex
	clients map[string]*clients
}

var (
	_ providers.Driver        = (*Driver)(nil)
	_ providers.Finder        = (*Driver)(nil)
	_ providers.Validator     = (*Driver)(nil)
	_ providers.StateUpgrader = (*Driver)(nil)
	_ providers.Lister        = (*Driver)(nil)
)

type clients struct {
	groups   *armresources.ResourceGroupsClient
	vnets    *armnetwork.VirtualNetworksClient
	subnets  *armnetwork.SubnetsClient
	pips     *armnetwork.PublicIPAddressesClient
	clusters *armcontainerservice.ManagedClustersClient
	pools    *armcontainerservice.AgentPoolsClient
	// assignments are the role assignments of spec.access (access.go).
	assignments *armauthorization.RoleAssignmentsClient
}

// sandboxRetryCap bounds how long the sandbox makes a throttled call wait.
const sandboxRetryCap = 50 * time.Millisecond

// capRetryAfter is a per-try policy (sandbox only) that shortens the
// Retry-After of a throttled or failed reply to sandboxRetryCap, so the
// SDK's retry policy still honours the header but tests stay fast.
type capRetryAfter struct{}

func (capRetryAfter) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil && resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && kit.RetryAfter(resp.Header) > sandboxRetryCap {
		resp.Header.Set("Retry-After-Ms", strconv.Itoa(int(sandboxRetryCap/time.Millisecond)))
	}
	return resp, err
}

// New is the registry factory. Outside the sandbox it builds the credential
// with azidentity.NewDefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI) and takes the default subscription from
// AZURE_SUBSCRIPTION_ID (spec.overrides.azure.subscriptionId wins per
// region); it makes no API call. With opts.Sandbox it never reads the
// user's credentials: it sends every call to the sandbox's ARM endpoint
// (opts.SandboxEndpoints["azure"], over https) with tokens the sandbox's
// token endpoint issues to the sandbox's service principal (sandboxAuth).
func New(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	d := &Driver{clients: map[string]*clients{}, sandbox: opts.Sandbox, drain: kubernetes.DrainOptions{Timeout: opts.DrainTimeout},
		budgets: budget.New(opts.RateBudgets.Tables(budget.Published), budget.ClientMargin)}
	d.lists.Linger = listLinger
	d.kube = d.kubeHandler(opts.ForceConflicts)
	d.Router = d.router()
	d.opts.Retry = policy.RetryOptions{MaxRetries: MaxRetries, StatusCodes: retriedStatus}
	d.opts.PerRetryPolicies = []policy.Policy{paceRequests{d.budgets}, reportRetries{}}
	if opts.Sandbox {
		ep := strings.TrimSuffix(opts.SandboxEndpoints["azure"], "/")
		if ep == "" {
			return nil, errors.New("azure: sandbox mode needs SandboxEndpoints[\"azure\"] (the ARM emulator's base URL)")
		}
		auth, err := newSandboxAuth(ep)
		if err != nil {
			return nil, err
		}
		d.cred = auth
		d.subscription = SandboxSubscription
		d.opts.Transport = auth
		d.opts.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: auth.secure + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: auth.secure, Audience: "https://management.azure.com"},
			},
		}
		d.opts.DisableRPRegistration = true
		d.opts.PerRetryPolicies = append(d.opts.PerRetryPolicies, capRetryAfter{})
		d.lists.Linger = sandboxListLinger
		d.opts.Retry.RetryDelay = 10 * time.Millisecond
		d.opts.Retry.MaxRetryDelay = 200 * time.Millisecond
		// Polls wait as long as the emulator's Retry-After says the
		// operation still runs (at most 2 s), as against ARM.
		d.pollDefault, d.pollMin, d.pollMax = 20*time.Millisecond, 0, 2*time.Second
		d.drain.Interval = 100 * time.Millisecond
		auth.retry, auth.perRetry = d.opts.Retry, d.opts.PerRetryPolicies
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
	c.assignments, e = armauthorization.NewRoleAssignmentsClient(sub, d.cred, o)
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
		RateBudgeted:        true,
		Resources:           d.Schemas(),
	}
}

// env is what every call of an Azure resource type works with: the driver
// and the clients of the subscription the call's ID or inputs name.
type env struct {
	d  *Driver
	cl *clients
}

// call is one operation on one Azure resource.
type call[In, Out any] = kit.Call[*env, In, Out]

// connect picks the clients of the call's subscription: that of its ID, of
// an ARM ID among its inputs, its subscription_id input, or the default.
// An ID that is no ARM ID names nothing: the handlers report it gone
// without a client.
func (d *Driver) connect(_ context.Context, t kit.Target) (*env, error) {
	e := &env{d: d}
	if t.ID != "" && subOfID(t.ID) == "" {
		return e, nil
	}
	sub := subOfID(t.ID)
	if sub == "" {
		var err error
		if sub, err = t.String("subscription_id"); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"resource_group_id", "virtual_network_id", "cluster_id"} {
		if sub != "" {
			break
		}
		id, err := t.String(k)
		if err != nil {
			return nil, err
		}
		sub = subOfID(id)
	}
	cl, err := d.clientsFor(cmp.Or(sub, d.subscription))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Address, err)
	}
	e.cl = cl
	return e, nil
}

// subscriptionOf is the subscription of an ARM ID, or the default.
func (d *Driver) subscriptionOf(id string) string {
	return cmp.Or(subOfID(id), d.subscription)
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

// router declares every resource type of the driver.
func (d *Driver) router() *kit.Router {
	return kit.MustNew(kit.Options{Name: "azure", Classify: classify, Message: errorLine}, append([]kit.Declaration{
		kit.Type[*env, groupIn, nameOut]{Name: TypeResourceGroup, Description: "a resource group", Handler: groupHandler{}, Connect: d.connect},
		kit.Type[*env, vnetIn, nameOut]{Name: TypeVirtualNetwork, Description: "a virtual network", Handler: vnetHandler{}, Connect: d.connect},
		kit.Type[*env, subnetIn, nameOut]{Name: TypeSubnet, Description: "the nodes' subnet of the virtual network", Handler: subnetHandler{}, Connect: d.connect},
		kit.Type[*env, clusterIn, clusterOut]{Name: TypeCluster, Description: "an AKS managed cluster with its System pool", Handler: clusterHandler{}, Connect: d.connect},
		kit.Type[*env, nodePoolIn, nodePoolOut]{Name: TypeNodePool, Description: "an AKS User agent pool", Handler: poolHandler{}, Connect: d.connect},
		kit.Type[*env, pipIn, pipOut]{Name: TypePublicIP, Description: "a static Standard public IP for a load balancer", Handler: pipHandler{}, Connect: d.connect},
		kit.Type[*env, roleAssignmentIn, roleAssignmentOut]{Name: TypeRoleAssignment, Description: "an Azure role assignment at an AKS cluster's scope (spec.access)", Handler: roleAssignmentHandler{}, Connect: d.connect},
	}, d.kube.Types()...)...)
}

// tags are the tags every resource that takes tags gets.
func tags(m kit.Meta) map[string]*string {
	region, _, _, err := providers.SplitAddress(m.Address)
	t := map[string]*string{TagManagedBy: to(managedByValue), TagAddress: to(m.Address)}
	if err == nil {
		t[TagRegion] = to(region)
	}
	if m.Key != "" {
		t[TagIdempotencyKey] = to(m.Key)
	}
	return t
}

// matchTags reports whether tags identify the call's resource: the
// idempotency key when there is one, else the address.
func matchTags(m kit.Meta, tags map[string]*string) bool {
	if m.Key != "" {
		return deref(tags[TagIdempotencyKey]) == m.Key
	}
	return deref(tags[TagAddress]) == m.Address
}

// notOurs is the error for an object with the wanted name that this
// create did not make: regionctl never silently takes over an object.
func notOurs(what, name string, tags map[string]*string) error {
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
	st, exists, err := awaitTerminal(ctx, d, get)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("%s disappeared while being provisioned", what)
	}
	return provisioned(what, "", st)
}

// awaitTerminal polls get until the object's provisioning state is
// terminal (Succeeded, Failed, Canceled) or the object is gone, and
// returns the last state and whether it exists.
func awaitTerminal(ctx context.Context, d *Driver, get func() (state *string, exists bool, err error)) (*string, bool, error) {
	for {
		st, exists, err := get()
		if err != nil || !exists || !inProgress(st) {
			return st, exists, err
		}
		if err := kit.Sleep(ctx, d.pollDelay(nil)); err != nil {
			return st, exists, err
		}
	}
}

// failedState reports whether a provisioning state says ARM failed to
// make the object (Read reports it with CreateFailed).
func failedState(state *string) bool { return strings.EqualFold(deref(state), "failed") }

// createFailed reports whether an AKS object's provisioning state says ARM
// failed to make it: Failed, and not recorded Succeeded before. A cluster
// or pool that was Succeeded and then failed an update (an upgrade, a
// scale) keeps running; AKS leaves it Failed until its next operation
// succeeds, which the next apply's update is. Replacing it would destroy
// a working cluster.
func createFailed(state *string, recorded string) bool {
	return failedState(state) && !strings.EqualFold(recorded, "Succeeded")
}

// errorCode is the ARM error code of err, or "".
func errorCode(err error) string {
	if re := respErr(err); re != nil {
		return re.ErrorCode
	}
	return ""
}

// classify returns the class of an ARM error, for the engine.
func classify(err error) providers.ErrorClass {
	re := respErr(err)
	switch {
	case isNotFound(err):
		return providers.ClassNotFound
	case re == nil:
		return providers.ClassUnknown
	case re.StatusCode == http.StatusTooManyRequests:
		return providers.ClassThrottled
	case conflictInProgress(err) || inUse(err):
		return providers.ClassBusy
	case re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
		return providers.ClassPermanent
	}
	return providers.ClassUnknown
}

// pollDelay is how long to wait before the next poll: the server's
// Retry-After bounded to [pollMin, pollMax], or pollDefault without one.
func (d *Driver) pollDelay(resp *http.Response) time.Duration {
	var hint time.Duration
	if resp != nil {
		hint = kit.RetryAfter(resp.Header)
	}
	return d.polls().Next(hint)
}

// polls is the backoff of polls: the server's Retry-After when it gives
// one, else pollDefault (with jitter).
func (d *Driver) polls() *kit.Waits {
	return kit.Backoff{Initial: d.pollDefault, Min: d.pollMin, Max: d.pollMax, Multiplier: 1, Jitter: jitter}.Start()
}

// jitter is the share of each backoff wait drawn at random.
const jitter = 0.2

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
		if err := kit.Sleep(ctx, d.pollDelay(resp)); err != nil {
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

// Value helpers for the SDK's pointers.

func to[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
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

func fromPtrMap(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = deref(v)
	}
	return out
}

// normLocation is Azure's canonical location name ("West Europe" →
// "westeurope").
func normLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(l, " ", ""))
}

// minorString returns "1.33" for "1.33.2"; v itself when it is no version.
func minorString(v string) string {
	a, b, ok := providers.ParseMinor(v)
	if !ok {
		return v
	}
	return fmt.Sprintf("%d.%d", a, b)
}
