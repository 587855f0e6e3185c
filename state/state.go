// Package state is what regionctl remembers about each region: the State
// document (lineage, serial, resources with their cloud IDs, inputs and
// outputs), the Backend interfaces a store implements (read, compare-and-swap
// write, leased locks), and the local file backend. Remote backends live in
// subpackages and pass state/statetest unchanged.
package state

import (
	"fmt"
	"slices"
	"strings"
)

// FormatVersion is the version of the State document format. Readers refuse
// documents with a newer version.
const FormatVersion = 1

// State is everything regionctl knows about one region's cloud resources.
type State struct {
	// Version is the document format version (FormatVersion).
	Version int `json:"version"`
	// Lineage is a UUID fixed when the region's state is first written; two
	// states with different lineages are different histories.
	Lineage string `json:"lineage"`
	// Serial increases by one on every write; writes compare-and-swap on it.
	Serial uint64 `json:"serial"`
	// Region is the region's name (metadata.name of its spec).
	Region string `json:"region"`
	// Provider is the driver that manages the region.
	Provider string `json:"provider"`
	// DriverVersion is the version of that driver at the last apply.
	DriverVersion string `json:"driverVersion,omitempty"`
	// Protect copies the spec's protect flag at the last apply, so a destroy
	// of a region whose spec is gone still refuses to delete stateful
	// resources without --allow-destroy.
	Protect bool `json:"protect,omitempty"`
	// Target is where the resources live (a sandbox or a real cloud
	// account); nil in documents written before regionctl recorded it.
	Target *Target `json:"target,omitempty"`
	// Resources are sorted by address.
	Resources []Resource `json:"resources"`
	// Forgotten are the objects `regionctl state rm` dropped while they may
	// still exist. The next plan that wants an object at such an address
	// reads the recorded ID and offers to adopt the object instead of
	// creating a second one, even when its ownership tags do not name the
	// address (it was imported, or moved with `state mv`). An entry goes
	// once state records something at its address again.
	Forgotten []Forgotten `json:"forgotten,omitempty"`
}

// Forgotten is an object `state rm` dropped: where it was and its cloud ID.
type Forgotten struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	ID      string `json:"id"`
}

// Status of a resource in state.
type Status string

const (
	// StatusCreated: the resource exists and ID is set.
	StatusCreated Status = "created"
	// StatusPending: a create was started and may or may not have happened;
	// the next plan finds and adopts it, or creates it again.
	StatusPending Status = "pending"
	// StatusTainted: a create or update failed half-way; the next plan
	// replaces it.
	StatusTainted Status = "tainted"
	// StatusDeposed: an old resource awaiting deletion after a
	// create-before-destroy replacement; the next plan deletes it.
	StatusDeposed Status = "deposed"
)

// Resource is one managed cloud resource. Inputs and outputs never hold
// secrets: drivers must not return them.
type Resource struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	// ID is the cloud's identifier; empty while pending.
	ID     string `json:"id,omitempty"`
	Status Status `json:"status"`
	// IdempotencyKey identifies the create that made this resource, so a
	// retried or resumed create is recognised by the cloud and the driver.
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
	Inputs         map[string]any `json:"inputs,omitempty"`
	Outputs        map[string]any `json:"outputs,omitempty"`
	Dependencies   []string       `json:"dependencies,omitempty"`
	// Stateful copies the driver's marking so protect works during destroy,
	// when no spec is at hand.
	Stateful bool `json:"stateful,omitempty"`
	// SchemaVersion is the version of the resource type's schema that
	// Inputs and Outputs follow (providers.ResourceSchema.Version); absent
	// in older state, which is version 0. The engine upgrades older values
	// through the driver before it uses them.
	SchemaVersion int `json:"schemaVersion,omitempty"`
}

// Key identifies a resource in state: its address, plus the ID for deposed
// objects (an address can have one current and several deposed objects).
func (r Resource) Key() string {
	if r.Status == StatusDeposed {
		return r.Address + " (deposed " + r.ID + ")"
	}
	return r.Address
}

// New returns an empty state for a region with a fresh lineage.
func New(region, provider, lineage string) *State {
	return &State{Version: FormatVersion, Lineage: lineage, Region: region, Provider: provider}
}

