package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/spf13/pflag"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/sandbox"
)

// pluginLogEnv sets how much of a driver plugin's own logging reaches
// stderr: trace, debug, info, warn or error (the default: errors and
// panics only).
const pluginLogEnv = "REGIONCTL_PLUGIN_LOG"

func registerPluginFlags(pf *pflag.FlagSet, g *globals) {
	pf.StringArrayVar(&g.pluginDirs, "plugin-dir", nil,
		"folder of driver plugins (regionctl-driver-NAME), searched before $REGIONCTL_PLUGIN_DIR, ./.regionctl/plugins, ~/.regionctl/plugins and $PATH (repeatable)")
}

// drivers is the run's driver registry: the built-in drivers of
// Config.Registry, then the driver plugins found on disk, by name. A plugin
// with the name of a built-in driver is not used (built in wins).
type drivers struct {
	registry providers.Registry
	plugins  map[string]plugin.Found
	// ignored are plugins named like a built-in driver.
	ignored []plugin.Found
}

// registry returns (once) the registry of this run: Config.Registry plus
// the discovered plugins.
func (a *app) registry() *drivers {
	a.registryOnce.Do(func() {
		d := &drivers{registry: providers.Registry{}, plugins: map[string]plugin.Found{}}
		for name, f := range a.cfg.Registry {
			d.registry[name] = f
		}
		for _, f := range plugin.Discover(plugin.SearchDirs(a.g.pluginDirs, a.cfg.Getenv)) {
			if _, builtIn := d.registry[f.Name]; builtIn {
				d.ignored = append(d.ignored, f)
				continue
			}
			f.Stderr = a.cfg.Stderr
			f.LogLevel = a.cfg.Getenv(pluginLogEnv)
			f.HostVersion = Version
			d.plugins[f.Name] = f
			d.registry[f.Name] = f.Factory()
		}
		a.reg = d
	})
	return a.reg
}

// driverOptions are the options driver name gets in this run. Under
// --sandbox a built-in driver points at the sandbox's emulators; a plugin
// at its own emulator, started by a daemon of its own.
func (a *app) driverOptions(ctx context.Context, name string) (providers.Options, error) {
	budgets, err := a.rateBudgets(ctx)
	if err != nil {
		return providers.Options{}, err
	}
	if !a.useSandbox() {
		return providers.Options{ForceConflicts: a.g.forceConflicts, RateBudgets: budgets}, nil
	}
	var o providers.Options
	if p, ok := a.registry().plugins[name]; ok {
		o, err = a.pluginSandboxOptions(ctx, p)
	} else {
		o, err = a.sandboxDriverOptions(ctx)
	}
	o.ForceConflicts, o.RateBudgets = a.g.forceConflicts, budgets
	return o, err
}

// pluginSandboxOptions starts (if needed) the daemon serving plugin p's
// emulator and returns options pointing p's driver at it. A plugin without
// an emulator is refused before anything starts: a sandbox run never
// reaches a real cloud.
func (a *app) pluginSandboxOptions(ctx context.Context, p plugin.Found) (providers.Options, error) {
	dir := sandbox.PluginDir(a.g.sandboxDir, p.Name)
	if !sandbox.Running(dir) {
		info, err := p.Handshake(ctx)
		if err != nil {
			return providers.Options{}, err
		}
		if !info.Emulator {
			return providers.Options{}, &plan.DriverTargetError{Driver: p.Name, Reason: fmt.Sprintf("driver %s (plugin %s) has no emulator, so --sandbox cannot be used with it: refusing rather than reach its real cloud", p.Name, p.Path)}
		}
	}
	ep, err := a.ensureDaemon(ctx, dir, []string{"sandbox", "serve-plugin", p.Name, "--plugin-path", p.Path, "--sandbox-dir", a.g.sandboxDir})
	if err != nil {
		return providers.Options{}, fmt.Errorf("start the emulator of driver %s: %w", p.Name, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return providers.Options{}, err
	}
	return providers.Options{Sandbox: true, SandboxEndpoints: ep.Endpoints, SandboxDir: abs}, nil
}

// closeDrivers stops the run's drivers that hold something (plugin
// processes); failures are reported, not returned: the run's outcome is
// already decided.
func (a *app) closeDrivers(stderr io.Writer) {
	a.driversMu.Lock()
	defer a.driversMu.Unlock()
	for _, built := range []map[string]providers.Driver{a.drivers, a.offline} {
		for name, d := range built {
			if c, ok := d.(io.Closer); ok {
				if err := c.Close(); err != nil {
					fmt.Fprintf(stderr, "Warning: driver %s: %v\n", name, err)
				}
			}
		}
	}
	a.drivers, a.offline = nil, nil
}

// pluginInfo reports where driver d comes from, when it is a plugin.
func pluginInfo(d providers.Driver) (plugin.Info, bool) {
	p, ok := d.(interface{ Info() plugin.Info })
	if !ok {
		return plugin.Info{}, false
	}
	return p.Info(), true
}

// registryState is the part of app the registry needs.
type registryState struct {
	registryOnce sync.Once
	reg          *drivers
}
