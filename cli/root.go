// Package cli is regionctl's command line: it parses flags with cobra and
// wires the spec loader, the drivers registry, the state backend and the plan
// engine together. cmd/regionctl only builds the registry and calls Main.
//
// Another module builds its own regionctl — the same commands with drivers
// of its own — by calling Main with a registry:
//
//	reg := builtin.Registry() // package providers/builtin: aws, azure, gcp
//	reg["mycloud"] = mycloud.New
//	os.Exit(cli.Main(os.Args[1:], cli.Config{Registry: reg}))
//
// Main, Config and Version are the whole surface a program needs;
// CommandTree is for tools that check documentation against the commands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/sandbox"
)

// Version is regionctl's version, set at build time with
// -ldflags "-X github.com/regionctl/regionctl/cli.Version=v1.2.3".
var Version = "dev"

// Config is what Main needs from its caller.
type Config struct {
	// Registry maps driver names to factories (the drivers `regionctl
	// drivers` lists and specs may name in spec.provider).
	Registry providers.Registry
	// Stdin, Stdout and Stderr are the streams of the run; nil means the
	// process's own.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// IsTerminal reports whether a file descriptor-backed stream is a
	// terminal; nil means a real check.
	IsTerminal func(any) bool
}

// Main runs regionctl with args (without the program name) and returns the
// process exit code (see the Exit constants: 0 success, 2 changes under
// --detailed-exitcode, a distinct code per kind of failure). SIGINT and
// SIGTERM cancel the run's context: apply stops starting work, lets
// in-flight operations finish and persists state before exiting; a second
// signal stops waiting for them (see interrupts).
func Main(args []string, cfg Config) int {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	intr := newInterrupts(cfg.Stderr, cancel)
	defer intr.stop()
	root, app := newRoot(&cfg, intr)
	defer app.closeDrivers(cfg.Stderr) // plugin processes end with the run
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) || ee.err != nil {
		fmt.Fprintln(cfg.Stderr, "Error:", err)
	}
	if intr.interrupted() && !errors.As(err, &ee) {
		return ExitInterrupted // whatever the interruption made fail
	}
	return exitCode(err)
}

func (c Config) withDefaults() Config {
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.IsTerminal == nil {
		c.IsTerminal = isTerminal
	}
	if c.Registry == nil {
		c.Registry = providers.Registry{}
	}
	return c
}

// globals are the flags every command shares.
type globals struct {
	noColor     bool
	regions     []string
	parallelism int
	// parallelismSet: --parallelism was given (else the drivers' rate
	// budgets pace the calls).
	parallelismSet bool
	// rateBudgets are the --rate-budget flags (see ratebudgets.go).
	rateBudgets []string
	lockTimeout time.Duration
	stateDir    string
	// backendConfig is --backend-config (see backend.go).
	backendConfig string
	sandbox       bool
	sandboxDir    string
	// forceConflicts lets apply take over in-cluster fields other field
	// managers own.
	forceConflicts bool
	// pluginDirs is --plugin-dir (see plugins.go).
	pluginDirs []string
	// logFormat is --log-format: human progress lines, or one JSON object
	// per event on stderr; eventsFile (--events-file) also writes the JSON
	// events to a file.
	logFormat  string
	eventsFile string
}

func newRoot(cfg *Config, intr *interrupts) (*cobra.Command, *app) {
	g := &globals{}
	root := &cobra.Command{
		Use:   "regionctl",
		Short: "Provision the same region on any cloud from one declarative spec",
		Long: `regionctl plans and applies regions — a network, a managed Kubernetes cluster
with node pools, StorageClasses and load balancers — onto AWS, GCP or Azure
from one spec, keeping per-region state with locking.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(cfg.Stdin)
	root.SetOut(cfg.Stdout)
	root.SetErr(cfg.Stderr)
	pf := root.PersistentFlags()
	pf.BoolVar(&g.noColor, "no-color", false, "never colour output (colours are used only on a terminal anyway)")
	pf.StringArrayVar(&g.regions, "region", nil, "only these regions of the fleet (repeatable)")
	pf.IntVar(&g.parallelism, "parallelism", 0, "how many cloud operations run at once (default: as many as each cloud's rate budgets allow)")
	pf.StringArrayVar(&g.rateBudgets, "rate-budget", nil, "replace a published rate budget: cloud:bucket=RATE/s,BURST, e.g. aws:ec2/write=5/s,200 (repeatable; see docs/performance.md)")
	pf.DurationVar(&g.lockTimeout, "lock-timeout", 0, "how long to wait for a region's lock (0: fail at once when held)")
	pf.StringVar(&g.stateDir, "state-dir", "", "directory of the local state backend (default "+defaultStateDir+", or "+sandboxStateDir+" inside --sandbox-dir with --sandbox)")
	registerBackendFlags(pf, g)
	registerPluginFlags(pf, g)
	pf.StringVar(&g.sandboxDir, "sandbox-dir", sandbox.DefaultDir, "where the sandbox keeps its emulated cloud")
	pf.BoolVar(&g.sandbox, "sandbox", false, "point drivers at the offline sandbox emulators (also REGIONCTL_SANDBOX=1)")
	pf.BoolVar(&g.forceConflicts, "force-conflicts", false, "server-side apply of StorageClasses and Services takes over fields another field manager owns (default: report the conflict)")

	g.logFormat = logHuman
	pf.Var(choiceValue{v: &g.logFormat, choices: []string{logHuman, logJSON}}, "log-format", "progress output: human lines, or json (one JSON object per event on stderr: refresh progress, operations with elapsed time, retries, diagnostics; see docs/ci.md)")
	pf.StringVar(&g.eventsFile, "events-file", "", "also append the JSON events (see --log-format) to this file")

	app := &app{cfg: cfg, g: g, intr: intr, started: time.Now()}
	// Before any command: refuse flag values that make no sense, then open
	// the event log the flags ask for.
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		g.parallelismSet = cmd.Flags().Changed("parallelism")
		if err := g.validate(); err != nil {
			return err
		}
		ev, err := openEvents(cfg.Stderr, g.logFormat, g.eventsFile)
		if err != nil {
			return err
		}
		app.events = ev
		return nil
	}
	root.PersistentPostRun = func(*cobra.Command, []string) { app.events.close() }
	root.AddCommand(
		app.validateCmd(),
		app.planCmd(),
		app.applyCmd(),
		app.destroyCmd(),
		app.showCmd(),
		app.stateCmd(),
		app.taintCmd(),
		app.untaintCmd(),
		app.importCmd(),
		app.driversCmd(),
		app.schemaCmd(),
		app.versionCmd(),
		app.sandboxCmd(),
		app.kubeconfigCmd(),
		app.kubeTokenCmd(),
		app.outputCmd(),
	)
	requireSubcommands(root)
	return root, app
}

// requireSubcommands makes every command that only groups subcommands
// (state, state lock, sandbox) fail on a subcommand it does not have, or
// none, instead of printing its help and exiting 0: a pipeline calling
// `regionctl state rename` must not believe it worked.
func requireSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		requireSubcommands(c)
	}
	if cmd == cmd.Root() || !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		if len(args) > 0 {
			return fmt.Errorf("unknown command %q for %q: use one of %s", args[0], c.CommandPath(), strings.Join(names, ", "))
		}
		return fmt.Errorf("%q needs a subcommand: one of %s (see %s --help)", c.CommandPath(), strings.Join(names, ", "), c.CommandPath())
	}
}
