// Package gcp is regionctl's Google Cloud driver: it expands a region into
// a custom-mode VPC network, a subnetwork with secondary ranges for pods
// and services, a Cloud Router with Cloud NAT, a regional VPC-native GKE
// cluster with Workload Identity and one node pool per spec pool, regional
// static addresses for load balancers, and inside the cluster the spec's
// StorageClasses (PD CSI driver) and LoadBalancer Services bound to those
// addresses; it manages them through the official clients
// (cloud.google.com/go/compute/apiv1 over REST,
// cloud.google.com/go/container/apiv1 over gRPC, client-go through
// providers/kubernetes). See docs/providers/gcp.md and docs/mapping.md for
// the mapping from spec to resources.
//
// Credentials come from Application Default Credentials only — the GKE API
// servers get an OAuth2 access token from them, made at call time and never
// stored; the project from spec.overrides.gcp.project or the ADC project.
// One Driver serves every project and location; the clients are built on
// first use.
package gcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	container "cloud.google.com/go/container/apiv1"
	"github.com/google/uuid"
	"github.com/googleapis/gax-go/v2/apierror"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// Label keys every resource that takes labels carries (GKE clusters, node
// pools, addresses). Values are limited to [a-z0-9_-]{0,63}, so the address
// and the idempotency key are hashed. Networks, subnetworks and routers
// take no labels: they carry the same facts in their description.
const (
	LabelManagedBy      = "managed-by"
	LabelRegion         = "regionctl-region"
	LabelAddress        = "regionctl-address"
	LabelIdempotencyKey = "regionctl-key"
	managedByValue      = "regionctl"
)

// SandboxProject is the project the driver uses in sandbox mode when the
// spec names none.
const SandboxProject = "sandbox-project"

// MaxAttempts is how many times a throttled or failed call is tried.
const MaxAttempts = 10

// requestIDSpace namespaces the UUIDs derived from idempotency keys for
// Compute Engine's requestId.
var requestIDSpace = uuid.MustParse("6f1c1c55-2a4e-4f55-9d35-7a3c0e6a9b21")

// Driver is the GCP providers.Driver. Build it with New.
type Driver struct {
	sandbox bool
	// computeEndpoint and containerEndpoint are the sandbox's endpoints.
	computeEndpoint, containerEndpoint string
	// project is the default project (ADC's, or SandboxProject).
	project string
	adcErr  error
	// pollMin and pollMax bound operation polling.
	pollMin, pollMax time.Duration
	// retryMin and retryMax bound the backoff of retried calls.
	retryMin, retryMax time.Duration
	// busyWait bounds retries of calls refused because another operation
	// runs on the cluster, or because a dependent object is still there.
	busyWait time.Duration

	// forceConflicts lets server-side apply of in-cluster objects take
	// over fields another manager owns.
	forceConflicts bool
	// kube creates, reads, updates and deletes the in-cluster objects.
	kube *kubernetes.Handler

	mu sync.Mutex
	cl *clients

	// tsMu guards ts, the ADC token source for GKE API servers (made on
	// first use).
	tsMu sync.Mutex
	ts   oauth2.TokenSource
}

var (
	_ providers.Driver    = (*Driver)(nil)
	_ providers.Finder    = (*Driver)(nil)
	_ providers.Validator = (*Driver)(nil)
)

type clients struct {
	networks  *compute.NetworksClient
	subnets   *compute.SubnetworksClient
	routers   *compute.RoutersClient
	addresses *compute.AddressesClient
	gke       *container.ClusterManagerClient
}

