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
	"os/signal"
	"syscall"
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

// exitError carries a specific exit code (2 for --detailed-exitcode with
// changes) out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Main runs regionctl with args (without the program name) and returns the
// process exit code: 0 success, 1 error, 2 changes under --detailed-exitcode.
// SIGINT and SIGTERM cancel the run's context: apply stops starting work,
// lets in-flight operations finish and persists state before exiting.
func Main(args []string, cfg Config) int {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	go func() {
		select {
		case <-signals:
			fmt.Fprintln(cfg.Stderr, "\nInterrupt received: letting operations in flight finish and saving state; no new work starts.")
			cancel()
		case <-ctx.Done():
		}
	}()
	root := newRoot(&cfg)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(cfg.Stderr, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(cfg.Stderr, "Error:", err)
	return 1
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
}

func newRoot(cfg *Config) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "regionctl",
		Short: "Provision the same region on any cloud from one declarative spec",
		Long: `regionctl plans and applies regions — a network, a managed Kubernetes cluster
with node pools, StorageClasses and load balancers — onto AWS, GCP or Azure
from one spec, keeping per-region state with locking.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			g.parallelismSet = cmd.Flags().Changed("parallelism")
			return g.validate()
		},
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
	pf.StringVar(&g.stateDir, "state-dir", ".regionctl/state", "directory of the local state backend")
	registerBackendFlags(pf, g)
	pf.StringVar(&g.sandboxDir, "sandbox-dir", sandbox.DefaultDir, "where the sandbox keeps its emulated cloud")
	pf.BoolVar(&g.sandbox, "sandbox", false, "point drivers at the offline sandbox emulators (also REGIONCTL_SANDBOX=1)")
	pf.BoolVar(&g.forceConflicts, "force-conflicts", false, "server-side apply of StorageClasses and Services takes over fields another field manager owns (default: report the conflict)")

	app := &app{cfg: cfg, g: g}
	root.AddCommand(
		app.validateCmd(),
		app.planCmd(),
		app.applyCmd(),
		app.destroyCmd(),
		app.showCmd(),
		app.stateCmd(),
		app.taintCmd(),
		app.untaintCmd(),
		app.driversCmd(),
		app.schemaCmd(),
		app.versionCmd(),
		app.sandboxCmd(),
		app.kubeconfigCmd(),
		app.kubeTokenCmd(),
	)
	return root
}
