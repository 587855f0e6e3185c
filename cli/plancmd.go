package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/plan/render"
	"github.com/regionctl/regionctl/spec"
)

// planFlags are shared by plan, apply -f and destroy.
type planFlags struct {
	specFlags
	allowDestroy bool
	refresh      bool
	lock         bool
	// refreshOnly, targets and replace are --refresh-only, --target and
	// --replace (Terraform's meanings; see plan.PlanOptions).
	refreshOnly bool
	targets     []string
	replace     []string
}

func (f *planFlags) register(cmd *cobra.Command) {
	f.specFlags.register(cmd.Flags())
	cmd.Flags().BoolVar(&f.allowDestroy, "allow-destroy", false, "allow destroying or replacing stateful resources of regions with protect: true")
	cmd.Flags().BoolVar(&f.refresh, "refresh", true, "read every resource from the cloud before diffing (false: trust state; drift is not detected)")
	cmd.Flags().BoolVar(&f.lock, "lock", true, "hold the regions' state locks while planning")
	cmd.Flags().BoolVar(&f.refreshOnly, "refresh-only", false, "change nothing in the cloud: plan (and apply) only recording in state what changed outside regionctl")
	cmd.Flags().StringArrayVar(&f.targets, "target", nil, "limit the plan to ADDRESS (REGION/TYPE.NAME, TYPE.NAME or a spec element such as cluster.nodePools.NAME) and what it needs; repeatable")
	cmd.Flags().StringArrayVar(&f.replace, "replace", nil, "replace ADDRESS (same forms as --target) even if nothing about it changed; repeatable")
}

func (a *app) planCmd() *cobra.Command {
	var pf planFlags
	var of outputFlags
	var out string
	var detailed, destroy bool
	cmd := &cobra.Command{
		Use:   "plan -f PATH",
		Short: "Show what apply would change, without changing anything",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			format, err := of.resolve()
			if err != nil {
				return err
			}
			regions, err := a.loadRegions(ctx, &pf.specFlags)
			if err != nil {
				return err
			}
			be := a.backend()
			eng, err := a.engine(ctx, be)
			if err != nil {
				return err
			}
			if pf.lock {
				held, err := a.lockRegions(ctx, be, regionNames(regions), "plan")
				if err != nil {
					return err
				}
				defer held.release(a.cfg.Stderr)
			}
			p, err := a.makePlan(ctx, eng, regions, &pf, destroy)
			if err != nil {
				return err
			}
			if err := a.renderPlan(a.cfg.Stdout, p, format); err != nil {
				return err
			}
			if format == formatHuman {
				printTargets(a.cfg.Stdout, p)
			}
			if out != "" {
				if err := plan.WritePlanFile(out, p); err != nil {
					return err
				}
				if format == formatHuman {
					fmt.Fprintf(a.cfg.Stdout, "\nSaved the plan to %s. To apply exactly this plan, run:\n    %s\n", out, a.commandLine(nil, "apply", out))
				}
			}
			a.done("Plan")
			if detailed && p.HasChanges() {
				return &exitError{code: ExitChanges}
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the plan to FILE for a later `apply FILE`")
	of.register(cmd.Flags())
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 1 on error, 2 when there are changes")
	cmd.Flags().BoolVar(&destroy, "destroy", false, "plan the destruction of the regions")
	return cmd
}

// makePlan plans the regions and prints diagnostics.
func (a *app) makePlan(ctx context.Context, eng *plan.Engine, regions []*spec.Region, pf *planFlags, destroy bool) (*plan.Plan, error) {
	if err := a.checkStateTargets(ctx, eng.State, regionNames(regions)); err != nil {
		return nil, err
	}
	p, ds := eng.Plan(ctx, regions, plan.PlanOptions{
		Destroy:      destroy,
		AllowDestroy: pf.allowDestroy,
		SkipRefresh:  !pf.refresh,
		Rollout:      a.rollout,
		RefreshOnly:  pf.refreshOnly,
		Targets:      pf.targets,
		Replace:      pf.replace,
	})
	if err := a.report(ds); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("planning failed")
	}
	return p, nil
}

// Output formats of a plan (--format).
const (
	formatHuman    = "human"
	formatJSON     = "json"
	formatMarkdown = "markdown"
)

var planFormats = []string{formatHuman, formatJSON, formatMarkdown}

// formatValue is the --format flag: one of planFormats, checked when the
// flag is parsed so a typo fails before anything runs.
type formatValue struct{ v *string }

func (f formatValue) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}

func (f formatValue) Set(s string) error {
	if !slices.Contains(planFormats, s) {
		return fmt.Errorf("%q is not a format: use one of %s", s, strings.Join(planFormats, ", "))
	}
	*f.v = s
	return nil
}

func (formatValue) Type() string { return "format" }

// outputFlags are --format and its alias --json, for commands that print a
// plan.
type outputFlags struct {
	format string
	asJSON bool
}

func (f *outputFlags) register(fs *pflag.FlagSet) {
	f.format = formatHuman
	fs.Var(formatValue{&f.format}, "format", "how to print the plan: human, json (docs/json-output.md) or markdown (a pull-request comment, docs/ci.md)")
	fs.BoolVar(&f.asJSON, "json", false, "print the plan as JSON: the same as --format json")
}

// resolve returns the chosen format; --json with another --format is an
// error rather than a guess.
func (f *outputFlags) resolve() (string, error) {
	if !f.asJSON {
		return f.format, nil
	}
	if f.format != formatHuman && f.format != formatJSON {
		return "", fmt.Errorf("--json and --format %s disagree: give one of them", f.format)
	}
	return formatJSON, nil
}

