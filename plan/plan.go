// Package plan is the engine: it turns regions into desired resource graphs
// through their drivers, refreshes what state says exists, diffs the two into
// a Plan of Changes, writes and reads plan files, and applies a plan by
// walking the dependency graph with bounded parallelism, persisting state
// after every cloud operation.
package plan

import (
	"maps"
	"slices"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// FormatVersion is the newest version of the plan file format this
// regionctl reads. The `--json` output is versioned separately
// (render.JSONFormatVersion, docs/json-output.md). Version 2
// (baseFormatVersion, every plan without a rollout) added imports and
// adoptions of objects state does not know (Change.Adoption), refresh-only
// plans and the recorded --target and --replace; version 3
// (rolloutFormatVersion) a rollout. A regionctl that knows only an older
// version would apply such a plan differently, so it refuses it.
const FormatVersion = rolloutFormatVersion

// baseFormatVersion is the format of a plan without a rollout.
const baseFormatVersion = 2

// Action is what apply will do to one resource.
type Action int

const (
	NoOp Action = iota
	Create
	Update
	// DeleteThenCreate replaces by deleting the old resource first.
	DeleteThenCreate
	// CreateThenDelete replaces by creating the new resource first.
	CreateThenDelete
	Delete
)

// String returns the action's name as used in JSON output.
func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case DeleteThenCreate:
		return "delete-then-create"
	case CreateThenDelete:
		return "create-then-delete"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// Symbol returns the action's mark in a rendered plan: + ~ -/+ +/- -.
func (a Action) Symbol() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case DeleteThenCreate:
		return "-/+"
	case CreateThenDelete:
		return "+/-"
	case Delete:
		return "-"
	}
	return " "
}

// IsReplace reports whether the action replaces a resource.
func (a Action) IsReplace() bool { return a == DeleteThenCreate || a == CreateThenDelete }

// MarshalText encodes the action by name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an action name.
func (a *Action) UnmarshalText(b []byte) error {
	for c := NoOp; c <= Delete; c++ {
		if c.String() == string(b) {
			*a = c
			return nil
		}
	}
	return &UnknownActionError{Name: string(b)}
}

// UnknownActionError is returned when decoding an action name this version
// does not know.
type UnknownActionError struct{ Name string }

func (e *UnknownActionError) Error() string { return "unknown plan action " + e.Name }

// Plan is the set of changes to make to one or more regions.
type Plan struct {
	FormatVersion int       `json:"formatVersion"`
	Created       time.Time `json:"created"`
	// Destroy marks a plan made by `destroy`.
	Destroy bool `json:"destroy,omitempty"`
	// RefreshOnly marks a plan made with --refresh-only: it changes
	// nothing in the cloud; apply records in state what refresh found
	// (each region's Drift and Outputs).
	RefreshOnly bool `json:"refreshOnly,omitempty"`
	// Targets are the --target arguments the plan was made with: its
	// changes are limited to those resources and what they depend on (or,
	// for a deletion, what depends on it). Apply of the saved plan does
	// exactly those changes; the list is kept to show and warn about.
	Targets []string `json:"targets,omitempty"`
	// Replace are the --replace arguments: resources the plan replaces
	// although nothing about them changed.
	Replace []string     `json:"replace,omitempty"`
	Regions []RegionPlan `json:"regions"`
	// Rollout, when set, makes Apply change the regions wave by wave.
	Rollout *Rollout `json:"rollout,omitempty"`
}

// RegionPlan is the plan for one region, bound to the state it was made from.
type RegionPlan struct {
	Region   string `json:"region"`
	Provider string `json:"provider"`
	// DriverVersion is the version of the driver (Provider) that made the
	// plan; apply refuses the plan under another version of it.
	DriverVersion string `json:"driverVersion,omitempty"`
	// Lineage and Serial are the state's at plan time (empty/0 for a region
	// with no state yet); apply refuses the plan if state moved on.
	Lineage string `json:"lineage,omitempty"`
	Serial  uint64 `json:"serial"`
	// Fingerprints hash each refreshed resource (address → hash); apply
	// refreshes again and names the resources whose fingerprint changed.
	Fingerprints map[string]string `json:"fingerprints,omitempty"`
	// Desired is the graph the driver expanded the region into.
	Desired []providers.Resource `json:"desired"`
	// Changes are in dependency order; NoOp changes are included.
	Changes []Change `json:"changes"`
	// Drift lists what refresh found changed outside regionctl.
	Drift []Drift `json:"drift,omitempty"`
	// Outputs are the refreshed outputs of existing resources whose outputs
	// differ from what state records, by address. Apply records them in
	// state before anything else, so references resolve to them: this is
	// how an output recorded empty (by an older regionctl, or a create that
	// returned before the cloud filled it in) is repaired.
	Outputs map[string]map[string]any `json:"outputs,omitempty"`
	// Notes are the driver's explanations (machine type chosen, ...).
	Notes []string `json:"notes,omitempty"`
	// Protect is the spec's protect flag (state's, for a destroy made from
	// state); apply records it in state.
	Protect bool `json:"protect,omitempty"`
	// Target is what the plan was made against: the sandbox (which one) or
	// a real cloud and the account the driver resolved. Apply refuses to
	// run it against anything else.
	Target *state.Target `json:"target,omitempty"`
	// RefreshOnly is the plan's RefreshOnly, per region: Changes is empty
	// and apply records Drift and Outputs in state.
	RefreshOnly bool `json:"refreshOnly,omitempty"`
}