// New is the registry factory. Outside the sandbox it looks up Application
// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
// application-default login, workload identity federation, the metadata
// server) only to learn their project; it makes no API call, and a
// missing ADC is reported when a plan needs the project, so `regionctl
// validate` works offline. With opts.Sandbox it never reads the user's
// credentials: cloud API calls go unauthenticated to
// SandboxEndpoints["gcp-compute"] (REST) and SandboxEndpoints["gcp-container"]
// (plain gRPC), the default project is SandboxProject, and the access
// tokens for the clusters' API servers come from the service account key
// file the sandbox publishes on its Compute endpoint (fetched on first use).
func New(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	d := &Driver{
		sandbox: opts.Sandbox,
		pollMin: 2 * time.Second, pollMax: 15 * time.Second,
		retryMin: time.Second, retryMax: 30 * time.Second,
		busyWait:       30 * time.Minute,
		forceConflicts: opts.ForceConflicts,
	}
	d.kube = d.kubeHandler()
	if opts.Sandbox {
		d.computeEndpoint = opts.SandboxEndpoints["gcp-compute"]
		d.containerEndpoint = opts.SandboxEndpoints["gcp-container"]
		if d.computeEndpoint == "" || d.containerEndpoint == "" {
			return nil, errors.New(`gcp: sandbox mode needs SandboxEndpoints["gcp-compute"] (Compute REST base URL) and SandboxEndpoints["gcp-container"] (GKE gRPC address)`)
		}
		d.project = SandboxProject
		d.pollMin, d.pollMax = 20*time.Millisecond, 250*time.Millisecond
		d.retryMin, d.retryMax = 10*time.Millisecond, 200*time.Millisecond
		d.busyWait = time.Minute
		return d, nil
	}
	if opts.Offline {
		d.project = offlineDefaultProject() // validate: no credentials lookup
		return d, nil
	}
	creds, err := google.FindDefaultCredentials(ctx, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		d.adcErr = err
	} else {
		d.project = creds.ProjectID
	}
	for _, env := range []string{"GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"} {
		if d.project == "" {
			d.project = os.Getenv(env)
		}
	}
	return d, nil
}

// adcHint says why ADC named no project, for the "no project" diagnostic.
func (d *Driver) adcHint() string {
	if d.adcErr != nil {
		return fmt.Sprintf(" (Application Default Credentials: %v)", d.adcErr)
	}
	return ""
}

// clients builds the API clients on first use.
func (d *Driver) clients(ctx context.Context) (*clients, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cl != nil {
		return d.cl, nil
	}
	var copts, gopts []option.ClientOption
	if d.sandbox {
		copts = []option.ClientOption{option.WithEndpoint(d.computeEndpoint), option.WithoutAuthentication()}
		gopts = []option.ClientOption{option.WithEndpoint(d.containerEndpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
	}
	var c clients
	var err error
	if c.networks, err = compute.NewNetworksRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp: compute networks client: %w", err)
	}
	if c.subnets, err = compute.NewSubnetworksRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp: compute subnetworks client: %w", err)
	}
	if c.routers, err = compute.NewRoutersRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp: compute routers client: %w", err)
	}
	if c.addresses, err = compute.NewAddressesRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp: compute addresses client: %w", err)
	}
	if c.gke, err = container.NewClusterManagerClient(ctx, gopts...); err != nil {
		return nil, fmt.Errorf("gcp: GKE client: %w", err)
	}
	d.cl = &c
	return d.cl, nil
}

// Close releases the API clients.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cl == nil {
		return nil
	}
	errs := []error{d.cl.networks.Close(), d.cl.subnets.Close(), d.cl.routers.Close(), d.cl.addresses.Close(), d.cl.gke.Close()}
	d.cl = nil
	return errors.Join(errs...)
}

// Capabilities describes GKE.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Name:                "gcp",
		Description:         "Google Cloud: VPC network, Cloud NAT, regional GKE with node pools, static addresses",
		KubernetesVersions:  slices.Clone(KubernetesVersions),
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
	// the same key made) and waits until it is usable; it returns the ID.
	create(ctx context.Context, c *call) (string, error)
	// read reports the live inputs and outputs of c.id; exists false when
	// it is gone.
	read(ctx context.Context, c *call) (exists bool, inputs, outputs providers.Values, err error)
	// update changes c.id in place to c.in.
	update(ctx context.Context, c *call, changed []string) error
	// delete removes c.id and waits until it is gone; gone already is fine.
	delete(ctx context.Context, c *call) error
	// find returns the ID of the resource labelled (or described) with
	// c.key, or with c.address when there is no key, or "".
	find(ctx context.Context, c *call) (string, error)
}

var handlers = map[string]handler{
	TypeNetwork:    networkHandler{},
	TypeSubnetwork: subnetHandler{},
	TypeRouter:     routerHandler{},
	TypeAddress:    addressHandler{},
	TypeCluster:    clusterHandler{},
	TypeNodePool:   nodePoolHandler{},
}

// call is one operation on one resource.
type call struct {
	d       *Driver
	cl      *clients
	typ     string
	address string
	key     string
	id      string
	// project and loc (the region or GKE location) come from the inputs.
	project, loc string
	// in are the desired (resolved) inputs; prev the recorded ones.
	in, prev providers.Values
}

var errNoUpdate = errors.New("cannot be changed in place (the engine should have planned a replacement)")

