package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/sandbox"
)

// sandboxFlags locate and configure the sandbox.
type sandboxFlags struct {
	dir    string
	config string
}

func (a *app) sandboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the offline cloud emulators on 127.0.0.1 (up, down, ls, stats)",
		Long: `The sandbox emulates the cloud APIs the drivers call, speaking each service's
real wire protocol, and keeps its emulated cloud on disk. plan, apply and
destroy use it with --sandbox (or REGIONCTL_SANDBOX=1), starting it when it is
not running.`,
	}
	var config string
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the sandbox in the background and print its endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ep, err := a.ensureSandbox(cmd.Context(), config)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.cfg.Stdout, "Sandbox running (pid %d) with its cloud in %s\n", ep.PID, a.g.sandboxDir)
			for cloud, url := range ep.Endpoints {
				fmt.Fprintf(a.cfg.Stdout, "  %s: %s\n", cloud, url)
			}
			// The emulated AWS accepts only the credentials it issued.
			fmt.Fprintf(a.cfg.Stdout, "The aws CLI reaches the emulated AWS with the credentials the sandbox issued (no real AWS account is used):\n  export %s\n",
				strings.Join(sandbox.AWSEnv(a.g.sandboxDir), " "))
			return nil
		},
	}
	up.Flags().StringVar(&config, "config", "", "sandbox config file (latency profile, faults; see docs/sandbox.md)")
	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the sandbox in the foreground until interrupted",
		Args:   cobra.NoArgs,
		Hidden: true, // `sandbox up` starts this in the background
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := a.sandboxOptions(config)
			if err != nil {
				return err
			}
			return sandbox.Serve(cmd.Context(), opts)
		},
	}
	serve.Flags().StringVar(&config, "config", "", "sandbox config file")
	var pluginPath string
	servePlugin := &cobra.Command{
		Use:    "serve-plugin NAME",
		Short:  "Run a driver plugin's emulator in the foreground until interrupted",
		Args:   cobra.ExactArgs(1),
		Hidden: true, // --sandbox starts this in the background for a plugin's driver
		RunE: func(cmd *cobra.Command, args []string) error {
			p := plugin.Plugin{Name: args[0], Path: pluginPath, Stderr: a.cfg.Stderr, LogLevel: a.cfg.Getenv(pluginLogEnv), HostVersion: Version}
			dir, err := filepath.Abs(sandbox.PluginDir(a.g.sandboxDir, p.Name))
			if err != nil {
				return err
			}
			return sandbox.ServePlugin(cmd.Context(), dir,
				func(ctx context.Context, dir string) (sandbox.PluginEmulator, error) {
					em, err := p.StartEmulator(ctx, dir)
					if err != nil {
						return nil, err
					}
					return pluginEmulator{em}, nil
				})
		},
	}
	servePlugin.Flags().StringVar(&pluginPath, "plugin-path", "", "the plugin executable")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the background sandbox (its emulated cloud stays on disk)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.stopSandbox(cmd.Context())
		},
	}
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List everything the emulated clouds hold",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := sandbox.ListDir(a.g.sandboxDir)
			if err != nil {
				return fmt.Errorf("list sandbox %s: %w", a.g.sandboxDir, err)
			}
			for _, name := range sandbox.PluginDaemons(a.g.sandboxDir) {
				more, err := sandbox.ListPlugin(cmd.Context(), a.g.sandboxDir, name)
				if err != nil {
					fmt.Fprintf(a.cfg.Stderr, "Not listed: %v (a --sandbox run with the driver starts it)\n", err)
					continue
				}
				objs = append(objs, more...)
			}
			if asJSON {
				enc := json.NewEncoder(a.cfg.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"format_version": "1", "objects": objs})
			}
			if len(objs) == 0 {
				fmt.Fprintln(a.cfg.Stdout, "The sandbox is empty.")
				return nil
			}
			tw := tabwriter.NewWriter(a.cfg.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLOUD\tTYPE\tID\tNAME\tREGION\tSTATE")
			for _, o := range objs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Cloud, o.Type, o.ID, o.Name, o.Region, o.State)
			}
			return tw.Flush()
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.AddCommand(up, serve, servePlugin, down, ls, a.sandboxStatsCmd())
	return cmd
}

// sandboxOptions are the options of a sandbox started by this run.
func (a *app) sandboxOptions(config string) (sandbox.Options, error) {
	var opts sandbox.Options
	if config != "" {
		var err error
		if opts, err = sandbox.LoadOptions(config); err != nil {
			return sandbox.Options{}, err
		}
	}
	if opts.Dir == "" {
		opts.Dir = a.g.sandboxDir
	}
	return opts, nil
}