// Change is what apply will do to one resource.
type Change struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Action  Action `json:"action"`
	// DeposedID is set when the change deletes a deposed object (the old half
	// of an interrupted create-then-delete).
	DeposedID string `json:"deposedID,omitempty"`
	// Before are the refreshed inputs (nil for Create).
	Before map[string]any `json:"before,omitempty"`
	// After are the desired inputs (nil for Delete). A reference to a
	// resource that is not created or replaced is shown resolved to its
	// refreshed output; only values not known until apply (outputs of
	// resources created or replaced by this plan) stay references made by
	// providers.Ref. Apply resolves references from RegionPlan.Desired.
	After map[string]any `json:"after,omitempty"`
	// ReplacePaths are the input keys that force replacement.
	ReplacePaths []string `json:"replacePaths,omitempty"`
	// Reason explains the action for the user ("cidr forces replacement",
	// "tainted by a failed create", "adopting pending create"). Apply never
	// reads it.
	Reason string `json:"reason,omitempty"`
	// Stateful is the driver's marking (protect refuses destroy/replace).
	Stateful bool `json:"stateful,omitempty"`
	// IdempotencyKey is the key apply passes to Create (for Create and the
	// create half of a replacement). It is fixed at plan time, and reused
	// from state for a create that was interrupted, so a retried create is
	// recognised by the cloud instead of duplicated.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// AdoptID is set when the plan adopts an existing object: the one an
	// interrupted create made (state said pending), one an import names,
	// or one found by this region's ownership tags for the address (state
	// does not know it). Apply records it in state before doing Action.
	AdoptID string `json:"adoptID,omitempty"`
	// Adoption says which of those AdoptID is.
	Adoption Adoption `json:"adoption,omitempty"`
}

// Adoption says where an object a change adopts comes from.
type Adoption string

const (
	// AdoptPending is the object an interrupted create made: state
	// recorded the create as pending.
	AdoptPending Adoption = ""
	// AdoptImport is the object an import block or `regionctl import`
	// names by its cloud ID.
	AdoptImport Adoption = "import"
	// AdoptTagged is an object state does not know (after `state rm`, or a
	// state write that was lost) found carrying this region's ownership
	// tags for the address: adopted instead of creating a second one.
	AdoptTagged Adoption = "tagged"
	// AdoptForgotten is the object `regionctl state rm` dropped from the
	// address, read by the ID state remembered (state.Forgotten): adopted
	// instead of creating a second one, whatever its tags say.
	AdoptForgotten Adoption = "forgotten"
)

// Imports reports whether the change brings an object state does not know
// under management (an import or a tagged adoption).
func (c Change) Imports() bool {
	return c.AdoptID != "" && (c.Adoption == AdoptImport || c.Adoption == AdoptTagged || c.Adoption == AdoptForgotten)
}

// AdoptOnly reports whether the change only records an object it adopts:
// an update whose desired inputs all equal the object's (none known only
// after apply).
func (c Change) AdoptOnly() bool {
	if c.AdoptID == "" || c.Action != Update {
		return false
	}
	before, err1 := normalizeValues(c.Before)
	after, err2 := normalizeValues(c.After)
	if err1 != nil || err2 != nil {
		return false
	}
	for k, want := range after {
		if len(providers.Refs(want)) > 0 || !equalValues(want, before[k]) {
			return false
		}
	}
	return true
}

// Drift is a difference between state and the cloud found by refresh.
type Drift struct {
	Address string `json:"address"`
	// Deleted is true when the resource is gone from the cloud.
	Deleted bool           `json:"deleted,omitempty"`
	Before  map[string]any `json:"before,omitempty"`
	After   map[string]any `json:"after,omitempty"`
}

// Counts tallies a plan's actions for the summary line.
type Counts struct {
	Add, Change, Destroy, Replace int
	// Import counts the objects state does not know that the plan brings
	// under management (Change.Imports); one that is also changed counts
	// as a change too.
	Import int
	// Record counts, in a refresh-only plan, the objects whose refreshed
	// values apply records in state.
	Record int
}

// Counts tallies the changes of all regions: a replacement counts as one add
// and one destroy, as in "Plan: 3 to add, 1 to change, 0 to destroy".
func (p *Plan) Counts() Counts {
	var c Counts
	for _, r := range p.Regions {
		if r.RefreshOnly {
			c.Record += len(r.recorded())
		}
		for _, ch := range r.Changes {
			if ch.Imports() {
				c.Import++
			}
			switch ch.Action {
			case Create:
				c.Add++
			case Update:
				if ch.Imports() && ch.AdoptOnly() {
					continue
				}
				c.Change++
			case Delete:
				c.Destroy++
			case DeleteThenCreate, CreateThenDelete:
				c.Add++
				c.Destroy++
				c.Replace++
			}
		}
	}
	return c
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool {
	for _, r := range p.Regions {
		if r.hasChanges() {
			return true
		}
	}
	return false
}

// HasChanges reports whether applying the region's plan would do
// anything: a change other than a no-op, or, in a refresh-only plan,
// refreshed values to record.
func (r *RegionPlan) HasChanges() bool { return r.hasChanges() }

func (r *RegionPlan) hasChanges() bool {
	if r.RefreshOnly {
		return len(r.recorded()) > 0
	}
	for _, ch := range r.Changes {
		if ch.Action != NoOp {
			return true
		}
	}
	return false
}

// recorded lists the state keys a refresh-only apply of the region writes:
// those with drift, and those whose outputs changed.
func (r *RegionPlan) recorded() []string {
	keys := map[string]bool{}
	for _, d := range r.Drift {
		keys[d.Address] = true
	}
	for a := range r.Outputs {
		keys[a] = true
	}
	return slices.Sorted(maps.Keys(keys))
}
