package cli

import (
	"errors"
	"fmt"

	"github.com/regionctl/regionctl/providers/budget"
)

// ErrBadFlag is wrapped by the errors of flag values that parse but make no
// sense (a parallelism of 0, a negative timeout), so a caller can tell a
// usage error from a failed run.
var ErrBadFlag = errors.New("invalid flag value")

// checkPublishedBudget refuses a bucket a built-in cloud does not publish;
// another cloud's are checked when its driver is built.
func checkPublishedBudget(cloud, bucket string) error {
	if budget.Published[cloud] == nil {
		return nil
	}
	return budget.Check(cloud, bucket)
}

// validate refuses global flag values that parse but make no sense, before
// any command runs; they used to be accepted and quietly replaced.
func (g *globals) validate() error {
	if g.parallelismSet && g.parallelism < 1 {
		return fmt.Errorf("%w: --parallelism %d: give how many cloud operations may run at once, at least 1 (default: as many as each cloud's rate budgets allow)", ErrBadFlag, g.parallelism)
	}
	for _, f := range g.rateBudgets {
		// A built-in cloud's buckets are known now; a driver's own (a
		// plugin's) once the run builds it (app.rateBudgets).
		if _, _, err := parseOverride(f, checkPublishedBudget); err != nil {
			return fmt.Errorf("%w: --rate-budget %v", ErrBadFlag, err)
		}
	}
	if g.lockTimeout < 0 {
		return fmt.Errorf("%w: --lock-timeout %s: give how long to wait for a region's lock, 0 or more (0 fails at once when it is held)", ErrBadFlag, g.lockTimeout)
	}
	return nil
}