// Find returns the current (non-deposed) resource at addr.
func (s *State) Find(addr string) (Resource, bool) {
	for _, r := range s.Resources {
		if r.Address == addr && r.Status != StatusDeposed {
			return r, true
		}
	}
	return Resource{}, false
}

// Put inserts or replaces the resource with r's Key, keeping Resources
// sorted. A current object at an address ends what Forgotten remembered
// there.
func (s *State) Put(r Resource) {
	if r.Status != StatusDeposed {
		s.Forgotten = slices.DeleteFunc(s.Forgotten, func(f Forgotten) bool { return f.Address == r.Address })
	}
	key := r.Key()
	for i := range s.Resources {
		if s.Resources[i].Key() == key {
			s.Resources[i] = r
			return
		}
	}
	s.Resources = append(s.Resources, r)
	s.sort()
}

// Remove deletes the resource with the given Key; it reports whether one was there.
func (s *State) Remove(key string) bool {
	for i := range s.Resources {
		if s.Resources[i].Key() == key {
			s.Resources = slices.Delete(s.Resources, i, i+1)
			return true
		}
	}
	return false
}

// Forget removes the resource with the given Key, as Remove does, and
// remembers its object in Forgotten when it may still exist (it has an
// ID and is not a deposed object awaiting deletion), so the next plan
// adopts it rather than duplicating it.
func (s *State) Forget(key string) bool {
	for _, r := range s.Resources {
		if r.Key() != key {
			continue
		}
		if r.ID != "" && r.Status != StatusDeposed {
			s.Forgotten = slices.DeleteFunc(s.Forgotten, func(f Forgotten) bool { return f.Address == r.Address })
			s.Forgotten = append(s.Forgotten, Forgotten{Address: r.Address, Type: r.Type, ID: r.ID})
		}
		return s.Remove(key)
	}
	return false
}

// ForgottenAt returns what Forgotten remembers at addr for type typ; a nil
// state remembers nothing.
func (s *State) ForgottenAt(addr, typ string) (Forgotten, bool) {
	if s == nil {
		return Forgotten{}, false
	}
	for _, f := range s.Forgotten {
		if f.Address == addr && f.Type == typ {
			return f, true
		}
	}
	return Forgotten{}, false
}

func (s *State) sort() {
	slices.SortStableFunc(s.Resources, func(a, b Resource) int {
		return strings.Compare(a.Key(), b.Key())
	})
}

// Validate checks a decoded document is one this version can use.
func (s *State) Validate() error {
	switch {
	case s.Version > FormatVersion:
		return fmt.Errorf("state format version %d is newer than this regionctl understands (%d): upgrade regionctl", s.Version, FormatVersion)
	case s.Version < 1:
		return fmt.Errorf("state has no format version: not a regionctl state document")
	case s.Lineage == "":
		return fmt.Errorf("state has no lineage")
	}
	seen := map[string]bool{}
	for _, r := range s.Resources {
		if r.Address == "" {
			return fmt.Errorf("state holds a resource with no address")
		}
		switch r.Status {
		case StatusPending:
		case StatusCreated, StatusTainted, StatusDeposed:
			if r.ID == "" {
				// It would read as deleted outside regionctl, and be made again.
				return fmt.Errorf("state holds %s as %s but with no id", r.Address, r.Status)
			}
		default:
			return fmt.Errorf("state holds %s with unknown status %q (a regionctl state says created, pending, tainted or deposed)", r.Address, r.Status)
		}
		if seen[r.Key()] {
			return fmt.Errorf("state holds %s twice", r.Key())
		}
		seen[r.Key()] = true
	}
	for _, f := range s.Forgotten {
		if f.Address == "" || f.Type == "" || f.ID == "" {
			return fmt.Errorf("state remembers a forgotten object without its address, type or id: %+v", f)
		}
	}
	return nil
}

// Clone returns a deep copy, so a caller can change it without racing readers.
func (s *State) Clone() *State {
	c := *s
	if s.Target != nil {
		t := *s.Target
		c.Target = &t
	}
	c.Resources = make([]Resource, len(s.Resources))
	for i, r := range s.Resources {
		r.Inputs = cloneMap(r.Inputs)
		r.Outputs = cloneMap(r.Outputs)
		r.Dependencies = slices.Clone(r.Dependencies)
		c.Resources[i] = r
	}
	c.Forgotten = slices.Clone(s.Forgotten)
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}
