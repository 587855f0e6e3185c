package state

import "fmt"

// Target says where a region's resources live: in an offline sandbox (which
// one) or in a real cloud (which account). Plan files and state documents
// record it, so a plan made against the sandbox is never applied to a real
// cloud, and a region's state is never used with another account's
// credentials.
type Target struct {
	// Sandbox is the ID of the sandbox the resources were made in (see
	// sandbox.ID); empty for a real cloud.
	Sandbox string `json:"sandbox,omitempty"`
	// SandboxDir is where that sandbox was, for messages only.
	SandboxDir string `json:"sandboxDir,omitempty"`
	// Account is the cloud account the driver resolved from its
	// credentials or the spec: "AWS account 123456789012", "GCP project
	// acme-prod", "Azure subscription 00000000-…". Empty when the driver
	// cannot say (it does not implement providers.Identifier).
	Account string `json:"account,omitempty"`
	// Principal is who the credentials act as (an ARN, a service account),
	// for messages only: a plan job and an apply job may use different
	// principals of the same account.
	Principal string `json:"principal,omitempty"`
}

// IsSandbox reports whether the target is a sandbox.
func (t Target) IsSandbox() bool { return t.Sandbox != "" }

// String describes the target for a person.
func (t Target) String() string {
	var s string
	switch {
	case t.IsSandbox() && t.SandboxDir != "":
		s = fmt.Sprintf("the sandbox in %s (id %s)", t.SandboxDir, t.Sandbox)
	case t.IsSandbox():
		s = "the sandbox with id " + t.Sandbox
	case t.Account != "":
		s = "the real cloud, " + t.Account
	default:
		s = "a real cloud (its driver does not report the account)"
	}
	if t.IsSandbox() && t.Account != "" {
		s += ", " + t.Account
	}
	if t.Principal != "" {
		s += " as " + t.Principal
	}
	return s
}

// Same reports whether t and o are the same place: the same sandbox, or
// both real; and the same account. Principal and SandboxDir are not
// compared (a sandbox directory may be moved; CI plans and applies with
// different principals).
func (t Target) Same(o Target) bool {
	return t.Sandbox == o.Sandbox && t.Account == o.Account
}
