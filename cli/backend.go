package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/backendconfig"
	"github.com/regionctl/regionctl/state/local"
)

// registerBackendFlags adds the flags that choose the state backend.
func registerBackendFlags(pf *pflag.FlagSet, g *globals) {
	pf.StringVar(&g.backendConfig, "backend-config", "",
		"file with a `backend` block choosing the state backend (default: regionctl.yaml in the working directory, or $REGIONCTL_BACKEND, or the local backend in --state-dir)")
}

// openBackend resolves the backend block (--backend-config, then
// $REGIONCTL_BACKEND with $REGIONCTL_BACKEND_CONFIG, then regionctl.yaml,
// then the local backend in --state-dir) and opens it.
//
// With --sandbox the project's backend (regionctl.yaml, $REGIONCTL_BACKEND)
// is not used: it holds real regions' state, and reaching it would send
// sandbox state to a real cloud. Sandbox state is local, under the sandbox
// directory unless --state-dir says otherwise; a --backend-config naming a
// remote backend is refused.
func (a *app) openBackend(ctx context.Context) (state.Backend, error) {
	opts := backendconfig.Options{File: a.g.backendConfig, StateDir: a.stateDir(), Getenv: a.cfg.Getenv}
	if a.useSandbox() {
		if a.g.backendConfig == "" {
			a.noteSandboxState()
			return local.New(a.stateDir()), nil
		}
		opts.Getenv = func(string) string { return "" }
	}
	c, err := backendconfig.Resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("state backend: %w", err)
	}
	if a.useSandbox() && c.Type != "local" {
		return nil, fmt.Errorf("state backend: --sandbox keeps state locally, but --backend-config %s names a %s backend, which would send sandbox state to a real cloud: drop --backend-config (state goes to %s) or use a local one", a.g.backendConfig, c.Type, a.stateDir())
	}
	b, err := backendconfig.Open(ctx, c, a.cfg.Getenv)
	if err != nil {
		return nil, fmt.Errorf("state backend: %w", err)
	}
	return b, nil
}

// noteSandboxState tells a --sandbox user what is not used: the project's
// backend, and sandbox state an older regionctl kept in .regionctl/state.
func (a *app) noteSandboxState() {
	if a.g.stateDir != "" {
		return
	}
	if _, err := os.Stat(backendconfig.FileName); err == nil {
		fmt.Fprintf(a.cfg.Stderr, "Note: --sandbox keeps state in %s; the backend in %s (real regions) is not used.\n", a.stateDir(), backendconfig.FileName)
	}
	if _, err := os.Stat(a.stateDir()); err == nil {
		return
	}
	if old, _ := filepath.Glob(filepath.Join(defaultStateDir, "*.json")); len(old) > 0 {
		fmt.Fprintf(a.cfg.Stderr, "Note: --sandbox state now lives in %s, apart from real state. If %s holds state of sandbox runs made by an older regionctl, move it there: mkdir -p %s && mv %s/*.json %s/\n",
			a.stateDir(), defaultStateDir, a.stateDir(), defaultStateDir, a.stateDir())
	}
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
