// Package aws is regionctl's AWS driver: it expands a region into a VPC with
// public and private subnets per zone, NAT gateways, route tables, IAM
// roles, an EKS cluster with managed node groups and the EBS CSI add-on,
// and manages them through the official aws-sdk-go-v2 clients (EC2, IAM,
// EKS). See docs/providers/aws.md for the mapping from spec to resources.
//
// One Driver serves every AWS region: clients are built per location from
// one base configuration loaded by config.LoadDefaultConfig (environment,
// shared profiles, SSO, web identity), and cached.
package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// Tag keys every resource carries.
const (
	TagManagedBy      = "managed-by"
	TagRegion         = "regionctl/region"
	TagAddress        = "regionctl/address"
	TagIdempotencyKey = "regionctl/idempotency-key"
	managedByValue    = "regionctl"
)

// MaxAttempts is how many times a throttled or failed call is tried.
const MaxAttempts = 10

// Driver is the AWS providers.Driver. Build it with New.
type Driver struct {
	base    aws.Config
	sandbox bool
	// endpoint is the sandbox's base URL (sandbox only).
	endpoint string
	// waitMin and waitMax bound waiter polling; zero means the SDK default.
	waitMin, waitMax time.Duration
	// dependencyWait bounds retries of deletes that fail because AWS has
	// not yet released a dependent object (ENIs, mapped addresses).
	dependencyWait time.Duration
	// forceConflicts is --force-conflicts for in-cluster objects.
	forceConflicts bool
	// kube creates, reads, updates and deletes the in-cluster objects.
	kube *kubernetes.Handler

	mu      sync.Mutex
	clients map[string]*clients
	// identity is the account STS named (see Identity), once known.
	identity providers.Identity
}

var (
	_ providers.Driver    = (*Driver)(nil)
	_ providers.Finder    = (*Driver)(nil)
	_ providers.Validator = (*Driver)(nil)
)

type clients struct {
	ec2 *ec2.Client
	eks *eks.Client
	iam *iam.Client
}

func newRetryer(sandbox bool) func() aws.Retryer {
	return func() aws.Retryer {
		return reportingRetryer{retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = MaxAttempts
				if sandbox {
					so.MaxBackoff = 200 * time.Millisecond
				}
			})
		})}
	}
}

// New is the registry factory. It loads the AWS configuration
// (config.LoadDefaultConfig: environment, profiles, SSO, web identity) but
// makes no API call. With opts.Sandbox it never reads the user's
// credentials: it uses static dummy ones and sends every call to
// opts.SandboxEndpoints["aws"].
func New(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	d := &Driver{clients: map[string]*clients{}, sandbox: opts.Sandbox, dependencyWait: 15 * time.Minute, forceConflicts: opts.ForceConflicts}
	d.kube = d.kubeHandler()
	if opts.Sandbox {
		ep := opts.SandboxEndpoints["aws"]
		if ep == "" {
			return nil, errors.New("aws: sandbox mode needs SandboxEndpoints[\"aws\"] (the AWS emulator's base URL)")
		}
		d.endpoint = ep
		d.base = aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""),
			BaseEndpoint: aws.String(ep),
			Retryer:      newRetryer(true),
		}
		d.waitMin, d.waitMax = 100*time.Millisecond, time.Second
		d.dependencyWait = 5 * time.Second
		return d, nil
	}
	if opts.Offline {
		return d, nil // validate: no credentials, no configuration files
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(newRetryer(false)))
	if err != nil {
		return nil, fmt.Errorf("aws: load configuration (environment, profiles, SSO): %w", err)
	}
	d.base = cfg
	return d, nil
}

// clientsFor returns the clients of one AWS region (cached).
func (d *Driver) clientsFor(location string) *clients {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[location]; ok {
		return c
	}
	cfg := d.base.Copy()
	if location != "" {
		cfg.Region = location
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	c := &clients{
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
		}),
		eks: eks.NewFromConfig(cfg, func(o *eks.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
		}),
		iam: iam.NewFromConfig(cfg, func(o *iam.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
		}),
	}
	d.clients[location] = c
	return c
}

// Capabilities describes EKS.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Name:                "aws",
		Description:         "Amazon Web Services: VPC, NAT gateways, EKS with managed node groups, EBS CSI",
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
	// the same key made) and waits until it is usable; it returns the ID.
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
	loc     string
	address string
	key     string
	id      string
	// in are the desired (resolved) inputs; prev the recorded ones.
	in, prev providers.Values
}

