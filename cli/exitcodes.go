package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/state"
)

// Exit codes. A pipeline branches on them without parsing text; docs/ci.md
// lists them. When a run fails for several reasons, the first of target,
// stale, lock, state, interrupted, refresh, cloud, spec that applies wins.
const (
	ExitOK = 0
	// ExitError is any failure not listed below: bad flags, an unknown
	// command, a file that cannot be read.
	ExitError = 1
	// ExitChanges: plan --detailed-exitcode found changes to apply.
	ExitChanges = 2
	// ExitSpecInvalid: the spec has errors (validate, plan, apply -f), or
	// a command's arguments name what is not there (import).
	ExitSpecInvalid = 3
	// ExitStale: apply PLANFILE refused a plan because a resource it reads
	// or changes moved on; plan again.
	ExitStale = 4
	// ExitLocked: a region's lock was held past --lock-timeout.
	ExitLocked = 5
	// ExitCloud: a cloud call failed (an operation during apply, the
	// driver's credentials or account lookup).
	ExitCloud = 6
	// ExitRefresh: reading the cloud to refresh state failed during plan.
	ExitRefresh = 7
	// ExitState: the state backend failed (read, write, corrupt document).
	ExitState = 8
	// ExitTarget: a plan or state made for another target (the sandbox vs
	// a real cloud, another sandbox, another cloud account) was refused.
	ExitTarget = 9
	// ExitInterrupted: the run was interrupted (Ctrl-C, SIGTERM); state
	// records everything done.
	ExitInterrupted = 130
)

// exitError carries a specific exit code out of a command, with or without
// an error to print.
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

// diagError is returned once diagnostics were printed: it says how many
// errors there were and where they came from, and carries their exit code.
type diagError struct {
	bySource map[diag.Source]int
}

// sourceOrder ranks diagnostic sources: the first present decides the exit
// code.
var sourceOrder = []diag.Source{diag.SourceTarget, diag.SourceLock, diag.SourceState, diag.SourceRefresh, diag.SourceCloud, diag.SourceSpec, diag.SourceArgs}

func (e *diagError) Error() string {
	total := 0
	var parts []string
	var only diag.Source
	for _, src := range sourceOrder {
		n := e.bySource[src]
		if n == 0 {
			continue
		}
		total += n
		only = src
		parts = append(parts, fmt.Sprintf("%d %s", n, src.Describe()))
	}
	noun := "errors"
	if total == 1 {
		noun = "error"
	}
	if len(parts) == 1 {
		return fmt.Sprintf("%d %s %s; nothing was changed", total, noun, only.Describe())
	}
	return fmt.Sprintf("%d %s (%s); nothing was changed", total, noun, strings.Join(parts, ", "))
}

func (e *diagError) code() int {
	for _, src := range sourceOrder {
		if e.bySource[src] > 0 {
			return sourceExitCode(src)
		}
	}
	return ExitError
}

func sourceExitCode(src diag.Source) int {
	switch src {
	case diag.SourceTarget:
		return ExitTarget
	case diag.SourceLock:
		return ExitLocked
	case diag.SourceState:
		return ExitState
	case diag.SourceRefresh:
		return ExitRefresh
	case diag.SourceCloud:
		return ExitCloud
	}
	return ExitSpecInvalid
}

// applyFailedError says an apply did not finish because operations failed
// in the cloud; each failure was printed above it.
type applyFailedError struct {
	verb     string
	failures int
	// cause is what the engine returned (resource errors, a state write
	// failure, the interruption): it decides the exit code, and was
	// printed already.
	cause error
}

func (e *applyFailedError) Error() string {
	return fmt.Sprintf("%s incomplete: %d problem(s), printed above; state records everything done, run the command again to continue", e.verb, e.failures)
}

func (e *applyFailedError) Unwrap() error { return e.cause }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var de *diagError
	if errors.As(err, &de) {
		return de.code()
	}
	var te *plan.TargetError
	var tr *targetRefusal
	var se *plan.StaleError
	var le *state.LockError
	var ste *plan.StateError
	var be *backendError
	var ce *state.ConflictError
	var af *applyFailedError
	var re *plan.ResourceError
	var ae *plan.AccountError
	switch {
	case errors.As(err, &te), errors.As(err, &tr), plan.IsWrongTarget(err):
		return ExitTarget
	case errors.As(err, &se):
		return ExitStale
	case errors.As(err, &le):
		return ExitLocked
	case errors.As(err, &ste), errors.As(err, &ce), errors.As(err, &be):
		return ExitState
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &af), errors.As(err, &re), errors.As(err, &ae):
		return ExitCloud
	}
	return ExitError
}
