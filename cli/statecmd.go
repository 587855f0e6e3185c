package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

func (a *app) showCmd() *cobra.Command {
	var of outputFlags
	cmd := &cobra.Command{
		Use:   "show [PLANFILE]",
		Short: "Show a saved plan, or the state of every region",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			format, err := of.resolve()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				p, err := plan.ReadPlanFile(args[0])
				if err != nil {
					return err
				}
				if err := a.renderPlan(a.cfg.Stdout, p, format); err != nil {
					return err
				}
				if format == formatHuman {
					printTargets(a.cfg.Stdout, p)
				}
				return nil
			}
			if format == formatMarkdown {
				return fmt.Errorf("--format markdown shows a plan file (show PLANFILE --format markdown); state is shown as text or JSON")
			}
			asJSON := format == formatJSON
			states, err := a.readStates(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.cfg.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"format_version": "1", "states": states})
			}
			if len(states) == 0 {
				fmt.Fprintln(a.cfg.Stdout, "No state: no region has been applied yet.")
				return nil
			}
			for _, st := range states {
				fmt.Fprintf(a.cfg.Stdout, "# region %s (provider %s, serial %d, lineage %s)\n", st.Region, st.Provider, st.Serial, st.Lineage)
				for _, r := range st.Resources {
					fmt.Fprintf(a.cfg.Stdout, "%s  id=%s  status=%s\n", r.Key(), r.ID, r.Status)
				}
				fmt.Fprintln(a.cfg.Stdout)
			}
			return nil
		},
	}
	of.register(cmd.Flags())
	return cmd
}

// readStates reads the state of the regions selected with --region, or of
// every region with state.
func (a *app) readStates(ctx context.Context) ([]*state.State, error) {
	return a.readStatesOf(ctx, a.g.regions)
}

// readStatesOf reads the state of the named regions (an error when one has
// none), or of every region with state when names is empty.
func (a *app) readStatesOf(ctx context.Context, names []string) ([]*state.State, error) {
	be := a.backend()
	explicit := len(names) > 0
	if !explicit {
		var err error
		if names, err = be.Regions(ctx); err != nil {
			return nil, &plan.StateError{Region: "(all)", Err: fmt.Errorf("list regions: %w", err)}
		}
	}
	var out []*state.State
	for _, n := range names {
		st, err := be.Read(ctx, n)
		if errors.Is(err, state.ErrNoState) && !explicit {
			continue
		}
		if err != nil {
			return nil, &plan.StateError{Region: n, Err: fmt.Errorf("read: %w", err)}
		}
		out = append(out, st)
	}
	return out, nil
}

func (a *app) stateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect and repair state: list, show, rm, mv, lock list, unlock",
	}
	cmd.AddCommand(a.stateListCmd(), a.stateShowCmd(), a.stateRmCmd(), a.stateMvCmd(), a.stateLockCmd(), a.stateUnlockCmd())
	return cmd
}

func (a *app) stateListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the resources in state (of --region, or all regions)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			states, err := a.readStates(cmd.Context())
			if err != nil {
				return err
			}
			for _, st := range states {
				for _, r := range st.Resources {
					fmt.Fprintln(a.cfg.Stdout, r.Key())
				}
			}
			return nil
		},
	}
}

func (a *app) stateShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show one resource in state as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			region, _, _, err := providers.SplitAddress(args[0])
			if err != nil {
				return err
			}
			st, err := a.backend().Read(cmd.Context(), region)
			if err != nil {
				return &plan.StateError{Region: region, Err: fmt.Errorf("read: %w", err)}
			}
			r, ok := st.Find(args[0])
			if !ok {
				return fmt.Errorf("no resource %s in the state of region %s (see `regionctl state list --region %s`)", args[0], region, region)
			}
			enc := json.NewEncoder(a.cfg.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		},
	}
}

