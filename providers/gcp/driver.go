// Package gcp is regionctl's Google Cloud driver: it expands a region into
// a custom-mode VPC network, a subnetwork with secondary ranges for pods
// and services, a Cloud Router with Cloud NAT, a regional VPC-native GKE
// cluster with Workload Identity and one node pool per spec pool, regional
// static addresses for load balancers, and inside the cluster the spec's
// StorageClasses (PD CSI driver) and LoadBalancer Services bound to those
// addresses, and for spec.access a project IAM member
// (roles/container.clusterViewer) and a ClusterRoleBinding per principal;
// it manages them through the official clients
// (cloud.google.com/go/compute/apiv1 over REST,
// cloud.google.com/go/container/apiv1 over gRPC,
// google.golang.org/api/cloudresourcemanager/v3 over REST, client-go
// through providers/kubernetes). See docs/providers/gcp.md and docs/mapping.md for
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
	"net/http"
	"net/url"
	"os"
	"slices"
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
	"google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
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

// MaxAttempts is how many times a throttled or failed call is tried (as
// the AWS driver's: 10 were too few under the fault profile of issue 17).
const MaxAttempts = 25

// requestIDSpace namespaces the UUIDs derived from idempotency keys for
// Compute Engine's requestId.
var requestIDSpace = uuid.MustParse("6f1c1c55-2a4e-4f55-9d35-7a3c0e6a9b21")

// Driver is the GCP providers.Driver. Build it with New. Its embedded
// kit.Router serves Create, Read, Update, Delete, Find and UpgradeState
// from the resource types declared in router.
type Driver struct {
	*kit.Router

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
	// drain is how node pools are drained before they are deleted (Label
	// and Value set per pool).
	drain kubernetes.DrainOptions

	// budgets pace every API request (per project: Compute reads and
	// writes, GKE), as Google meters them.
	budgets *budget.Budgets
	// lists coalesces the list calls of concurrent ReadMany calls.
	lists kit.Batcher[any]
	// clusterOps runs the operations on one GKE cluster one at a time
	// (GKE refuses a second while one runs).
	clusterOps kit.Queues
	// policyEdits runs the driver's read-modify-writes of one project's
	// IAM policy one at a time, so grants of one apply do not race each
	// other into Google's etag conflicts.
	policyEdits kit.Queues

	mu sync.Mutex
	cl *clients

	// tsMu guards ts, the ADC token source for GKE API servers (made on
	// first use).
	tsMu sync.Mutex
	ts   oauth2.TokenSource
}

var (
	_ providers.Driver        = (*Driver)(nil)
	_ providers.Finder        = (*Driver)(nil)
	_ providers.Validator     = (*Driver)(nil)
	_ providers.StateUpgrader = (*Driver)(nil)
	_ providers.Lister        = (*Driver)(nil)
)

type clients struct {
	networks  *compute.NetworksClient
	subnets   *compute.SubnetworksClient
	routers   *compute.RoutersClient
	addresses *compute.AddressesClient
	gke       *container.ClusterManagerClient
	crm       *cloudresourcemanager.Service
}

// New is the registry factory. Outside the sandbox it looks up Application
// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
// application-default login, workload identity federation, the metadata
// server) only to learn their project; it makes no API call, and a
// missing ADC is reported when a plan needs the project, so `regionctl
// validate` works offline. With opts.Sandbox it never reads the user's
// credentials: cloud API calls go to SandboxEndpoints["gcp-compute"] (REST)
// and SandboxEndpoints["gcp-container"] (plain gRPC), the default project is
// SandboxProject, and the access tokens for those calls and for the
// clusters' API servers come from the service account key file the sandbox
// publishes on its Compute endpoint (fetched on first use).
func New(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	d := &Driver{
		sandbox: opts.Sandbox,
		pollMin: 2 * time.Second, pollMax: 15 * time.Second,
		retryMin: time.Second, retryMax: 30 * time.Second,
		busyWait:       30 * time.Minute,
		forceConflicts: opts.ForceConflicts,
		drain:          kubernetes.DrainOptions{Timeout: opts.DrainTimeout},
		budgets:        budget.New(opts.RateBudgets.Tables(budget.Published), budget.ClientMargin),
	}
	d.lists.Linger = listLinger
	d.kube = d.kubeHandler()
	d.Router = d.router()
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
		d.drain.Interval = 100 * time.Millisecond
		d.lists.Linger = sandboxListLinger
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
	var err error
	if d.sandbox {
		if copts, gopts, err = d.sandboxClientOptions(); err != nil {
			return nil, err
		}
	} else if copts, gopts, err = d.pacedClientOptions(ctx); err != nil {
		return nil, err
	}
	var c clients
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
	if c.crm, err = d.newResourceManager(ctx); err != nil {
		return nil, err
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
		RateBudgeted:        true,
		Resources:           d.Schemas(),
	}
}

