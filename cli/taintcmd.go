package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// taintCmd is `regionctl taint ADDRESS`: mark a resource for replacement by
// the next apply, as `terraform taint` does.
func (a *app) taintCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "taint ADDRESS",
		Short: "Mark a resource as tainted: the next apply replaces it",
		Long: `taint records in state that the object at ADDRESS is not to be trusted: the
next plan replaces it (deletes it and creates a new one, or the other way round
for create-before-destroy resources). Nothing in the cloud changes now. Undo it
with untaint. A protected region still refuses to replace stateful resources
without --allow-destroy.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.setTaint(cmd.Context(), args[0], true)
		},
	}
}

// untaintCmd is `regionctl untaint ADDRESS`, the inverse of taint.
func (a *app) untaintCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "untaint ADDRESS",
		Short: "Clear a resource's tainted mark: the next apply keeps it",
		Long: `untaint records in state that the tainted object at ADDRESS is usable after
all: the next plan refreshes and keeps it instead of replacing it. Use it when
you know better than the failed operation that tainted it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.setTaint(cmd.Context(), args[0], false)
		},
	}
}

// setTaint marks the resource at addr tainted (or created again), holding
// the region's lock, and writes state with compare-and-swap.
func (a *app) setTaint(ctx context.Context, addr string, taint bool) error {
	region, _, _, err := providers.SplitAddress(addr)
	if err != nil {
		return err
	}
	op := "untaint"
	if taint {
		op = "taint"
	}
	be := a.backend()
	held, err := a.lockRegions(ctx, be, []string{region}, op)
	if err != nil {
		return err
	}
	defer held.release(a.cfg.Stderr)
	st, err := be.Read(ctx, region)
	if errors.Is(err, state.ErrNoState) {
		return fmt.Errorf("no resource %s: region %s has no state (nothing was applied there); nothing was changed", addr, region)
	}
	if err != nil {
		return fmt.Errorf("read state of region %s: %w", region, err)
	}
	r, ok := st.Find(addr)
	if !ok {
		return fmt.Errorf("no resource %s in the state of region %s (see `regionctl state list --region %s`); nothing was changed", addr, region, region)
	}
	switch {
	case taint && r.ID == "":
		return fmt.Errorf("%s has no object in the cloud yet (its create is pending): there is nothing to taint; the next apply creates or adopts it", addr)
	case taint && r.Status == state.StatusTainted:
		fmt.Fprintf(a.cfg.Stdout, "%s is already tainted: the next apply replaces it.\n", addr)
		return nil
	case !taint && r.Status != state.StatusTainted:
		return fmt.Errorf("%s is not tainted (its status is %s): there is nothing to untaint", addr, r.Status)
	}
	next := st.Clone()
	r.Status = state.StatusCreated
	if taint {
		r.Status = state.StatusTainted
	}
	next.Put(r)
	next.Serial = st.Serial + 1
	if err := be.Write(ctx, next, st.Serial); err != nil {
		return fmt.Errorf("write state of region %s: %w", region, err)
	}
	if taint {
		fmt.Fprintf(a.cfg.Stdout, "%s (%s) is marked as tainted: the next apply replaces it.\n", addr, r.ID)
	} else {
		fmt.Fprintf(a.cfg.Stdout, "%s (%s) is no longer tainted: the next apply keeps it.\n", addr, r.ID)
	}
	return nil
}
