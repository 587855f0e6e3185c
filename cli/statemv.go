package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// stateMvCmd is `regionctl state mv SOURCE DESTINATION`: give a managed
// object another address in its region's state, as `terraform state mv`
// does, after a rename in the spec.
func (a *app) stateMvCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "mv SOURCE DESTINATION",
		Short: "Move a resource to another address in state, without touching the cloud",
		Long: `state mv records the object managed at SOURCE under DESTINATION instead (its
deposed objects too, and the dependencies other resources have on it). Use it
after renaming something in the spec — a node pool, a load balancer — so the
next plan keeps the object rather than deleting it and creating a new one.
Both addresses are REGION/TYPE.NAME of the same region and the same type;
nothing may be recorded at DESTINATION yet. Nothing in the cloud changes; run
plan afterwards to see that the spec and the moved object agree.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			from, to := args[0], args[1]
			fromRegion, fromType, _, err := providers.SplitAddress(from)
			if err != nil {
				return err
			}
			toRegion, toType, _, err := providers.SplitAddress(to)
			if err != nil {
				return err
			}
			switch {
			case fromRegion != toRegion:
				return fmt.Errorf("%s and %s are in different regions: state mv moves within a region; to move an object to another region, `regionctl state rm` it there and `regionctl import` it here", from, to)
			case fromType != toType:
				return fmt.Errorf("%s is a %s and %s a %s: an object keeps its type (change the spec instead, and let plan replace it)", from, fromType, to, toType)
			}
			be := a.backend()
			held, err := a.lockRegions(ctx, be, []string{fromRegion}, "state mv")
			if err != nil {
				return err
			}
			defer held.release(a.cfg.Stderr)
			st, err := be.Read(ctx, fromRegion)
			if errors.Is(err, state.ErrNoState) {
				return fmt.Errorf("no resource %s: region %s has no state; nothing was moved", from, fromRegion)
			}
			if err != nil {
				return &plan.StateError{Region: fromRegion, Err: fmt.Errorf("read: %w", err)}
			}
			next := st.Clone()
			moved, err := next.Move(from, to)
			if err != nil {
				return fmt.Errorf("%v; nothing was moved (see `regionctl state list --region %s`)", err, fromRegion)
			}
			verb := "Moved"
			if dryRun {
				verb = "Would move"
			} else {
				next.Serial = st.Serial + 1
				if err := be.Write(ctx, next, st.Serial); err != nil {
					return &plan.StateError{Region: fromRegion, Err: fmt.Errorf("write: %w", err)}
				}
			}
			for _, r := range moved {
				fmt.Fprintf(a.cfg.Stdout, "%s %s (%s) to %s\n", verb, from, movedWhat(r), to)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would move, and write nothing")
	return cmd
}

// movedWhat names the object state mv moved: its ID, and deposed if so.
func movedWhat(r state.Resource) string {
	switch {
	case r.Status == state.StatusDeposed:
		return "deposed " + r.ID
	case r.ID == "":
		return "pending create"
	}
	return r.ID
}
