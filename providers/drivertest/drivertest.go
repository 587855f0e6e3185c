package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// DefaultTimeout bounds each driver operation when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Minute

// Config is what the suite needs to exercise a driver.
type Config struct {
	// Driver under test, configured against a cloud (or emulator) that
	// starts empty.
	Driver providers.Driver
	// Region is a valid spec.Region for this driver: its provider, location,
	// Kubernetes version, machines, tiers and schemes are all ones the
	// driver's Capabilities offer.
	Region *spec.Region
	// UpdateInPlace returns a copy of its argument changed so that at least
	// one resource gets an in-place update (e.g. scale a node pool). It must
	// not modify its argument.
	UpdateInPlace func(r *spec.Region) *spec.Region
	// Replace returns a copy of its argument changed so that at least one
	// resource must be replaced (e.g. a node pool's machine size). The suite
	// calls it on UpdateInPlace(Region), the region applied at that point.
	// It must not modify its argument.
	Replace func(r *spec.Region) *spec.Region
	// Timeout bounds each driver operation; zero means DefaultTimeout.
	Timeout time.Duration

	// CloudCalls optionally returns how many cloud API calls the driver has
	// made so far (an emulator's request counter, a counting HTTP
	// transport). When nil, the suite uses the driver's CallCounter
	// implementation if it has one; with neither, the check that Expand
	// makes no cloud call is skipped.
	CloudCalls func() int
	// Inventory optionally lists the IDs of every object in the cloud. It
	// lets the suite prove that the cloud starts and ends empty, that an
	// idempotent create made exactly one object, and that a cancelled create
	// left nothing invisible behind. When nil, those checks rely on Read and
	// Find alone and say so in the log.
	Inventory func(ctx context.Context) ([]string, error)
	// Healthy says the cloud (emulator) runs what the driver's health
	// checks (providers.HealthChecker) look at, such as a cluster's API
	// server and nodes: the suite then requires the region it created to
	// be reported healthy. Without it, the health check is not called.
	Healthy bool
}

// CallCounter is optionally implemented by a driver that counts the cloud
// API calls it has made; see Config.CloudCalls.
type CallCounter interface {
	CallCount() int
}

// T is the part of *testing.T the suite uses. *testing.T satisfies
// T[*testing.T]; a test of the suite itself can pass a recorder that
// satisfies T of its own type to observe failures without failing.
//
// Fatalf and Skipf must stop the calling goroutine (runtime.Goexit), and Run
// must run f in a new goroutine and wait for it, as package testing does.
type T[Sub any] interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Run(name string, f func(Sub)) bool
}

// tb is T without Run, which is what the checks use; subtests go through
// st.run so the checks need not be generic.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
}

// st is a test (or recorder) of any type, with its Run made non-generic.
type st struct {
	tb
	run func(name string, f func(*st)) bool
}

func wrap[S T[S]](t S) *st {
	return &st{tb: t, run: func(name string, f func(*st)) bool {
		return t.Run(name, func(sub S) { f(wrap(sub)) })
	}}
}

// Run runs the conformance suite against cfg.Driver as subtests of t:
//
//	Capabilities  well-formed catalog, locations, and the region fits them
//	Validate      the driver's own Validator (if any) accepts the region
//	Expand        pure, deterministic, unique well-formed addresses,
//	              references and dependencies that resolve, acyclic,
//	              ForceNew keys that exist, JSON-compatible inputs
//	Lifecycle     create in dependency order → read matches desired →
//	              health check (HealthChecker, with Config.Healthy) →
//	              batched read (Lister) → read of a nonsense ID → update
//	              check (UpdateChecker) → in-place update → replacement →
//	              delete → read and delete of deleted objects
//	Idempotency   the same IdempotencyKey never makes a second object; Find
//	              of an unknown key finds nothing
//	Cancellation  a create with a cancelled context fails and leaves nothing
//	              invisible behind
//	Identity      the driver's providers.Identifier (if any) names an
//	              account, the same one every time
//
// Subtests run one after another; the cloud must start empty.
func Run[S T[S]](t S, cfg Config) {
	t.Helper()
	s, err := newSuite(cfg)
	if err != nil {
		t.Fatalf("drivertest: %v", err)
		return
	}
	root := wrap(t)
	root.run("Capabilities", s.testCapabilities)
	root.run("Validate", s.testValidate)
	root.run("Expand", s.testExpand)
	root.run("Lifecycle", s.testLifecycle)
	root.run("Idempotency", s.testIdempotency)
	root.run("Cancellation", s.testCancellation)
	root.run("Identity", s.testIdentity)
}

type suite struct {
	cfg     Config
	d       providers.Driver
	timeout time.Duration
	calls   func() int
}

func newSuite(cfg Config) (*suite, error) {
	if cfg.Driver == nil {
		return nil, fmt.Errorf("Config.Driver is nil")
	}
	if cfg.Region == nil {
		return nil, fmt.Errorf("Config.Region is nil")
	}
	s := &suite{cfg: cfg, d: cfg.Driver, timeout: cfg.Timeout, calls: cfg.CloudCalls}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.calls == nil {
		if c, ok := cfg.Driver.(CallCounter); ok {
			s.calls = c.CallCount
		}
	}
	return s, nil
}

func (s *suite) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// CloneRegion returns a deep copy of r, for UpdateInPlace and Replace
// functions. The copy shares r's SourceMap, which is read-only.
func CloneRegion(r *spec.Region) *spec.Region {
	if r == nil {
		return nil
	}
	c := *r
	c.Metadata.Labels = maps.Clone(r.Metadata.Labels)
	c.Spec.Cluster.NodePools = slices.Clone(r.Spec.Cluster.NodePools)
	for i, p := range c.Spec.Cluster.NodePools {
		c.Spec.Cluster.NodePools[i].Labels = maps.Clone(p.Labels)
		c.Spec.Cluster.NodePools[i].Taints = slices.Clone(p.Taints)
	}
	c.Spec.StorageClasses = slices.Clone(r.Spec.StorageClasses)
	c.Spec.LoadBalancers = slices.Clone(r.Spec.LoadBalancers)
	c.Spec.Access.Admins = slices.Clone(r.Spec.Access.Admins)
	c.Spec.Access.Viewers = slices.Clone(r.Spec.Access.Viewers)
	for i, lb := range c.Spec.LoadBalancers {
		c.Spec.LoadBalancers[i].Ports = slices.Clone(lb.Ports)
		c.Spec.LoadBalancers[i].Selector = maps.Clone(lb.Selector)
	}
	if r.Spec.Overrides != nil {
		c.Spec.Overrides = make(map[string]json.RawMessage, len(r.Spec.Overrides))
		for k, v := range r.Spec.Overrides {
			c.Spec.Overrides[k] = slices.Clone(v)
		}
	}
	return &c
}

// regionJSON renders a region for "was it modified?" comparisons.
func regionJSON(r *spec.Region) string {
	b, err := json.Marshal(r)
	if err != nil {
		return "<unencodable region: " + err.Error() + ">"
	}
	return string(b)
}
