// Package providers defines what a cloud driver is: the Driver interface and
// its request and response types, the Resource a driver asks the engine to
// manage, the Capabilities it declares, and the explicit registry of drivers.
//
// A driver translates a spec.Region into a graph of Resources (Expand) and
// performs create, read, update and delete of one resource at a time through
// its cloud's official SDK. The engine (package plan) owns diffing, ordering,
// parallelism, state and locking; a driver never sees state or the plan.
//
// Third-party drivers implement Driver, optionally Finder, Lister,
// Validator and StateUpgrader, and prove themselves with
// providers/drivertest. Package providers/kit implements Driver for them
// from one declaration per resource type (schema plus typed handler).
package providers

import (
	"context"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// Driver manages one cloud's resources. Implementations must be safe for
// concurrent use: the engine calls them from many goroutines at once.
type Driver interface {
	// Capabilities describes what the cloud offers, so a spec can be checked
	// before any API call.
	Capabilities() Capabilities
	// Expand translates a region into the resources it needs. It must not
	// call the cloud: it is pure and deterministic for a given region.
	Expand(ctx context.Context, req ExpandRequest) (ExpandResponse, error)
	// Read returns the live state of one resource. A resource that no longer
	// exists is reported with Exists false, not an error.
	Read(ctx context.Context, req ReadRequest) (ReadResponse, error)
	// Create makes a resource and waits until it is usable. When it fails
	// after the cloud assigned the object an ID, it returns that ID with the
	// error: the engine records it and the next refresh reads it (adopting
	// it when it turned out usable). Only an error wrapping ErrCreateFailed
	// (the cloud itself says the creation failed) makes the engine record
	// the object as tainted, to be replaced.
	Create(ctx context.Context, req CreateRequest) (CreateResponse, error)
	// Update changes a resource in place and waits until it is usable.
	Update(ctx context.Context, req UpdateRequest) (UpdateResponse, error)
	// Delete removes a resource and waits until it is gone. Deleting a
	// resource that is already gone succeeds.
	Delete(ctx context.Context, req DeleteRequest) (DeleteResponse, error)
}

// Finder is implemented by drivers that can find a resource whose create was
// interrupted (the engine recorded it as pending, then crashed), typically by
// the tags every resource carries. The engine adopts what Find returns rather
// than creating a duplicate.
type Finder interface {
	Find(ctx context.Context, req FindRequest) (FindResponse, error)
}

// Lister is implemented by drivers that can refresh many resources in one
// batched call, cheaper than one Read each.
type Lister interface {
	ReadMany(ctx context.Context, reqs []ReadRequest) ([]ReadResponse, error)
}

// Validator is implemented by drivers that check a region beyond what
// Capabilities expresses, such as their own entry in spec.overrides. It must
// not call the cloud.
type Validator interface {
	Validate(ctx context.Context, region *spec.Region) diag.Diagnostics
}

// ExpandRequest asks a driver for the resources of a region.
type ExpandRequest struct {
	Region *spec.Region
}

// ExpandResponse is the desired graph of a region.
type ExpandResponse struct {
	Resources []Resource
	// Notes explain choices the driver made that a user should see in the
	// plan, e.g. "node pool system: machine {cpu 4, memory 16 GiB} → m7i.xlarge".
	Notes []string
	// Diagnostics found while expanding (for example an override that names
	// a node pool that does not exist).
	Diagnostics diag.Diagnostics
}

// ReadRequest identifies one resource to read.
type ReadRequest struct {
	Instance Instance
}

// ReadResponse is the live state of a resource.
type ReadResponse struct {
	// Exists is false when the resource is gone.
	Exists bool
	// Inputs are the live values of the resource's inputs, as far as the
	// cloud reports them; the engine compares them to state to show drift.
	// Nil means "not known", in which case state's inputs are kept.
	Inputs Values
	// Outputs are the resource's current outputs.
	Outputs Values
	// CreateFailed reports that the cloud says this object's creation failed
	// (EKS CREATE_FAILED or FAILED, a GKE cluster or node pool in ERROR,
	// ARM provisioningState Failed): it exists but will never be usable.
	// The engine records it as tainted, and the next plan replaces it. Leave
	// it false for an object that is still being created, or usable though
	// degraded: those are adopted as they are.
	CreateFailed bool
}

// CreateRequest asks for one resource to be created.
type CreateRequest struct {
	Address string
	Type    string
	// Inputs are resolved: they hold no references.
	Inputs Values
	// IdempotencyKey is stable across retries of the same create (also after
	// a crash). Drivers pass it to the cloud as a client token where the API
	// takes one, and tag the resource with it so Find can adopt it.
	IdempotencyKey string
}

// CreateResponse is the created resource.
type CreateResponse struct {
	// ID is the cloud's identifier, used by every later call.
	ID      string
	Outputs Values
}

// UpdateRequest asks for one resource to be changed in place.
type UpdateRequest struct {
	Instance Instance
	// Inputs are the new, resolved inputs.
	Inputs Values
	// Changed lists the top-level input keys that differ from Instance.Inputs.
	Changed []string
}

// UpdateResponse is the updated resource.
type UpdateResponse struct {
	Outputs Values
}

// DeleteRequest asks for one resource to be deleted.
type DeleteRequest struct {
	Instance Instance
}

// DeleteResponse is empty today; it exists so fields can be added.
type DeleteResponse struct{}

// FindRequest asks a driver to find a resource whose create may have happened.
type FindRequest struct {
	Address string
	Type    string
	Inputs  Values
	// IdempotencyKey is the key of the interrupted create to look for.
	// Empty, the engine looks for an object state does not know at all
	// (dropped with `state rm`, or a lost state write) before it plans a
	// create: match the ownership tags of this region and Address only,
	// never an object without them, so a user's own object is never
	// adopted by accident.
	IdempotencyKey string
}

// FindResponse says whether the resource exists, and if so what it is.
type FindResponse struct {
	Found   bool
	ID      string
	Outputs Values
}

// Instance is a resource that exists (or existed) in the cloud, as the
// engine last recorded it.
type Instance struct {
	Address string
	Type    string
	ID      string
	Inputs  Values
	Outputs Values
	// SchemaVersion is the schema version Inputs and Outputs were written
	// with (0 for state older than schema versions). The engine upgrades
	// older values through StateUpgrader before it hands them to Read,
	// Update or Delete; a driver may still see an older one from other
	// callers and upgrade it itself.
	SchemaVersion int
}
