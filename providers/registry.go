package providers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/regionctl/regionctl/providers/budget"
)

// Options configure a driver when the registry builds it.
type Options struct {
	// Sandbox points the driver at the offline sandbox emulators instead of
	// the real cloud; SandboxEndpoints maps service names to base URLs.
	Sandbox          bool
	SandboxEndpoints map[string]string
	// SandboxDir is the sandbox's directory, where it keeps the
	// credentials it issued (AWS: the shared credentials file
	// aws/credentials, profile regionctl-sandbox). In sandbox mode drivers
	// authenticate with those, never with the user's own.
	SandboxDir string
	// ForceConflicts lets server-side apply of in-cluster objects take
	// over fields another field manager owns (--force-conflicts); without
	// it such a conflict is reported as an error.
	ForceConflicts bool
	// RateBudgets replace the published rate budgets the driver paces its
	// API calls with (regionctl.yaml's rateBudgets, --rate-budget), by
	// "cloud:bucket" ("aws:ec2/write"); see package providers/budget.
	RateBudgets budget.Overrides
	// Offline builds the driver only to check specs (regionctl validate):
	// it must not look up credentials or configuration that needs them,
	// and must not call anything. Expand and Validate must work; values
	// that only credentials can supply (a default GCP project) are checked
	// at plan time instead.
	Offline bool
}

// Factory builds a driver. It may load credentials and configuration
// through the cloud SDK's standard chain (never with Options.Offline), but
// must not call the cloud API.
type Factory func(ctx context.Context, opts Options) (Driver, error)

// Registry maps driver names to factories. It is built explicitly in one
// place (providers/builtin for the drivers regionctl ships) — no init()
// side effects.
type Registry map[string]Factory

// Names returns the registered driver names, sorted.
func (r Registry) Names() []string {
	return slices.Sorted(maps.Keys(r))
}

// New builds the named driver.
func (r Registry) New(ctx context.Context, name string, opts Options) (Driver, error) {
	f, ok := r[name]
	if !ok {
		return nil, fmt.Errorf("no driver named %q (registered: %v)", name, r.Names())
	}
	d, err := f(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start driver %q: %w", name, err)
	}
	return d, nil
}