func (d *Driver) newCall(ctx context.Context, typ, address, key, id string, in, prev providers.Values) (handler, *call, error) {
	h, ok := handlers[typ]
	if !ok {
		return nil, nil, fmt.Errorf("gcp: %s: unknown resource type %q", address, typ)
	}
	cl, err := d.clients(ctx)
	if err != nil {
		return nil, nil, err
	}
	c := &call{d: d, cl: cl, typ: typ, address: address, key: key, id: id, in: in, prev: prev}
	c.project = first(str(in, "project"), str(prev, "project"))
	c.loc = first(str(in, "region"), str(in, "location"), str(prev, "region"), str(prev, "location"))
	return h, c, nil
}

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func checkResolved(in providers.Values) error {
	if refs := providers.Refs(map[string]any(in)); len(refs) > 0 {
		return fmt.Errorf("inputs hold unresolved references to %s", strings.Join(refs, ", "))
	}
	return nil
}

// Create makes one resource. It first looks for one an interrupted create
// with the same idempotency key made (names are deterministic, and the
// object's labels or description carry the key), so a retry never makes a
// duplicate.
func (d *Driver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if kubernetes.Handles(req.Type) {
		resp, err := d.kube.Create(ctx, req)
		if err != nil {
			err = fmt.Errorf("gcp: %w", err)
		}
		return resp, err
	}
	if err := checkResolved(req.Inputs); err != nil {
		return providers.CreateResponse{}, fmt.Errorf("gcp: create %s: %w", req.Address, err)
	}
	if err := ctx.Err(); err != nil {
		return providers.CreateResponse{}, fmt.Errorf("gcp: create %s: %w", req.Address, err)
	}
	h, c, err := d.newCall(ctx, req.Type, req.Address, req.IdempotencyKey, "", req.Inputs, nil)
	if err != nil {
		return providers.CreateResponse{}, err
	}
	id, err := h.create(ctx, c)
	if err != nil {
		// No ID: a failed or interrupted create stays pending, and the next
		// run finds it (Find) or creates it again under the same key, which
		// replaces a broken object of that key.
		return providers.CreateResponse{}, fmt.Errorf("gcp: create %s: %w", req.Address, err)
	}
	c.id = id
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.CreateResponse{ID: id}, fmt.Errorf("gcp: create %s: read back %s: %w", req.Address, id, err)
	}
	if !exists {
		return providers.CreateResponse{}, fmt.Errorf("gcp: create %s: %s is gone right after it was created", req.Address, id)
	}
	return providers.CreateResponse{ID: id, Outputs: out}, nil
}

// Read returns the live inputs (in the shape Expand produced) and outputs.
func (d *Driver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	in := req.Instance
	if in.ID == "" {
		return providers.ReadResponse{}, nil
	}
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Read(ctx, req)
		if err != nil {
			err = fmt.Errorf("gcp: %w", err)
		}
		return resp, err
	}
	h, c, err := d.newCall(ctx, in.Type, in.Address, "", in.ID, in.Inputs, in.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	exists, inputs, outputs, err := h.read(ctx, c)
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("gcp: read %s (%s): %w", in.Address, in.ID, err)
	}
	if !exists {
		return providers.ReadResponse{}, nil
	}
	return providers.ReadResponse{Exists: true, Inputs: inputs, Outputs: outputs}, nil
}

// Update changes one resource in place and waits until it is usable.
func (d *Driver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	if kubernetes.Handles(req.Instance.Type) {
		resp, err := d.kube.Update(ctx, req)
		if err != nil {
			err = fmt.Errorf("gcp: %w", err)
		}
		return resp, err
	}
	if err := checkResolved(req.Inputs); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("gcp: update %s: %w", req.Instance.Address, err)
	}
	in := req.Instance
	h, c, err := d.newCall(ctx, in.Type, in.Address, "", in.ID, req.Inputs, in.Inputs)
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	if err := h.update(ctx, c, req.Changed); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("gcp: update %s (%s): %w", in.Address, in.ID, err)
	}
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("gcp: update %s: read back: %w", in.Address, err)
	}
	if !exists {
		return providers.UpdateResponse{}, fmt.Errorf("gcp: update %s (%s): %w", in.Address, in.ID, providers.ErrNotFound)
	}
	return providers.UpdateResponse{Outputs: out}, nil
}

