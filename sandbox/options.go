package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// DefaultDir is where a sandbox keeps its state when Options.Dir is empty.
const DefaultDir = ".regionctl/sandbox"

// Object is one emulated cloud object, as List reports it.
type Object = emu.Object

// FaultKind is a fault the sandbox can inject: FaultThrottle, FaultServerError,
// FaultDrop, FaultDropAfter or FaultFail.
type FaultKind = emu.FaultKind

// Fault kinds; see the emu package for what each does.
const (
	FaultThrottle    = emu.FaultThrottle
	FaultServerError = emu.FaultServerError
	FaultDrop        = emu.FaultDrop
	FaultDropAfter   = emu.FaultDropAfter
	FaultFail        = emu.FaultFail
)

// Fault injects Kind into calls of Op: at random with probability Rate
// (seeded by Options.Seed), or on calls Nth … Nth+Count-1 of that operation
// (1-based, counted by the request log). Op is "cloud:Operation", "cloud:*" or
// "*".
type Fault struct {
	Op    string    `json:"op" yaml:"op"`
	Kind  FaultKind `json:"kind" yaml:"kind"`
	Rate  float64   `json:"rate,omitempty" yaml:"rate,omitempty"`
	Nth   int       `json:"nth,omitempty" yaml:"nth,omitempty"`
	Count int       `json:"count,omitempty" yaml:"count,omitempty"`
}

func (f Fault) matches(op string) bool {
	if f.Op == "*" || f.Op == op {
		return true
	}
	if cloud, ok := strings.CutSuffix(f.Op, ":*"); ok {
		return strings.HasPrefix(op, cloud+":")
	}
	return false
}

// Options configures a sandbox. The zero value is usable.
type Options struct {
	// Dir holds the persisted cloud state (DefaultDir when empty).
	Dir string
	// Addrs fixes the listen address per cloud ("aws": "127.0.0.1:4566");
	// by default each cloud gets a random 127.0.0.1 port.
	Addrs map[string]string
	// Latency is how long asynchronous operations take, by operation
	// ("eks:CreateCluster"); the key "*" overrides every default. Missing
	// keys use DefaultLatency. Zero makes the operation complete at once.
	Latency map[string]time.Duration
	// Faults to inject.
	Faults []Fault
	// Seed seeds the fault RNG (1 when zero), so runs repeat.
	Seed uint64
	// Account is the emulated AWS account id (123456789012 when empty).
	Account string
	// GCPProjects are the Google Cloud projects that exist besides
	// "sandbox-project" (always there); calls naming any other project get
	// the errors Google returns for a project that does not exist.
	GCPProjects []string
	// Region is the default region (us-east-1 when empty).
	Region string
	// Clock is the emulated clock (time.Now when nil). Asynchronous states
	// are computed from it on every read.
	Clock func() time.Time
	// NoKubernetes gives emulated clusters no Kubernetes API server (their
	// endpoint answers nothing). By default every cluster gets a real
	// kube-apiserver (sandbox/kube); tests of the cloud APIs alone set this
	// to save the ~20 s and ~270 MB each API server costs.
	NoKubernetes bool
	// Throttle makes the emulators throttle like the clouds: every
	// request draws a token from its bucket of the clouds' rate budgets
	// (RateBudgets, else budget.Published: per account, project or
	// subscription, region and kind of call, as each cloud meters), and a
	// request that finds its bucket empty gets the cloud's own throttling
	// reply. Off by default.
	Throttle bool
	// RateBudgets replace the published budgets Throttle enforces, by
	// cloud and bucket.
	RateBudgets map[string]budget.Table

	// kube is the API server manager Start made (nil without Kubernetes).
	kube emu.KubeHost
}