// ensureSandbox returns the running sandbox's endpoints, starting it in the
// background (a detached `regionctl sandbox serve`) when none runs.
func (a *app) ensureSandbox(ctx context.Context, config string) (sandbox.Endpoints, error) {
	args := []string{"sandbox", "serve", "--sandbox-dir", a.g.sandboxDir}
	if config != "" {
		args = append(args, "--config", config)
	}
	return a.ensureDaemon(ctx, a.g.sandboxDir, args)
}

// ensureDaemon returns the endpoints of the daemon that publishes them in
// dir, starting it in the background (regionctl itself with args, logging
// to dir/sandbox.log) when none answers there.
func (a *app) ensureDaemon(ctx context.Context, dir string, args []string) (sandbox.Endpoints, error) {
	if sandbox.Running(dir) {
		return sandbox.ReadEndpoints(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return sandbox.Endpoints{}, fmt.Errorf("start sandbox: find regionctl's own binary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sandbox.Endpoints{}, fmt.Errorf("start sandbox: %w", err)
	}
	logPath := filepath.Join(dir, "sandbox.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return sandbox.Endpoints{}, fmt.Errorf("start sandbox: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this run and its Ctrl-C
	if err := cmd.Start(); err != nil {
		return sandbox.Endpoints{}, fmt.Errorf("start sandbox: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait for the daemon to publish answering endpoints, polling its
	// health; give up when it exits or after a minute.
	deadline := time.Now().Add(time.Minute)
	for !sandbox.Running(dir) {
		select {
		case err := <-exited:
			return sandbox.Endpoints{}, fmt.Errorf("the sandbox exited at start (%v); see %s", err, logPath)
		case <-ctx.Done():
			return sandbox.Endpoints{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return sandbox.Endpoints{}, fmt.Errorf("the sandbox did not answer within a minute; see %s", logPath)
		}
	}
	return sandbox.ReadEndpoints(dir)
}

// stopSandbox stops the background sandbox and the daemons of driver
// plugins' emulators, and waits for them to go.
func (a *app) stopSandbox(ctx context.Context) error {
	dir := a.g.sandboxDir
	stopped, err := stopDaemon(ctx, dir)
	if err != nil {
		return err
	}
	for _, name := range sandbox.PluginDaemons(dir) {
		s, err := stopDaemon(ctx, sandbox.PluginDir(dir, name))
		if err != nil {
			return fmt.Errorf("the emulator of driver %s: %w", name, err)
		}
		stopped = stopped || s
	}
	if !stopped {
		fmt.Fprintln(a.cfg.Stdout, "No sandbox is running.")
		return nil
	}
	fmt.Fprintf(a.cfg.Stdout, "Sandbox stopped; its emulated cloud stays in %s (`regionctl sandbox ls`).\n", dir)
	return nil
}

// stopDaemon stops the daemon that published its endpoints in dir, if one
// runs, and waits for it to go; it removes the endpoints of a dead one.
func stopDaemon(ctx context.Context, dir string) (bool, error) {
	ep, err := sandbox.ReadEndpoints(dir)
	if err != nil {
		return false, nil
	}
	if err := syscall.Kill(ep.PID, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			_ = os.Remove(filepath.Join(dir, sandbox.EndpointsFile))
			return false, nil
		}
		return false, fmt.Errorf("stop sandbox pid %d: %w", ep.PID, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(ep.PID, 0) == nil {
		if time.Now().After(deadline) {
			return false, fmt.Errorf("sandbox pid %d did not stop within 30s", ep.PID)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true, nil
}

// sandboxDriverOptions starts the sandbox if needed and returns driver
// options pointing at it.
func (a *app) sandboxDriverOptions(ctx context.Context) (providers.Options, error) {
	ep, err := a.ensureSandbox(ctx, "")
	if err != nil {
		return providers.Options{}, err
	}
	return providers.Options{Sandbox: true, SandboxEndpoints: ep.Endpoints, SandboxDir: a.g.sandboxDir}, nil
}

// pluginEmulator is a plugin's running emulator as the sandbox daemon
// keeps it.
type pluginEmulator struct{ *plugin.RunningEmulator }

func (e pluginEmulator) Objects(ctx context.Context) ([]sandbox.Object, error) {
	objs, err := e.RunningEmulator.Objects(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.Object, len(objs))
	for i, o := range objs {
		out[i] = sandbox.Object{Cloud: e.Info().Name, Type: o.Type, ID: o.ID, Name: o.Name, Region: o.Region, State: o.State}
	}
	return out, nil
}
