// Package gcp emulates the slice of Google Cloud that regionctl drives:
// Compute Engine's REST JSON API (networks, subnetworks, routers with Cloud
// NAT, addresses, aggregated lists, regions and zones, managed instance
// groups and autoscalers read-only, global and region operations, the batch
// endpoint) on one HTTP endpoint, and GKE's container API
// (google.container.v1.ClusterManager) on a second one, over gRPC and — by
// the google.api.http rules of the same proto — over REST JSON, as gcloud
// calls it. Every call needs an OAuth2 access token the emulator's token
// endpoint issued for its service account key. Objects are kept as the
// SDK's own protobuf messages (computepb, containerpb) and put on the wire
// with protojson as the REST clients read them, or by gRPC itself, so
// shapes cannot drift from what the clients decode.
package gcp

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Endpoint keys, as (*sandbox.Sandbox).Endpoints reports them.
const (
	// ComputeKey is Compute's REST endpoint, "http://127.0.0.1:PORT".
	ComputeKey = "gcp-compute"
	// ContainerKey is GKE's gRPC endpoint, "127.0.0.1:PORT" (plain text);
	// ContainerRESTKey names the same port as a REST base URL.
	ContainerKey = "gcp-container"
)

// DefaultProject is the project that always exists; others exist when the
// sandbox is given them (Options.GCPProjects), each kept apart.
const DefaultProject = "sandbox-project"

// Emulator is the GCP emulator. Create it with New.
type Emulator struct {
	env emu.Env
	mu  sync.Mutex
	st  *state
	// tokenKey signs the OAuth2 access tokens the emulator issues; the
	// clusters' token webhook reads it without taking mu.
	tokenKey atomic.Pointer[[]byte]
	// fronts serve the clusters' endpoints, by kubeID (under mu).
	fronts map[string]*endpointFront
}

var (
	_ emu.Emulator   = (*Emulator)(nil)
	_ emu.Endpointer = (*Emulator)(nil)
	_ emu.GRPCServer = (*Emulator)(nil)
)

// New returns an empty GCP emulator. With env.Kube its clusters get a real
// kube-apiserver (sandbox/kube); without, a made-up endpoint IP and a
// self-signed CA.
func New(env emu.Env) *Emulator {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Latency == nil {
		env.Latency = func(string) time.Duration { return 0 }
	}
	return &Emulator{env: env, st: newState()}
}

// Cloud is "gcp"; the state file is gcp.json.
func (e *Emulator) Cloud() string { return "gcp" }

// EndpointKey is ComputeKey.
func (e *Emulator) EndpointKey() string { return ComputeKey }

// GRPCKey is ContainerKey.
func (e *Emulator) GRPCKey() string { return ContainerKey }

func (e *Emulator) now() time.Time { return e.env.Now().UTC() }

// msg holds a protobuf message and (de)serializes it with protojson, so
// the state file stores SDK objects in their API shape.
type msg[T proto.Message] struct{ V T }

func (m msg[T]) MarshalJSON() ([]byte, error) {
	if !m.V.ProtoReflect().IsValid() {
		return []byte("null"), nil
	}
	return protojson.Marshal(m.V)
}

func (m *msg[T]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var zero T
	v := zero.ProtoReflect().New().Interface().(T)
	if err := protojson.Unmarshal(b, v); err != nil {
		return err
	}
	m.V = v
	return nil
}

func wrap[T proto.Message](v T) msg[T] { return msg[T]{V: v} }

func clone[T proto.Message](v T) T { return proto.Clone(v).(T) }

// Save serializes the state.
func (e *Emulator) Save() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return json.MarshalIndent(e.st, "", " ")
}

// Load restores a state written by Save.
func (e *Emulator) Load(data []byte) error {
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return fmt.Errorf("decode gcp state: %w", err)
	}
	st.fill()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st = st
	e.loadTokenKey()
	e.restartKube()
	return nil
}

// Objects lists networks, subnetworks, routers, addresses, clusters and node
// pools, with their current state.
func (e *Emulator) Objects() []emu.Object {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.settle(now)
	var out []emu.Object
	add := func(typ, id, name, region, state string) {
		out = append(out, emu.Object{Cloud: "gcp", Type: typ, ID: id, Name: name, Region: region, State: state})
	}
	for _, r := range e.st.Networks {
		if st := r.T.state(now); st != "" {
			add("compute.network", "projects/"+r.Project+"/global/networks/"+r.V.V.GetName(), r.V.V.GetName(), "", st)
		}
	}
	for _, r := range e.st.Subnets {
		if st := r.T.state(now); st != "" {
			add("compute.subnetwork", "projects/"+r.Project+"/regions/"+r.Region+"/subnetworks/"+r.V.V.GetName(), r.V.V.GetName(), r.Region, st)
		}
	}
	for _, r := range e.st.Routers {
		if st := r.T.state(now); st != "" {
			add("compute.router", "projects/"+r.Project+"/regions/"+r.Region+"/routers/"+r.V.V.GetName(), r.V.V.GetName(), r.Region, st)
		}
	}
	for _, r := range e.st.Addresses {
		if st := r.T.state(now); st != "" {
			add("compute.address", "projects/"+r.Project+"/regions/"+r.Region+"/addresses/"+r.V.V.GetName(), r.V.V.GetName(), r.Region, st)
		}
	}
	for key, c := range e.st.Clusters {
		add("container.cluster", key, c.C.V.GetName(), c.Location, c.C.V.GetStatus().String())
		for _, p := range c.Pools {
			add("container.nodePool", key+"/nodePools/"+p.P.V.GetName(), p.P.V.GetName(), c.Location, p.P.V.GetStatus().String())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// newID returns a positive 63-bit id, as Compute's numeric ids.
func newID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.BigEndian.Uint64(b[:]) >> 1
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)[:n]
}

func fingerprint() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// projectNumber is a stable 12-digit number for a project id, as GKE puts
// project numbers in its self links.
func projectNumber(project string) string {
	h := fnv.New64a()
	h.Write([]byte(project))
	return fmt.Sprintf("%012d", h.Sum64()%900000000000+100000000000)
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-07:00") }
