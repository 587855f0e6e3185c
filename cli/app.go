package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

// app holds what the commands of one invocation share.
type app struct {
	cfg *Config
	g   *globals

	// intr handles Ctrl-C (see interrupts); nil in CommandTree.
	intr *interrupts
	// started is when the command started, for the elapsed time printed
	// at the end.
	started time.Time
	// events receives progress and diagnostics as JSON (--log-format
	// json, --events-file); nil when neither is asked for.
	events *eventLog

	driversMu sync.Mutex
	drivers   map[string]providers.Driver
	// offline are the drivers validate builds (providers.Options.Offline).
	offline map[string]providers.Driver
	// rollout is the fleet's Rollout document, resolved against every
	// loaded region (loadRegions); nil without one.
	rollout *plan.Rollout
	registryState
}

// specFlags are the flags of commands that read region specs.
type specFlags struct {
	files  []string
	extStr []string
	tlaStr []string
	// jsonnetMiB is --jsonnet-max-memory.
	jsonnetMiB int
}

func (f *specFlags) register(cmd interface {
	StringArrayVarP(p *[]string, name, shorthand string, value []string, usage string)
	StringArrayVar(p *[]string, name string, value []string, usage string)
	IntVar(p *int, name string, value int, usage string)
}) {
	cmd.StringArrayVarP(&f.files, "file", "f", nil, "region spec file or folder (YAML, JSON, Jsonnet), or - for YAML/JSON on stdin; repeatable")
	cmd.StringArrayVar(&f.extStr, "ext-str", nil, "Jsonnet external variable KEY=VALUE; repeatable")
	cmd.StringArrayVar(&f.tlaStr, "tla-str", nil, "Jsonnet top-level argument KEY=VALUE; repeatable")
	cmd.IntVar(&f.jsonnetMiB, "jsonnet-max-memory", spec.DefaultJsonnetMemory>>20, "MiB of memory a Jsonnet program may use while it is evaluated")
}

// loadRegions loads the specs and keeps the regions selected with --region.
// Diagnostics (all of them) are printed; an error is returned when any is an
// error.
func (a *app) loadRegions(ctx context.Context, f *specFlags) ([]*spec.Region, error) {
	if len(f.files) == 0 {
		return nil, fmt.Errorf("no spec given: use -f FILE or -f FOLDER")
	}
	ext, err := keyValues("--ext-str", f.extStr)
	if err != nil {
		return nil, err
	}
	tla, err := keyValues("--tla-str", f.tlaStr)
	if err != nil {
		return nil, err
	}
	if f.jsonnetMiB <= 0 {
		return nil, fmt.Errorf("%w: --jsonnet-max-memory %d: give a positive number of MiB (default %d)", ErrBadFlag, f.jsonnetMiB, spec.DefaultJsonnetMemory>>20)
	}
	fleet, ds := spec.LoadFleet(ctx, f.files, spec.LoadOptions{ExtStr: ext, TLAStr: tla, Stdin: a.cfg.Stdin, MaxJsonnetMemory: uint64(f.jsonnetMiB) << 20})
	if err := a.report(ds); err != nil {
		return nil, err
	}
	if ro := fleet.Rollout; ro != nil {
		waves, ds := ro.Resolve(fleet.Regions)
		if err := a.report(ds); err != nil {
			return nil, err
		}
		a.rollout = &plan.Rollout{Name: ro.Metadata.Name, PauseBetween: ro.PauseBetweenWaves(), GateTimeout: ro.GateTimeout()}
		for _, w := range waves {
			a.rollout.Waves = append(a.rollout.Waves, plan.Wave{Name: w.Name, Regions: w.Regions})
		}
	}
	return a.selectRegions(fleet.Regions)
}

// keyValues parses repeated KEY=VALUE flags.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

