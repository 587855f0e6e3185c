package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/backendconfig"
)

// registerBackendFlags adds the flags that choose the state backend.
func registerBackendFlags(pf *pflag.FlagSet, g *globals) {
	pf.StringVar(&g.backendConfig, "backend-config", "",
		"file with a `backend` block choosing the state backend (default: regionctl.yaml in the working directory, or $REGIONCTL_BACKEND, or the local backend in --state-dir)")
}

// openBackend resolves the backend block (--backend-config, then
// $REGIONCTL_BACKEND with $REGIONCTL_BACKEND_CONFIG, then regionctl.yaml,
// then the local backend in --state-dir) and opens it.
func (a *app) openBackend(ctx context.Context) (state.Backend, error) {
	c, err := backendconfig.Resolve(backendconfig.Options{
		File: a.g.backendConfig, StateDir: a.g.stateDir, Getenv: a.cfg.Getenv,
	})
	if err != nil {
		return nil, fmt.Errorf("state backend: %w", err)
	}
	b, err := backendconfig.Open(ctx, c, a.cfg.Getenv)
	if err != nil {
		return nil, fmt.Errorf("state backend: %w", err)
	}
	return b, nil
}

// brokenBackend is the backend of a run whose backend could not be opened:
// every call returns why, so the command stops at its first use of state
// with that error and changes nothing.
type brokenBackend struct{ err error }

var _ state.Backend = brokenBackend{}

func (b brokenBackend) Read(context.Context, string) (*state.State, error) { return nil, b.err }
func (b brokenBackend) Write(context.Context, *state.State, uint64) error  { return b.err }
func (b brokenBackend) Lock(context.Context, string, state.LockInfo) (state.LockInfo, error) {
	return state.LockInfo{}, b.err
}
func (b brokenBackend) Renew(context.Context, string, string, time.Time) error { return b.err }
func (b brokenBackend) Unlock(context.Context, string, string) error           { return b.err }
func (b brokenBackend) Locks(context.Context) ([]state.LockInfo, error)        { return nil, b.err }
func (b brokenBackend) Regions(context.Context) ([]string, error)              { return nil, b.err }