// Delete removes one resource and waits until it is gone. A resource that
// is already gone is deleted.
func (d *Driver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	in := req.Instance
	if in.ID == "" {
		return providers.DeleteResponse{}, nil
	}
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Delete(ctx, req)
		if err != nil {
			err = fmt.Errorf("gcp: %w", err)
		}
		return resp, err
	}
	h, c, err := d.newCall(ctx, in.Type, in.Address, "", in.ID, in.Inputs, in.Inputs)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	if err := h.delete(ctx, c); err != nil {
		return providers.DeleteResponse{}, fmt.Errorf("gcp: delete %s (%s): %w", in.Address, in.ID, err)
	}
	return providers.DeleteResponse{}, nil
}

// Find looks for the resource an interrupted create made: names are
// derived from the spec, so it reads the object of that name and checks
// its labels (clusters, node pools, addresses) or description (networks,
// subnetworks, routers) for the idempotency key, or the address when no
// key is given. An object a failed operation left broken (GKE status
// ERROR) is not adopted: Create replaces it.
func (d *Driver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	if kubernetes.Handles(req.Type) {
		resp, err := d.kube.Find(ctx, req)
		if err != nil {
			err = fmt.Errorf("gcp: %w", err)
		}
		return resp, err
	}
	h, c, err := d.newCall(ctx, req.Type, req.Address, req.IdempotencyKey, "", req.Inputs, nil)
	if err != nil {
		return providers.FindResponse{}, err
	}
	id, err := h.find(ctx, c)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("gcp: find %s: %w", req.Address, err)
	}
	if id == "" {
		return providers.FindResponse{}, nil
	}
	c.id = id
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("gcp: find %s: read %s: %w", req.Address, id, err)
	}
	if !exists {
		return providers.FindResponse{}, nil
	}
	return providers.FindResponse{Found: true, ID: id, Outputs: out}, nil
}

// ---- labels, descriptions, request IDs ----

// hashLabel fits any string into a label value.
func hashLabel(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:32]
}

// regionOf is the region name of an address, as a label value.
func regionOf(address string) string {
	region, _, _, err := providers.SplitAddress(address)
	if err != nil {
		return ""
	}
	if len(region) > 63 {
		return hashLabel(region)
	}
	return region
}

// labels are the labels every resource that takes labels gets.
func (c *call) labels() map[string]string {
	l := map[string]string{
		LabelManagedBy: managedByValue,
		LabelRegion:    regionOf(c.address),
		LabelAddress:   hashLabel(c.address),
	}
	if c.key != "" {
		l[LabelIdempotencyKey] = hashLabel(c.key)
	}
	return l
}

// matchLabels reports whether labels identify this call's resource: the
// idempotency key when there is one, else the address.
func (c *call) matchLabels(l map[string]string) bool {
	if c.key != "" {
		return l[LabelIdempotencyKey] == hashLabel(c.key)
	}
	return l[LabelAddress] == hashLabel(c.address)
}

// sameAddressLabels reports whether labels say regionctl made the object
// for this call's address (under whatever key).
func (c *call) sameAddressLabels(l map[string]string) bool {
	return l[LabelManagedBy] == managedByValue && l[LabelAddress] == hashLabel(c.address)
}

// description is what networks, subnetworks and routers, which take no
// labels, carry instead: "regionctl region=R address=H key=K".
func (c *call) description() string {
	d := "regionctl region=" + regionOf(c.address) + " address=" + hashLabel(c.address)
	if c.key != "" {
		d += " key=" + hashLabel(c.key)
	}
	return d
}

// descriptionLabels parses a description written by description.
func descriptionLabels(desc string) map[string]string {
	fields := strings.Fields(desc)
	if len(fields) == 0 || fields[0] != managedByValue {
		return nil
	}
	l := map[string]string{LabelManagedBy: managedByValue}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "region":
			l[LabelRegion] = v
		case "address":
			l[LabelAddress] = v
		case "key":
			l[LabelIdempotencyKey] = v
		}
	}
	return l
}

// requestID turns the idempotency key into a Compute Engine requestId (a
// UUID): a retried insert with the same key returns the first one's
// operation instead of a second object.
func (c *call) requestID() *string {
	if c.key == "" {
		return nil
	}
	s := uuid.NewSHA1(requestIDSpace, []byte(c.key)).String()
	return &s
}

// ---- errors and retries ----