// selectRegions applies --region; an unknown name is an error listing the
// names that exist.
func (a *app) selectRegions(regions []*spec.Region) ([]*spec.Region, error) {
	if len(a.g.regions) == 0 {
		return regions, nil
	}
	var names []string
	byName := map[string]*spec.Region{}
	for _, r := range regions {
		names = append(names, r.Metadata.Name)
		byName[r.Metadata.Name] = r
	}
	var out []*spec.Region
	for _, want := range a.g.regions {
		r, ok := byName[want]
		if !ok {
			return nil, fmt.Errorf("--region %s: no such region in the specs (have: %s)", want, strings.Join(names, ", "))
		}
		out = append(out, r)
	}
	return out, nil
}

// report prints diagnostics to stderr, each once, and turns errors among
// them into a short error saying how many there were and where they come
// from (spec, state, refresh, cloud, lock, target), which sets the exit
// code.
func (a *app) report(ds diag.Diagnostics) error {
	if len(ds) == 0 {
		return nil
	}
	ds = ds.Dedupe()
	ds.Sort()
	fmt.Fprintln(a.cfg.Stderr, ds.String())
	a.events.diagnostics(ds)
	if !ds.HasErrors() {
		return nil
	}
	de := &diagError{bySource: map[diag.Source]int{}}
	for _, d := range ds {
		if d.Severity == diag.Error {
			de.bySource[d.Source]++
		}
	}
	return de
}

// useSandbox reports whether drivers should point at the sandbox.
func (a *app) useSandbox() bool {
	return a.g.sandbox || a.cfg.Getenv("REGIONCTL_SANDBOX") == "1"
}

// driver builds (once) and returns the named driver. With --sandbox a
// driver the sandbox does not emulate is refused before it is built: it
// would talk to its real cloud.
func (a *app) driver(ctx context.Context, name string) (providers.Driver, error) {
	a.driversMu.Lock()
	defer a.driversMu.Unlock()
	if d, ok := a.drivers[name]; ok {
		return d, nil
	}
	if _, isPlugin := a.registry().plugins[name]; a.useSandbox() && !isPlugin && !sandbox.Emulates(name) {
		return nil, &plan.DriverTargetError{Driver: name, Reason: fmt.Sprintf("driver %q has no emulator in the sandbox: refusing --sandbox for it (it would talk to its real cloud); run it without --sandbox", name)}
	}
	opts, err := a.driverOptions(ctx, name)
	if err != nil {
		return nil, err
	}
	d, err := a.registry().registry.New(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	if a.drivers == nil {
		a.drivers = map[string]providers.Driver{}
	}
	a.drivers[name] = d
	return d, nil
}

// offlineDriver builds (once) the named driver for checks only: no
// credentials, no sandbox, no network (providers.Options.Offline).
func (a *app) offlineDriver(ctx context.Context, name string) (providers.Driver, error) {
	a.driversMu.Lock()
	defer a.driversMu.Unlock()
	return a.offlineDriverLocked(ctx, name)
}

// offlineDriverLocked is offlineDriver with driversMu held.
func (a *app) offlineDriverLocked(ctx context.Context, name string) (providers.Driver, error) {
	if d, ok := a.offline[name]; ok {
		return d, nil
	}
	d, err := a.registry().registry.New(ctx, name, providers.Options{Offline: true})
	if err != nil {
		return nil, err
	}
	if a.offline == nil {
		a.offline = map[string]providers.Driver{}
	}
	a.offline[name] = d
	return d, nil
}

// color reports whether w should get ANSI colours: only on a terminal, never
// with --no-color, NO_COLOR or CI=true.
func (a *app) color(w io.Writer) bool {
	if a.g.noColor || a.cfg.Getenv("NO_COLOR") != "" || a.ci() {
		return false
	}
	return a.cfg.IsTerminal(w)
}

// ci reports whether regionctl runs under CI (CI=true): no prompts, no
// colours, timestamped progress lines.
func (a *app) ci() bool {
	v := strings.ToLower(a.cfg.Getenv("CI"))
	return v == "true" || v == "1"
}

func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// regionNames lists the names of regions, for messages.
func regionNames(regions []*spec.Region) []string {
	names := make([]string, len(regions))
	for i, r := range regions {
		names[i] = r.Metadata.Name
	}
	slices.Sort(names)
	return names
}