// env is what every call of a GCP resource type works with: the driver,
// its clients, and the project and location (region, or GKE location) its
// inputs name.
type env struct {
	d            *Driver
	cl           *clients
	project, loc string
}

// call is one operation on one GCP resource.
type call[In, Out any] = kit.Call[*env, In, Out]

// connect builds the clients (once) and reads the call's project and
// location from its inputs.
func (d *Driver) connect(ctx context.Context, t kit.Target) (*env, error) {
	cl, err := d.clients(ctx)
	if err != nil {
		return nil, err
	}
	e := &env{d: d, cl: cl}
	if e.project, err = t.String("project"); err != nil {
		return nil, err
	}
	for _, k := range []string{"region", "location"} {
		if e.loc == "" {
			if e.loc, err = t.String(k); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// router declares every resource type of the driver.
func (d *Driver) router() *kit.Router {
	return kit.MustNew(kit.Options{Name: "gcp", Classify: classify, Message: errorLine}, append([]kit.Declaration{
		kit.Type[*env, networkIn, linkOut]{Name: TypeNetwork, Description: "a custom-mode VPC network", Handler: networkHandler{}, Connect: d.connect},
		kit.Type[*env, subnetIn, linkOut]{Name: TypeSubnetwork, Description: "a subnetwork with secondary ranges for pods and services", Handler: subnetHandler{}, Connect: d.connect},
		kit.Type[*env, routerIn, linkOut]{Name: TypeRouter, Description: "a Cloud Router with its Cloud NAT", Handler: routerHandler{}, Connect: d.connect},
		kit.Type[*env, addressIn, addressOut]{Name: TypeAddress, Description: "a regional static address for a load balancer", Handler: addressHandler{}, Connect: d.connect},
		kit.Type[*env, clusterIn, clusterOut]{Name: TypeCluster, Description: "a regional VPC-native GKE cluster", Handler: clusterHandler{}, Connect: d.connect},
		kit.Type[*env, nodePoolIn, nodePoolOut]{Name: TypeNodePool, Description: "a GKE node pool with autoscaling", Handler: nodePoolHandler{}, Connect: d.connect},
		kit.Type[*env, iamMemberIn, iamMemberOut]{Name: TypeProjectIAMMember, Description: "one member of one role in a project's IAM policy", Handler: iamMemberHandler{}, Connect: d.connect},
	}, append(d.kube.Types(), d.kube.AccessTypes()...)...)...)
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
func labels(m kit.Meta) map[string]string {
	l := map[string]string{
		LabelManagedBy: managedByValue,
		LabelRegion:    regionOf(m.Address),
		LabelAddress:   hashLabel(m.Address),
	}
	if m.Key != "" {
		l[LabelIdempotencyKey] = hashLabel(m.Key)
	}
	return l
}

// matchLabels reports whether labels identify the call's resource: the
// idempotency key when there is one, else the address.
func matchLabels(m kit.Meta, l map[string]string) bool {
	if m.Key != "" {
		return l[LabelIdempotencyKey] == hashLabel(m.Key)
	}
	return l[LabelAddress] == hashLabel(m.Address)
}

// sameAddressLabels reports whether labels say regionctl made the object
// for the call's address (under whatever key).
func sameAddressLabels(m kit.Meta, l map[string]string) bool {
	return l[LabelManagedBy] == managedByValue && l[LabelAddress] == hashLabel(m.Address)
}

// description is what networks, subnetworks and routers, which take no
// labels, carry instead: "regionctl region=R address=H key=K".
func description(m kit.Meta) string {
	d := "regionctl region=" + regionOf(m.Address) + " address=" + hashLabel(m.Address)
	if m.Key != "" {
		d += " key=" + hashLabel(m.Key)
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
func requestID(m kit.Meta) *string {
	if m.Key == "" {
		return nil
	}
	s := uuid.NewSHA1(requestIDSpace, []byte(m.Key)).String()
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

// errorLine is the driver's kit.Options.Message: Google's errors spread
// their details over lines (googleapi's "More details:" list and indented
// JSON, gax's error details after the message); they are shown on one.
func errorLine(err error) string {
	if s := err.Error(); strings.Contains(s, "\n") {
		return kit.OneLine(s)
	}
	return ""
}

// isNotReady reports whether Compute Engine refused a call because the
// object has an operation running (being created, or deleted).
func isNotReady(err error) bool { return hasReason(err, "resourceNotReady") }

// classify returns the class of a Compute Engine or GKE error, for the
// engine.
func classify(err error) providers.ErrorClass {
	switch {
	case isNotFound(err):
		return providers.ClassNotFound
	case httpCode(err) == 429 || grpcCode(err) == codes.ResourceExhausted || hasReason(err, "rateLimitExceeded", "userRateLimitExceeded"):
		return providers.ClassThrottled
	case isBusy(err) || isInUse(err) || isNotReady(err):
		return providers.ClassBusy
	case httpCode(err) == 400 || httpCode(err) == 403 ||
		slices.Contains([]codes.Code{codes.InvalidArgument, codes.PermissionDenied, codes.FailedPrecondition, codes.Unauthenticated}, grpcCode(err)):
		return providers.ClassPermanent
	}
	return providers.ClassUnknown
}

// retryHint is the wait a Google API asked for: gRPC's RetryInfo, or an
// HTTP Retry-After header.
func retryHint(err error) time.Duration {
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.Details().RetryInfo != nil {
		return ae.Details().RetryInfo.GetRetryDelay().AsDuration()
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return kit.RetryAfter(ge.Header)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return kit.RetryAfter(re.Response.Header)
	}
	return 0
}

// jitter is the share of each backoff wait drawn at random.
const jitter = 0.2

// retry calls fn until it succeeds or fails with an error that is not
// retryable, at most MaxAttempts times, backing off between attempts (at
// least as long as the server asks).
func (d *Driver) retry(ctx context.Context, fn func() error) error {
	return d.retryIf(ctx, isRetryable, fn)
}

// retryIf is retry with another rule for what may be tried again.
func (d *Driver) retryIf(ctx context.Context, retryable func(error) bool, fn func() error) error {
	return kit.Retry{
		Backoff:  kit.Backoff{Initial: d.retryMin, Max: d.retryMax, Jitter: jitter},
		Attempts: MaxAttempts, Retryable: retryable, Hint: retryHint,
	}.Do(ctx, fn)
}

// retryRead is retry for the calls around the APIs — access tokens, key
// files — whose errors are not the APIs' own: an OAuth2 token endpoint
// answering 429 or 5xx, or dropping the connection, is retried like a
// throttled API call.
func (d *Driver) retryRead(ctx context.Context, fn func() error) error {
	return d.retryIf(ctx, func(err error) bool { return isRetryable(err) || tokenRetryable(err) }, fn)
}

// tokenRetryable reports whether an OAuth2 token request failed in a way
// that may pass when repeated: the token endpoint throttled (429) or
// failed (5xx), or the connection broke — an *url.Error, or, from the JWT
// flow that flattens it, only the text "oauth2: cannot fetch token: Post
// …: EOF". A refused grant (400/401/403) and a cancelled call are final.
func tokenRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.Response != nil && (re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500)
	}
	var ue *url.Error // the request never got a reply
	if errors.As(err, &ue) {
		return true
	}
	return strings.HasPrefix(err.Error(), "oauth2: cannot fetch token: ")
}

// retryWhile retries fn (itself retried by retry) while busy(err) holds,
// for at most d.busyWait.
func (d *Driver) retryWhile(ctx context.Context, busy func(error) bool, fn func() error) error {
	return kit.Retry{Backoff: d.pollBackoff(), For: d.busyWait, Retryable: busy}.Do(ctx, func() error { return d.retry(ctx, fn) })
}

// pollBackoff is how the driver polls operations and objects it waits for.
func (d *Driver) pollBackoff() kit.Backoff {
	return kit.Backoff{Initial: d.pollMin, Max: d.pollMax, Jitter: jitter}
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
