package providers

import "context"

// Identifier is implemented by drivers that can say which cloud account a
// region's calls act on. The engine records the answer in plan files and
// state, refuses to apply a plan (or use a state) made for another account,
// and the CLI names the account before changing real infrastructure.
//
// Identity may call the cloud (AWS resolves the account with STS
// GetCallerIdentity); it is never called by validate, and never in offline
// mode (Options.Offline).
type Identifier interface {
	Identity(ctx context.Context, req IdentityRequest) (IdentityResponse, error)
}

// IdentityRequest asks which account a region's calls act on.
type IdentityRequest struct {
	// Region is the region's name.
	Region string
	// Resources are the region's resources: the desired graph when
	// planning or applying, what state holds when destroying a region
	// whose spec is gone. Drivers whose account is an input (a GCP
	// project, an Azure subscription) read it from there.
	Resources []Resource
}

// IdentityResponse names the account.
type IdentityResponse struct {
	Identity Identity
}

// Identity is a cloud account and who acts in it.
type Identity struct {
	// Kind names the kind of account: "AWS account", "GCP project",
	// "Azure subscription".
	Kind string
	// ID is the account's identifier. Two runs with the same Kind and ID
	// change the same infrastructure.
	ID string
	// Principal is who the credentials act as (an ARN, a service account),
	// for messages only; empty when unknown.
	Principal string
}

// Account is Kind and ID on one line: "AWS account 123456789012".
func (i Identity) Account() string {
	if i.ID == "" {
		return ""
	}
	return i.Kind + " " + i.ID
}

// FirstInput returns the first non-empty string input named key among
// resources, "" when none has it: where drivers find the project or
// subscription a region's resources were expanded with.
func FirstInput(resources []Resource, key string) string {
	for _, r := range resources {
		if s, ok := r.Inputs[key].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