var handlers = map[string]handler{
	TypeVPC:             vpcHandler{},
	TypeSubnet:          subnetHandler{},
	TypeInternetGateway: igwHandler{},
	TypeEIP:             eipHandler{},
	TypeNATGateway:      natHandler{},
	TypeRouteTable:      routeTableHandler{},
	TypeSecurityGroup:   sgHandler{},
	TypeIAMRole:         roleHandler{},
	TypeEKSCluster:      clusterHandler{},
	TypeEKSNodeGroup:    nodegroupHandler{},
	TypeEKSAddon:        addonHandler{},
}

func (d *Driver) newCall(typ, address, key, id string, in, prev providers.Values) (handler, *call, error) {
	h, ok := handlers[typ]
	if !ok {
		return nil, nil, fmt.Errorf("aws: %s: unknown resource type %q", address, typ)
	}
	loc := str(in, "location")
	if loc == "" {
		loc = str(prev, "location")
	}
	return h, &call{d: d, cl: d.clientsFor(loc), loc: loc, typ: typ, address: address, key: key, id: id, in: in, prev: prev}, nil
}

func checkResolved(in providers.Values) error {
	if refs := providers.Refs(map[string]any(in)); len(refs) > 0 {
		return fmt.Errorf("inputs hold unresolved references to %s", strings.Join(refs, ", "))
	}
	return nil
}

// Create makes one resource. It first looks for one an interrupted create
// with the same idempotency key made (by tag, or by the API's client
// token), so a retry never makes a duplicate.
func (d *Driver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.CreateResponse{}, fmt.Errorf("aws: create %s: %w", req.Address, err)
	}
	if kubernetes.Handles(req.Type) {
		resp, err := d.kube.Create(ctx, req)
		return resp, wrap(err)
	}
	h, c, err := d.newCall(req.Type, req.Address, req.IdempotencyKey, "", req.Inputs, nil)
	if err != nil {
		return providers.CreateResponse{}, err
	}
	id, err := h.create(ctx, c)
	if err != nil {
		return providers.CreateResponse{ID: id}, fmt.Errorf("aws: create %s: %w", req.Address, err)
	}
	c.id = id
	_, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.CreateResponse{ID: id}, fmt.Errorf("aws: create %s: read back %s: %w", req.Address, id, err)
	}
	return providers.CreateResponse{ID: id, Outputs: out}, nil
}

// Read returns the live inputs (in the shape Expand produced) and outputs.
func (d *Driver) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	in := req.Instance
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Read(ctx, req)
		return resp, wrap(err)
	}
	h, c, err := d.newCall(in.Type, in.Address, "", in.ID, in.Inputs, in.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	if in.ID == "" {
		return providers.ReadResponse{}, nil
	}
	exists, inputs, outputs, err := h.read(ctx, c)
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("aws: read %s (%s): %w", in.Address, in.ID, err)
	}
	if !exists {
		return providers.ReadResponse{}, nil
	}
	return providers.ReadResponse{Exists: true, Inputs: inputs, Outputs: outputs}, nil
}

// Update changes one resource in place and waits until it is usable.
func (d *Driver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("aws: update %s: %w", req.Instance.Address, err)
	}
	in := req.Instance
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Update(ctx, req)
		return resp, wrap(err)
	}
	h, c, err := d.newCall(in.Type, in.Address, "", in.ID, req.Inputs, in.Inputs)
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	if err := h.update(ctx, c, req.Changed); err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("aws: update %s (%s): %w", in.Address, in.ID, err)
	}
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("aws: update %s: read back: %w", in.Address, err)
	}
	if !exists {
		return providers.UpdateResponse{}, fmt.Errorf("aws: update %s (%s): %w", in.Address, in.ID, providers.ErrNotFound)
	}
	return providers.UpdateResponse{Outputs: out}, nil
}

// Delete removes one resource and waits until it is gone. A resource that
// is already gone is deleted.
func (d *Driver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	in := req.Instance
	if kubernetes.Handles(in.Type) {
		resp, err := d.kube.Delete(ctx, req)
		return resp, wrap(err)
	}
	h, c, err := d.newCall(in.Type, in.Address, "", in.ID, in.Inputs, in.Inputs)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	if in.ID == "" {
		return providers.DeleteResponse{}, nil
	}
	if err := h.delete(ctx, c); err != nil {
		return providers.DeleteResponse{}, fmt.Errorf("aws: delete %s (%s): %w", in.Address, in.ID, err)
	}
	return providers.DeleteResponse{}, nil
}