func (a *app) stateRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm ADDRESS...",
		Short: "Forget resources without deleting them from the cloud",
		Long: `state rm removes resources from state; the cloud objects are left alone and
regionctl no longer manages them. State remembers each object's ID: if the spec
still wants a resource at that address, the next plan offers to adopt the
object (shown as "<=", "1 to import") instead of creating a second one.
Remove the element from the spec too to let the object go for good.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			byRegion := map[string][]string{}
			var regions []string
			for _, addr := range args {
				region, _, _, err := providers.SplitAddress(addr)
				if err != nil {
					return err
				}
				if _, ok := byRegion[region]; !ok {
					regions = append(regions, region)
				}
				byRegion[region] = append(byRegion[region], addr)
			}
			be := a.backend()
			held, err := a.lockRegions(ctx, be, regions, "state rm")
			if err != nil {
				return err
			}
			defer held.release(a.cfg.Stderr)
			for _, region := range regions {
				st, err := be.Read(ctx, region)
				if err != nil {
					return &plan.StateError{Region: region, Err: fmt.Errorf("read: %w", err)}
				}
				next := st.Clone()
				for _, addr := range byRegion[region] {
					if !next.Forget(addr) {
						return fmt.Errorf("no resource %s in the state of region %s; nothing was removed", addr, region)
					}
				}
				next.Serial = st.Serial + 1
				if err := be.Write(ctx, next, st.Serial); err != nil {
					return &plan.StateError{Region: region, Err: fmt.Errorf("write: %w", err)}
				}
				for _, addr := range byRegion[region] {
					fmt.Fprintf(a.cfg.Stdout, "Removed %s from state (the cloud object is untouched)\n", addr)
				}
			}
			return nil
		},
	}
}

func (a *app) stateLockCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lock", Short: "Inspect region locks"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List held locks, marking stale ones (lease run out, or holder process gone)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			be := a.backend()
			ls, err := be.Locks(cmd.Context())
			if err != nil {
				return fmt.Errorf("list locks: %w", err)
			}
			if len(ls) == 0 {
				fmt.Fprintln(a.cfg.Stdout, "No locks held.")
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(a.cfg.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REGION\tID\tOPERATION\tWHO\tPID\tSINCE\tLEASE UNTIL\tSTATUS")
			for _, l := range ls {
				status := "held"
				if why := state.StaleReason(be, l, now); why != "" {
					status = "STALE: " + why + " (break with: regionctl state unlock --stale --region " + l.Region + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.Region, l.ID, l.Operation, l.Who, l.PID,
					l.Created.UTC().Format(time.RFC3339), l.Expires.UTC().Format(time.RFC3339), status)
			}
			return tw.Flush()
		},
	})
	return cmd
}

func (a *app) stateUnlockCmd() *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "unlock (ID | --stale)",
		Short: "Break a lock left by a run that died",
		Long: `state unlock ID releases the lock with that ID (see state lock list), whoever
holds it: make sure its run is really gone. state unlock --stale releases only
stale locks (lease run out, or, with local state, a holder process on
this host that no longer exists), of --region or every region.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			be := a.backend()
			ls, err := be.Locks(ctx)
			if err != nil {
				return fmt.Errorf("list locks: %w", err)
			}
			switch {
			case stale && len(args) == 0:
				return a.breakStale(ctx, be, ls)
			case len(args) == 1 && !stale:
				for _, l := range ls {
					if l.ID == args[0] {
						if err := be.Unlock(ctx, l.Region, l.ID); err != nil {
							return fmt.Errorf("unlock region %s: %w", l.Region, err)
						}
						fmt.Fprintf(a.cfg.Stdout, "Released %s\n", l)
						return nil
					}
				}
				return fmt.Errorf("no lock with ID %s is held (see `regionctl state lock list`)", args[0])
			default:
				return fmt.Errorf("give a lock ID or --stale, not both or neither")
			}
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "release only stale locks (lease run out, or holder process gone)")
	return cmd
}

func (a *app) breakStale(ctx context.Context, be state.Locker, ls []state.LockInfo) error {
	want := map[string]bool{}
	for _, r := range a.g.regions {
		want[r] = true
	}
	broken := 0
	for _, l := range ls {
		if len(want) > 0 && !want[l.Region] {
			continue
		}
		if state.StaleReason(be, l, time.Now()) == "" {
			if len(want) > 0 {
				fmt.Fprintf(a.cfg.Stderr, "Not breaking a live lock: %s\n", l)
			}
			continue
		}
		info, err := state.BreakStale(ctx, be, l.Region, time.Now())
		if err != nil {
			return fmt.Errorf("break stale lock of region %s: %w", l.Region, err)
		}
		fmt.Fprintf(a.cfg.Stdout, "Released stale %s\n", info)
		broken++
	}
	if broken == 0 {
		fmt.Fprintln(a.cfg.Stdout, "No stale locks.")
	}
	return nil
}
