package providers

import "context"

// ResourceSchema describes one resource type of a driver as plain data: its
// inputs and outputs, which inputs force a replacement, which values are
// sensitive, and a version that grows when the shape of the stored values
// changes. Drivers publish their schemas in Capabilities.Resources; the
// engine reads them to decide and explain replacements and to know when a
// stored resource needs UpgradeState. Schemas are JSON-serializable so they
// can cross a process boundary unchanged.
type ResourceSchema struct {
	// Type is the resource type, e.g. "aws_vpc".
	Type string `json:"type"`
	// Version is the schema version of the values the driver writes today.
	// State records it per resource; a resource recorded with an older
	// version (older state without one is version 0) is upgraded with
	// StateUpgrader before it is used.
	Version int `json:"version"`
	// Description is one line for people.
	Description string `json:"description,omitempty"`
	// Inputs are the arguments Expand gives the resource, in a stable order.
	Inputs []Attribute `json:"inputs"`
	// Outputs are what Create and Read report, in a stable order.
	Outputs []Attribute `json:"outputs"`
}

// Attribute is one input or output of a resource type, or one field of an
// object-valued attribute.
type Attribute struct {
	// Name is the key in Values.
	Name string `json:"name"`
	// Type is "string", "bool", "integer", "number", "any", "object", or
	// "list(T)" / "map(T)" of one of those, e.g. "list(object)".
	Type string `json:"type"`
	// Attributes are the fields of an object, or of the objects a list or
	// map holds.
	Attributes []Attribute `json:"attributes,omitempty"`
	// Optional attributes may be absent; a present one is always checked.
	Optional bool `json:"optional,omitempty"`
	// RequiresReplace: a change of this input cannot be made in place, so
	// the engine replaces the resource (Terraform's RequiresReplace).
	RequiresReplace bool `json:"requiresReplace,omitempty"`
	// ReplaceReason says why the cloud cannot change it in place; the plan
	// shows it next to "forces replacement".
	ReplaceReason string `json:"replaceReason,omitempty"`
	// Sensitive values are credentials: a sensitive output never reaches
	// the engine (and so never state, plans or logs). Inputs cannot be
	// sensitive, since inputs are stored.
	Sensitive bool `json:"sensitive,omitempty"`
	// Description is one line for people.
	Description string `json:"description,omitempty"`
}

// Input returns the input attribute called name.
func (s ResourceSchema) Input(name string) (Attribute, bool) {
	for _, a := range s.Inputs {
		if a.Name == name {
			return a, true
		}
	}
	return Attribute{}, false
}

// ReplaceKeys returns, in schema order, the inputs that require a
// replacement and are present in in. It is what a resource's ForceNew
// holds when the driver derives it from the schema.
func (s ResourceSchema) ReplaceKeys(in Values) []string {
	var out []string
	for _, a := range s.Inputs {
		if _, ok := in[a.Name]; ok && a.RequiresReplace {
			out = append(out, a.Name)
		}
	}
	return out
}

// StateUpgrader is implemented by drivers that can rewrite a resource's
// stored inputs and outputs from an older schema version to the current
// one (Terraform's UpgradeResourceState). The engine calls it during
// refresh, and before an update or delete, for every recorded resource
// whose SchemaVersion is below its schema's Version; it never calls the
// cloud.
type StateUpgrader interface {
	UpgradeState(ctx context.Context, req UpgradeStateRequest) (UpgradeStateResponse, error)
}

// UpgradeStateRequest carries a resource as state recorded it;
// Instance.SchemaVersion is the version its values were written with.
type UpgradeStateRequest struct {
	Instance Instance
}

// UpgradeStateResponse is the resource's values in the current schema.
type UpgradeStateResponse struct {
	Inputs  Values
	Outputs Values
	// SchemaVersion is the version the values now have.
	SchemaVersion int
}
