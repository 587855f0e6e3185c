package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

func (a *app) validateCmd() *cobra.Command {
	var sf specFlags
	cmd := &cobra.Command{
		Use:   "validate -f PATH",
		Short: "Check region specs, including what each region's driver supports, offline: no credentials, no network",
		Long: `validate checks every region of the specs: the spec itself, what its
driver supports (capabilities, overrides) and that the driver can expand it.
It reads no credentials and calls nothing, for any driver, so it runs on any
machine; what only credentials can tell (a default GCP project, an AWS
account) is checked by plan. Every problem of every region is reported,
each once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			regions, err := a.loadRegions(ctx, &sf)
			if err != nil {
				return err
			}
			if err := a.report(a.checkDrivers(ctx, regions)); err != nil {
				return err
			}
			fmt.Fprintf(a.cfg.Stdout, "%d region(s) valid: %s\n", len(regions), strings.Join(regionNames(regions), ", "))
			return nil
		},
	}
	sf.register(cmd.Flags())
	return cmd
}

// checkDrivers runs the driver-aware checks that need no credentials and no
// API call, on drivers built offline: the provider is registered, the
// region fits its capabilities, the driver's own validation (overrides)
// passes, and the region expands. Every region is checked, whatever the
// others found.
func (a *app) checkDrivers(ctx context.Context, regions []*spec.Region) diag.Diagnostics {
	var all diag.Diagnostics
	for _, r := range regions {
		all = append(all, a.checkDriver(ctx, r)...)
	}
	return all
}

func (a *app) checkDriver(ctx context.Context, r *spec.Region) diag.Diagnostics {
	name := r.Spec.Provider
	reg := a.registry().registry
	if _, ok := reg[name]; !ok {
		d := diag.Diagnostic{
			Severity: diag.Error,
			Pos:      r.Pos("spec.provider"),
			Path:     "spec.provider",
			Summary:  fmt.Sprintf("no driver named %q", name),
			Fix:      "use one of: " + strings.Join(reg.Names(), ", "),
		}
		if near, ok := spec.DidYouMean(name, reg.Names()); ok {
			d.Fix = fmt.Sprintf("did you mean %q?", near)
		}
		return diag.Diagnostics{d}
	}
	drv, err := a.offlineDriver(ctx, name)
	if err != nil {
		return diag.Diagnostics{{Severity: diag.Error, Pos: r.Pos("spec.provider"), Path: "spec.provider", Summary: err.Error()}}
	}
	ds := providers.CheckRegion(r, drv.Capabilities())
	if v, ok := drv.(providers.Validator); ok {
		ds = append(ds, v.Validate(ctx, r)...)
	}
	if ds.HasErrors() {
		return ds
	}
	resp, err := drv.Expand(ctx, providers.ExpandRequest{Region: r})
	if err != nil {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos("spec"), Summary: fmt.Sprintf("region %s: %v", r.Metadata.Name, err)})
	}
	return append(ds, resp.Diagnostics...)
}

func (a *app) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the region spec, for editors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := spec.JSONSchema()
			if err != nil {
				return fmt.Errorf("build schema: %w", err)
			}
			_, err = a.cfg.Stdout.Write(append(b, '\n'))
			return err
		},
	}
}
