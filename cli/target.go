package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// Where the local backend keeps state by default: .regionctl/state for
// real clouds, and inside the sandbox directory with --sandbox, so a sandbox
// run can never overwrite a real region's state, nor the other way round.
const (
	defaultStateDir = ".regionctl/state"
	sandboxStateDir = "state" // under --sandbox-dir
)

// stateDir is the local backend's directory: --state-dir when given, else
// the sandbox's (with --sandbox), else defaultStateDir.
func (a *app) stateDir() string {
	switch {
	case a.g.stateDir != "":
		return a.g.stateDir
	case a.useSandbox():
		return filepath.Join(a.g.sandboxDir, sandboxStateDir)
	}
	return defaultStateDir
}

// sandboxTarget is the target of a --sandbox run: the sandbox in
// --sandbox-dir, whose ID is made the first time.
func (a *app) sandboxTarget() (state.Target, error) {
	dir, err := filepath.Abs(a.g.sandboxDir)
	if err != nil {
		return state.Target{}, fmt.Errorf("sandbox: %w", err)
	}
	id, err := sandbox.ID(dir)
	if err != nil {
		return state.Target{}, err
	}
	return state.Target{Sandbox: id, SandboxDir: dir}, nil
}

// targetRefusal is a plan file or state refused, before any driver is
// built, because it was made for another target than the flags select.
type targetRefusal struct{ msg string }

func (e *targetRefusal) Error() string { return e.msg }

// checkPlanTarget refuses a plan file made for another target than this
// run's flags select (the sandbox or a real cloud; which sandbox). It runs
// before the state backend is opened or any driver is built, so a sandbox
// plan applied without --sandbox reads no credentials and makes no network
// call. The account of a real target is checked by the engine, once the
// driver can resolve it.
func (a *app) checkPlanTarget(p *plan.Plan, path string) error {
	for _, rp := range p.Regions {
		if rp.Target == nil {
			return &targetRefusal{fmt.Sprintf("plan file %s does not say which target it was made for (sandbox or real cloud; made by an older regionctl): refusing to guess; plan again", path)}
		}
		if err := a.checkTarget(*rp.Target, "plan file "+path, rp.Region, "apply", path); err != nil {
			return err
		}
	}
	return nil
}

// checkTarget refuses a recorded target (of a plan file or a state) that
// is not what the flags select. It reads only the sandbox's ID file. args,
// when given, are the command to suggest with the right flags.
func (a *app) checkTarget(t state.Target, what, region string, args ...string) error {
	switch {
	case t.IsSandbox() && !a.useSandbox():
		sandboxFlags := []string{"--sandbox", "--sandbox-dir", t.SandboxDir}
		how := "add " + strings.Join(sandboxFlags, " ")
		if len(args) > 0 {
			how = "run: " + a.commandLine(sandboxFlags, args...)
		}
		return &targetRefusal{fmt.Sprintf("%s (region %s) was made against %s, but this command targets the real clouds (no --sandbox): refusing before reading any credentials or calling anything. To use its sandbox, %s",
			what, region, t, how)}
	case !t.IsSandbox() && a.useSandbox():
		return &targetRefusal{fmt.Sprintf("%s (region %s) was made against %s, but this command has --sandbox: refusing. Run it without --sandbox, with credentials for that account", what, region, t)}
	case !t.IsSandbox():
		return nil
	}
	dir, _ := filepath.Abs(a.g.sandboxDir)
	id, err := sandbox.ReadID(a.g.sandboxDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &targetRefusal{fmt.Sprintf("%s (region %s) was made against %s, but %s holds no sandbox: refusing (a new sandbox does not have its resources); use --sandbox-dir %s, or plan again", what, region, t, dir, t.SandboxDir)}
	case err != nil:
		return err
	case id != t.Sandbox:
		return &targetRefusal{fmt.Sprintf("%s (region %s) was made against %s, but --sandbox-dir %s is another sandbox (id %s): refusing; use --sandbox-dir %s, or plan again", what, region, t, dir, id, t.SandboxDir)}
	}
	return nil
}

// checkStateTargets refuses, before any driver is built, to plan regions
// whose state was written against another kind of target (a sandbox state
// in a real run, or the other way round, when --state-dir points both at
// one directory). The account is checked by the engine.
func (a *app) checkStateTargets(ctx context.Context, be state.Reader, regions []string) error {
	for _, name := range regions {
		st, err := be.Read(ctx, name)
		switch {
		case errors.Is(err, state.ErrNoState):
			continue
		case err != nil:
			return &plan.StateError{Region: name, Err: fmt.Errorf("read state: %w", err)}
		}
		if st.Target != nil {
			if err := a.checkTarget(*st.Target, "the state", name); err != nil {
				return err
			}
		}
	}
	return nil
}

// commandLine is a regionctl command a user can paste to run args with this
// run's global flags (state location, backend file, sandbox) spelled out;
// extra replaces the sandbox flags when given.
func (a *app) commandLine(extra []string, args ...string) string {
	words := []string{"regionctl"}
	words = append(words, args...)
	switch {
	case extra != nil:
		words = append(words, extra...)
	case a.useSandbox():
		words = append(words, "--sandbox")
		if a.g.sandboxDir != sandbox.DefaultDir {
			words = append(words, "--sandbox-dir", a.g.sandboxDir)
		}
	}
	if a.g.stateDir != "" {
		words = append(words, "--state-dir", a.g.stateDir)
	}
	if a.g.backendConfig != "" {
		words = append(words, "--backend-config", a.g.backendConfig)
	}
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printTargets says what an apply or destroy is about to change: the
// sandbox, or per region the real cloud account the driver resolved.
func printTargets(w io.Writer, p *plan.Plan) {
	var sandboxes []string
	var real []string
	for _, rp := range p.Regions {
		if rp.Target == nil || !hasChanges(rp) {
			continue
		}
		if rp.Target.IsSandbox() {
			s := rp.Target.String()
			if len(sandboxes) == 0 || sandboxes[len(sandboxes)-1] != s {
				sandboxes = append(sandboxes, s)
			}
			continue
		}
		real = append(real, fmt.Sprintf("  %s (%s): %s", rp.Region, rp.Provider, rp.Target))
	}
	if len(sandboxes)+len(real) > 0 {
		fmt.Fprintln(w)
	}
	for _, s := range sandboxes {
		fmt.Fprintf(w, "Target: %s (emulated; nothing real is changed).\n", s)
	}
	if len(real) > 0 {
		fmt.Fprintln(w, "Target: REAL infrastructure, in:")
		for _, l := range real {
			fmt.Fprintln(w, l)
		}
	}
}

func hasChanges(rp plan.RegionPlan) bool {
	for _, ch := range rp.Changes {
		if ch.Action != plan.NoOp {
			return true
		}
	}
	return false
}