func httpCode(err error) int {
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.HTTPCode() > 0 {
		return ae.HTTPCode()
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func grpcCode(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.GRPCStatus() != nil {
		return ae.GRPCStatus().Code()
	}
	return codes.Unknown
}

// reasons returns the error reasons a Compute Engine error carries
// ("notFound", "rateLimitExceeded", "resourceInUseByAnotherResource").
func reasons(err error) []string {
	var out []string
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.Reason() != "" {
		out = append(out, ae.Reason())
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		for _, e := range ge.Errors {
			out = append(out, e.Reason)
		}
	}
	return out
}

func hasReason(err error, rs ...string) bool {
	for _, r := range reasons(err) {
		if slices.Contains(rs, r) {
			return true
		}
	}
	return false
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	return httpCode(err) == 404 || grpcCode(err) == codes.NotFound || hasReason(err, "notFound")
}

// isAlreadyExists reports whether err says the name is taken.
func isAlreadyExists(err error) bool {
	if err == nil {
		return false
	}
	return httpCode(err) == 409 || grpcCode(err) == codes.AlreadyExists || hasReason(err, "alreadyExists")
}

// isRetryable reports whether a call may simply be tried again: throttling,
// a server error, or a lost connection. Creates are safe to retry: compute
// inserts carry a requestId, and a GKE create that did happen is found by
// name and label.
func isRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch httpCode(err) {
	case 429, 500, 502, 503, 504:
		return true
	case 403:
		return hasReason(err, "rateLimitExceeded", "userRateLimitExceeded")
	}
	switch grpcCode(err) {
	case codes.ResourceExhausted, codes.Unavailable, codes.Internal:
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && !ne.Timeout()
}

// isBusy reports whether GKE refused a call because another operation is
// running on the cluster (FailedPrecondition "… operation … try again").
func isBusy(err error) bool {
	if grpcCode(err) != codes.FailedPrecondition && grpcCode(err) != codes.Aborted {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "operation") || strings.Contains(msg, "try again")
}

// isInUse reports whether Compute Engine refused a delete because another
// resource still uses the object (a GKE cluster being deleted still holds
// the subnetwork for a while).
func isInUse(err error) bool {
	return hasReason(err, "resourceInUseByAnotherResource") ||
		strings.Contains(strings.ToLower(fmt.Sprint(err)), "resourceinusebyanotherresource") ||
		strings.Contains(strings.ToLower(fmt.Sprint(err)), "is already being used by")
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

// retry calls fn until it succeeds or fails with an error that is not
// retryable, at most MaxAttempts times, backing off between attempts.
func (d *Driver) retry(ctx context.Context, fn func() error) error {
	delay := d.retryMin
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= MaxAttempts || !isRetryable(err) {
			return err
		}
		if serr := sleep(ctx, delay); serr != nil {
			return errors.Join(err, serr)
		}
		delay = min(delay*2, d.retryMax)
	}
}

// retryWhile retries fn (itself retried by retry) while busy(err) holds,
// for at most d.busyWait.
func (d *Driver) retryWhile(ctx context.Context, busy func(error) bool, fn func() error) error {
	deadline := time.Now().Add(d.busyWait)
	delay := d.pollMin
	for {
		err := d.retry(ctx, fn)
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		if serr := sleep(ctx, delay); serr != nil {
			return errors.Join(err, serr)
		}
		delay = min(delay*2, d.pollMax)
	}
}

// poll calls fn until it reports done, backing off from the driver's
// minimum to its maximum polling delay.
func (d *Driver) poll(ctx context.Context, fn func() (bool, error)) error {
	delay := d.pollMin
	for {
		done, err := fn()
		if err != nil || done {
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(delay*2, d.pollMax)
	}
}

// ---- value helpers: inputs are JSON-like, and numbers may come back from
// a plan file as float64 ----

func str(v providers.Values, k string) string {
	s, _ := v[k].(string)
	return s
}

func boolean(v providers.Values, k string) bool {
	b, _ := v[k].(bool)
	return b
}

func integer(v providers.Values, k string) int {
	return toInt(v[k])
}

func toInt(x any) int {
	switch n := x.(type) {
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

// orderLike returns live in the order of want when both hold the same set,
// else sorted: the cloud does not promise an order for sets.
func orderLike(live, want []string) []any {
	if sameSet(live, want) {
		return anyList(want)
	}
	out := slices.Clone(live)
	sort.Strings(out)
	return anyList(out)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

// lastSegment is the name at the end of a URL or resource path.
func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// resourcePath is the "projects/…" part of a Compute Engine URL, so a
// selfLink and a relative path of the same object compare equal.
func resourcePath(s string) string {
	if i := strings.Index(s, "projects/"); i >= 0 {
		return s[i:]
	}
	return s
}

// sameLink reports whether live names the same object as want and, if so,
// returns want (the recorded form), else live.
func sameLink(live, want string) string {
	if live != "" && want != "" && resourcePath(live) == resourcePath(want) {
		return want
	}
	return live
}