// DefaultLatency is how long asynchronous operations take unless
// Options.Latency says otherwise: seconds, not the real minutes, so a local
// apply is quick but still exercises waiting.
var DefaultLatency = map[string]time.Duration{
	"eks:CreateCluster":          2 * time.Second,
	"eks:DeleteCluster":          2 * time.Second,
	"eks:UpdateClusterVersion":   2 * time.Second,
	"eks:UpdateClusterConfig":    1 * time.Second,
	"eks:CreateNodegroup":        1 * time.Second,
	"eks:DeleteNodegroup":        1 * time.Second,
	"eks:UpdateNodegroupConfig":  1 * time.Second,
	"eks:UpdateNodegroupVersion": 1 * time.Second,
	"eks:CreateAddon":            1 * time.Second,
	"eks:UpdateAddon":            1 * time.Second,
	"eks:DeleteAddon":            1 * time.Second,
	"ec2:CreateNatGateway":       1 * time.Second,
	"ec2:DeleteNatGateway":       1 * time.Second,
	// GCP: GKE operations, and Compute operations (the resource appears
	// when its operation is DONE).
	"container:CreateCluster":          2 * time.Second,
	"container:DeleteCluster":          2 * time.Second,
	"container:UpdateCluster":          1 * time.Second,
	"container:CreateNodePool":         1 * time.Second,
	"container:DeleteNodePool":         1 * time.Second,
	"container:UpdateNodePool":         1 * time.Second,
	"container:SetNodePoolAutoscaling": 1 * time.Second,
	"container:SetNodePoolSize":        1 * time.Second,
	"compute:networks.insert":          500 * time.Millisecond,
	"compute:networks.delete":          500 * time.Millisecond,
	"compute:subnetworks.insert":       500 * time.Millisecond,
	"compute:subnetworks.delete":       500 * time.Millisecond,
	"compute:routers.insert":           500 * time.Millisecond,
	"compute:routers.delete":           500 * time.Millisecond,
	// Azure: ARM operations; the LRO ends (provisioningState Succeeded,
	// or the resource is gone) when the latency has passed.
	"azure:resourceGroups.delete":            1 * time.Second,
	"azure:managedClusters.createOrUpdate":   2 * time.Second,
	"azure:managedClusters.delete":           2 * time.Second,
	"azure:agentPools.createOrUpdate":        1 * time.Second,
	"azure:agentPools.delete":                1 * time.Second,
	"azure:virtualNetworks.createOrUpdate":   200 * time.Millisecond,
	"azure:virtualNetworks.delete":           200 * time.Millisecond,
	"azure:subnets.createOrUpdate":           200 * time.Millisecond,
	"azure:subnets.delete":                   200 * time.Millisecond,
	"azure:publicIPAddresses.createOrUpdate": 200 * time.Millisecond,
	"azure:publicIPAddresses.delete":         200 * time.Millisecond,
	"azure:natGateways.createOrUpdate":       500 * time.Millisecond,
	"azure:natGateways.delete":               500 * time.Millisecond,
}

// RealisticLatency approximates what the real clouds take; load it with
// `profile: realistic` in a config file.
var RealisticLatency = map[string]time.Duration{
	"eks:CreateCluster":                      10 * time.Minute,
	"eks:DeleteCluster":                      5 * time.Minute,
	"eks:UpdateClusterVersion":               8 * time.Minute,
	"eks:UpdateClusterConfig":                2 * time.Minute,
	"eks:CreateNodegroup":                    3 * time.Minute,
	"eks:DeleteNodegroup":                    3 * time.Minute,
	"eks:UpdateNodegroupConfig":              1 * time.Minute,
	"eks:UpdateNodegroupVersion":             10 * time.Minute,
	"eks:CreateAddon":                        1 * time.Minute,
	"eks:UpdateAddon":                        1 * time.Minute,
	"eks:DeleteAddon":                        1 * time.Minute,
	"ec2:CreateNatGateway":                   2 * time.Minute,
	"ec2:DeleteNatGateway":                   1 * time.Minute,
	"container:CreateCluster":                10 * time.Minute,
	"container:DeleteCluster":                5 * time.Minute,
	"container:UpdateCluster":                8 * time.Minute,
	"container:CreateNodePool":               3 * time.Minute,
	"container:DeleteNodePool":               3 * time.Minute,
	"container:UpdateNodePool":               5 * time.Minute,
	"container:SetNodePoolAutoscaling":       30 * time.Second,
	"container:SetNodePoolSize":              2 * time.Minute,
	"compute:networks.insert":                20 * time.Second,
	"compute:networks.delete":                20 * time.Second,
	"compute:subnetworks.insert":             15 * time.Second,
	"compute:subnetworks.delete":             15 * time.Second,
	"compute:routers.insert":                 10 * time.Second,
	"compute:routers.delete":                 10 * time.Second,
	"azure:resourceGroups.delete":            2 * time.Minute,
	"azure:managedClusters.createOrUpdate":   15 * time.Minute,
	"azure:managedClusters.delete":           20 * time.Minute,
	"azure:agentPools.createOrUpdate":        5 * time.Minute,
	"azure:agentPools.delete":                5 * time.Minute,
	"azure:virtualNetworks.createOrUpdate":   10 * time.Second,
	"azure:virtualNetworks.delete":           10 * time.Second,
	"azure:subnets.createOrUpdate":           5 * time.Second,
	"azure:subnets.delete":                   5 * time.Second,
	"azure:publicIPAddresses.createOrUpdate": 10 * time.Second,
	"azure:publicIPAddresses.delete":         10 * time.Second,
	"azure:natGateways.createOrUpdate":       30 * time.Second,
	"azure:natGateways.delete":               30 * time.Second,
}