// renderPlan prints a plan in one of planFormats.
func (a *app) renderPlan(w io.Writer, p *plan.Plan, format string) error {
	switch format {
	case formatJSON:
		return render.JSON(w, p)
	case formatMarkdown:
		return render.Markdown(w, p)
	}
	return render.Human(w, p, render.HumanOptions{Color: a.color(w)})
}

func (a *app) applyCmd() *cobra.Command {
	var pf planFlags
	var autoApprove bool
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Apply a saved plan, or plan and apply the specs given with -f",
		Long: `apply PLANFILE applies exactly the saved plan, and refuses it when state
changed since it was made. apply -f PATH plans, shows the plan, asks for
confirmation (or takes --auto-approve) and applies it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if len(args) == 1 {
				if len(pf.files) > 0 {
					return fmt.Errorf("give either a plan file or -f, not both")
				}
				return a.applyPlanFile(ctx, args[0])
			}
			return a.planAndApply(ctx, &pf, autoApprove, false)
		},
	}
	pf.register(cmd)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without asking for confirmation")
	return cmd
}

// planAndApply is apply -f and destroy: lock, plan, show, confirm, apply.
func (a *app) planAndApply(ctx context.Context, pf *planFlags, autoApprove, destroy bool) error {
	regions, err := a.loadRegions(ctx, &pf.specFlags)
	if err != nil {
		return err
	}
	operation := "apply"
	if destroy {
		operation = "destroy"
	}
	be := a.backend()
	eng, err := a.engine(ctx, be)
	if err != nil {
		return err
	}
	held, err := a.lockRegions(ctx, be, regionNames(regions), operation)
	if err != nil {
		return err
	}
	defer held.release(a.cfg.Stderr)
	ctx, stop := held.guard(ctx)
	defer stop()
	p, err := a.makePlan(ctx, eng, regions, pf, destroy)
	if err != nil {
		return err
	}
	return a.showConfirmApply(ctx, eng, p, autoApprove)
}

// showConfirmApply prints the plan, asks for confirmation and applies it.
func (a *app) showConfirmApply(ctx context.Context, eng *plan.Engine, p *plan.Plan, autoApprove bool) error {
	if err := a.renderPlan(a.cfg.Stdout, p, formatHuman); err != nil {
		return err
	}
	if !p.HasChanges() {
		return nil
	}
	printTargets(a.cfg.Stdout, p)
	if !autoApprove {
		question := "Do you want to perform these actions?"
		switch {
		case p.Destroy:
			question = "Do you really want to destroy these regions? There is no undo."
		case p.RefreshOnly:
			question = "Do you want to record these changes made outside regionctl in state? The cloud is not changed."
		}
		if err := a.confirm(question); err != nil {
			return err
		}
	}
	fmt.Fprintln(a.cfg.Stdout)
	return a.apply(ctx, eng, p)
}

// applyPlanFile applies a saved plan under the locks of its regions.
func (a *app) applyPlanFile(ctx context.Context, path string) error {
	p, err := plan.ReadPlanFile(path)
	if err != nil {
		return err
	}
	// Before any backend, credentials or network: the plan's target must
	// be the one the flags select.
	if err := a.checkPlanTarget(p, path); err != nil {
		return err
	}
	if !p.HasChanges() {
		fmt.Fprintln(a.cfg.Stdout, "The plan has no changes: nothing to apply.")
		return nil
	}
	var names []string
	for _, r := range p.Regions {
		if hasChanges(r) {
			names = append(names, r.Region)
		}
	}
	be := a.backend()
	eng, err := a.engine(ctx, be)
	if err != nil {
		return err
	}
	held, err := a.lockRegions(ctx, be, names, "apply")
	if err != nil {
		return err
	}
	defer held.release(a.cfg.Stderr)
	ctx, stop := held.guard(ctx)
	defer stop()
	printTargets(a.cfg.Stdout, p)
	fmt.Fprintln(a.cfg.Stdout)
	return a.apply(ctx, eng, p)
}

func (a *app) destroyCmd() *cobra.Command {
	var pf planFlags
	var autoApprove bool
	cmd := &cobra.Command{
		Use:   "destroy (-f PATH | --region NAME...)",
		Short: "Delete every resource of the regions, in reverse dependency order",
		Long: `destroy deletes every resource regionctl manages in the regions given by -f
(optionally narrowed with --region), or, when their specs are gone, in the
regions named with --region alone (read from state). Regions with
protect: true refuse to lose stateful resources unless --allow-destroy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if len(pf.files) > 0 {
				return a.planAndApply(ctx, &pf, autoApprove, true)
			}
			if len(a.g.regions) == 0 {
				return fmt.Errorf("destroy needs -f PATH, or --region NAME for regions whose spec is gone")
			}
			be := a.backend()
			eng, err := a.engine(ctx, be)
			if err != nil {
				return err
			}
			held, err := a.lockRegions(ctx, be, a.g.regions, "destroy")
			if err != nil {
				return err
			}
			defer held.release(a.cfg.Stderr)
			ctx, stop := held.guard(ctx)
			defer stop()
			if err := a.checkStateTargets(ctx, be, a.g.regions); err != nil {
				return err
			}
			p, ds := eng.PlanDestroyFromState(ctx, a.g.regions, plan.PlanOptions{
				AllowDestroy: pf.allowDestroy, SkipRefresh: !pf.refresh,
				Targets: pf.targets, Replace: pf.replace, RefreshOnly: pf.refreshOnly, // the engine refuses the last two in a destroy
			})
			if err := a.report(ds); err != nil {
				return err
			}
			return a.showConfirmApply(ctx, eng, p, autoApprove)
		},
	}
	pf.register(cmd)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "destroy without asking for confirmation")
	return cmd
}
