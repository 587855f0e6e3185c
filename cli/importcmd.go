package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/spec"
)

// importCmd is `regionctl import ADDRESS CLOUD_ID`: bring an existing cloud
// object under management at once, as `terraform import` does.
func (a *app) importCmd() *cobra.Command {
	var sf specFlags
	cmd := &cobra.Command{
		Use:   "import -f PATH ADDRESS CLOUD_ID",
		Short: "Record an existing cloud object in state, so regionctl manages it instead of creating another",
		Long: `import reads the cloud object CLOUD_ID and records it in state at ADDRESS;
nothing in the cloud changes. The next plan shows how the object differs
from the spec and updates (or, for a field the cloud cannot change,
replaces) it.

ADDRESS is a resource address of a region in the specs (REGION/TYPE.NAME, as
plan shows it), or a spec element — network, cluster, cluster.nodePools.NAME,
storageClasses.NAME, loadBalancers.NAME[.address] — prefixed with REGION/
when the specs hold several regions. CLOUD_ID is the object's ID in any form
the driver accepts: on AWS the ID or ARN, on GCP the name, resource path or
self link, on Azure the name or ARM ID.

An object state already manages (in any region) is refused: use state mv.
To import from a pipeline, or many objects at once, write import blocks in
the spec instead (see docs/spec.md) and let plan show them.`,
		Example: `  regionctl import -f region.yaml prod-eu/cluster arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu
  regionctl import -f region.yaml prod-eu/cluster.nodePools.system prod-eu:system-1a2b3c4d`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			regions, err := a.loadRegions(ctx, &sf)
			if err != nil {
				return err
			}
			region, to, err := importRegion(regions, args[0])
			if err != nil {
				return err
			}
			be := a.backend()
			eng, err := a.engine(ctx, be)
			if err != nil {
				return err
			}
			held, err := a.lockRegions(ctx, be, []string{region.Metadata.Name}, "import")
			if err != nil {
				return err
			}
			defer held.release(a.cfg.Stderr)
			if err := a.checkStateTargets(ctx, be, []string{region.Metadata.Name}); err != nil {
				return err
			}
			res, ds := eng.Import(ctx, region, plan.ImportRequest{To: to, ID: args[1]})
			if err := a.report(ds); err != nil {
				return err
			}
			if res.Already {
				fmt.Fprintf(a.cfg.Stdout, "%s is already managed as %s (%s): nothing was changed.\n", res.ID, res.Address, res.Target)
				return nil
			}
			fmt.Fprintf(a.cfg.Stdout, "Imported %s %s as %s (%s).\n", res.Type, res.ID, res.Address, res.Target)
			planArgs := []string{"plan"}
			for _, f := range sf.files {
				planArgs = append(planArgs, "-f", f)
			}
			fmt.Fprintf(a.cfg.Stdout, "Nothing in the cloud changed. Run `%s` to see how it differs from the spec.\n", a.commandLine(nil, planArgs...))
			return nil
		},
	}
	sf.register(cmd.Flags())
	return cmd
}

// importRegion picks the region ADDRESS names ("REGION/..."), or the only
// region of the specs, and returns the address within it.
func importRegion(regions []*spec.Region, addr string) (*spec.Region, string, error) {
	var names []string
	for _, r := range regions {
		names = append(names, r.Metadata.Name)
	}
	if name, rest, ok := strings.Cut(addr, "/"); ok {
		for _, r := range regions {
			if r.Metadata.Name == name {
				return r, rest, nil
			}
		}
		return nil, "", fmt.Errorf("import %s: no region %s in the specs (have: %s)", addr, name, strings.Join(names, ", "))
	}
	if len(regions) != 1 {
		return nil, "", fmt.Errorf("import %s: the specs hold %d regions (%s): say which, as REGION/%s", addr, len(regions), strings.Join(names, ", "), addr)
	}
	return regions[0], addr, nil
}