func (o Options) latency(op string) time.Duration {
	if d, ok := o.Latency[op]; ok {
		return d
	}
	if d, ok := o.Latency["*"]; ok {
		return d
	}
	return DefaultLatency[op]
}

// fileOptions is the config file form of Options.
type fileOptions struct {
	Dir         string            `json:"dir" yaml:"dir"`
	Addrs       map[string]string `json:"addrs" yaml:"addrs"`
	Profile     string            `json:"profile" yaml:"profile"`
	Latency     map[string]string `json:"latency" yaml:"latency"`
	Faults      []Fault           `json:"faults" yaml:"faults"`
	Seed        uint64            `json:"seed" yaml:"seed"`
	Account     string            `json:"account" yaml:"account"`
	GCPProjects []string          `json:"gcpProjects" yaml:"gcpProjects"`
	Region      string            `json:"region" yaml:"region"`
	// Throttle and RateBudgets: see Options; rate budgets are
	// "cloud:bucket": "RATE/s,BURST".
	Throttle    bool              `json:"throttle" yaml:"throttle"`
	RateBudgets map[string]string `json:"rateBudgets" yaml:"rateBudgets"`
	// NoKubernetes: see Options.
	NoKubernetes bool `json:"noKubernetes" yaml:"noKubernetes"`
}

// LoadOptions reads Options from a YAML or JSON file (by extension; YAML
// otherwise). Latencies are Go durations ("2s", "10m"); `profile: realistic`
// starts from RealisticLatency.
func LoadOptions(path string) (Options, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Options{}, fmt.Errorf("read sandbox config: %w", err)
	}
	var f fileOptions
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		err = dec.Decode(&f)
	} else {
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		err = dec.Decode(&f)
	}
	if err != nil {
		return Options{}, fmt.Errorf("parse sandbox config %s: %w", path, err)
	}
	o := Options{Dir: f.Dir, Addrs: f.Addrs, Faults: f.Faults, Seed: f.Seed, Account: f.Account, GCPProjects: f.GCPProjects, Region: f.Region, Throttle: f.Throttle, NoKubernetes: f.NoKubernetes}
	if len(f.RateBudgets) > 0 {
		over := budget.Overrides{}
		for k, v := range f.RateBudgets {
			key, l, err := budget.ParseOverride(k + "=" + v)
			if err != nil {
				return Options{}, fmt.Errorf("sandbox config %s: rateBudgets: %w", path, err)
			}
			over[key] = l
		}
		o.RateBudgets = over.Tables(budget.Published)
	}
	switch f.Profile {
	case "", "fast":
	case "realistic":
		o.Latency = map[string]time.Duration{}
		for k, v := range RealisticLatency {
			o.Latency[k] = v
		}
	default:
		return Options{}, fmt.Errorf("sandbox config %s: profile %q: want fast or realistic", path, f.Profile)
	}
	for k, v := range f.Latency {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Options{}, fmt.Errorf("sandbox config %s: latency %q: %q is not a duration like 2s or 10m", path, k, v)
		}
		if o.Latency == nil {
			o.Latency = map[string]time.Duration{}
		}
		o.Latency[k] = d
	}
	for i, fl := range f.Faults {
		if err := fl.validate(); err != nil {
			return Options{}, fmt.Errorf("sandbox config %s: faults[%d]: %w", path, i, err)
		}
	}
	return o, nil
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultThrottle, FaultServerError, FaultDrop, FaultDropAfter, FaultFail:
	default:
		return fmt.Errorf("kind %q: want throttle, error, drop, drop-after or fail", f.Kind)
	}
	if f.Op == "" {
		return fmt.Errorf("op is required (e.g. eks:CreateCluster, eks:* or *)")
	}
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("rate %v: want 0..1", f.Rate)
	}
	if f.Rate == 0 && f.Nth <= 0 {
		return fmt.Errorf("set rate (0..1) or nth (the 1-based call to fail)")
	}
	if f.Count < 0 {
		return fmt.Errorf("count %d: want ≥ 0", f.Count)
	}
	return nil
}