// Find looks for the resource an interrupted create made, by the
// regionctl/idempotency-key tag (or the regionctl/address tag when no key
// is given): EC2 through Describe* tag filters, IAM roles and EKS objects
// by their names (from the inputs) and their tags.
func (d *Driver) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	if kubernetes.Handles(req.Type) {
		resp, err := d.kube.Find(ctx, req)
		return resp, wrap(err)
	}
	h, c, err := d.newCall(req.Type, req.Address, req.IdempotencyKey, "", req.Inputs, nil)
	if err != nil {
		return providers.FindResponse{}, err
	}
	id, err := h.find(ctx, c)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("aws: find %s: %w", req.Address, err)
	}
	if id == "" {
		return providers.FindResponse{}, nil
	}
	c.id = id
	exists, _, out, err := h.read(ctx, c)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("aws: find %s: read %s: %w", req.Address, id, err)
	}
	if !exists {
		return providers.FindResponse{}, nil
	}
	return providers.FindResponse{Found: true, ID: id, Outputs: out}, nil
}

// wrap prefixes an in-cluster error with the driver's name.
func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("aws: %w", err)
	}
	return nil
}

// tags are the tags every resource gets.
func (c *call) tags() map[string]string {
	region, _, name, err := providers.SplitAddress(c.address)
	t := map[string]string{TagManagedBy: managedByValue, TagAddress: c.address}
	if err == nil {
		t[TagRegion] = region
		t["Name"] = region + "-" + name
	}
	if c.key != "" {
		t[TagIdempotencyKey] = c.key
	}
	return t
}

// matchTags reports whether tags identify this call's resource: the
// idempotency key when there is one, else the address.
func (c *call) matchTags(tags map[string]string) bool {
	if c.key != "" {
		return tags[TagIdempotencyKey] == c.key
	}
	return tags[TagAddress] == c.address
}

// clientToken turns the idempotency key into an API client token (at most
// 64 ASCII characters).
func (c *call) clientToken() *string {
	if c.key == "" {
		return nil
	}
	if len(c.key) <= 64 && isASCII(c.key) {
		return aws.String(c.key)
	}
	h := sha256.Sum256([]byte(c.key))
	return aws.String(hex.EncodeToString(h[:]))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// errCode is the AWS error code of err, or "".
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says the object does not exist (or its
// ID cannot name one).
func isNotFound(err error) bool {
	code := errCode(err)
	switch code {
	case "NatGatewayNotFound", "NatGatewayMalformed", "NoSuchEntity", "ResourceNotFoundException":
		return true
	}
	return strings.HasSuffix(code, ".NotFound") || strings.HasSuffix(code, ".Malformed")
}

// waitDelays returns the waiter's min and max polling delays: small in the
// sandbox, the SDK defaults (zero) otherwise.
func (d *Driver) waitDelays() (time.Duration, time.Duration) { return d.waitMin, d.waitMax }

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

// poll calls fn until it reports done, backing off from the driver's
// minimum to its maximum delay (2 s → 30 s against AWS).
func (d *Driver) poll(ctx context.Context, fn func() (bool, error)) error {
	delay, maxDelay := d.waitMin, d.waitMax
	if delay == 0 {
		delay, maxDelay = 2*time.Second, 30*time.Second
	}
	for {
		done, err := fn()
		if err != nil || done {
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(delay*2, maxDelay)
	}
}

// retryDependency retries fn while AWS reports that a dependent object is
// still being released (DependencyViolation, an address still in use),
// for at most d.dependencyWait.
func (d *Driver) retryDependency(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(d.dependencyWait)
	var last error
	err := d.poll(ctx, func() (bool, error) {
		last = fn()
		switch errCode(last) {
		case "DependencyViolation", "InvalidIPAddress.InUse", "DeleteConflict", "AuthFailure.InUse":
			if time.Now().After(deadline) {
				return false, last
			}
			return false, nil
		}
		return true, last
	})
	if err != nil {
		return err
	}
	return last
}

// Value helpers: inputs are JSON-like, and numbers may come back from a
// plan file as float64.

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

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// orderLike returns live in the order of want when both hold the same set,
// else sorted: the cloud does not promise an order for sets.
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

// nextMinor reports whether to is exactly one minor after from ("1.33" → "1.34").
func minorOf(v string) (int, int, bool) {
	var a, b int
	if _, err := fmt.Sscanf(v, "%d.%d", &a, &b); err != nil {
		return 0, 0, false
	}
	return a, b, true
}
