package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/plugin"
)

// listedDriver is one entry of `regionctl drivers --json`: the driver's
// capabilities, with where it comes from.
type listedDriver struct {
	providers.Capabilities
	// Source is "builtin" or "plugin".
	Source string `json:"source"`
	// Plugin is set for a driver plugin: its executable, version and
	// protocol, and which search folder it was found in.
	Plugin *listedPlugin `json:"plugin,omitempty"`
}

type listedPlugin struct {
	plugin.Info
	Origin   string   `json:"origin"`
	Shadowed []string `json:"shadowed,omitempty"`
}

func (a *app) driversCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "drivers",
		Short: "List the cloud drivers (built in and plugins) and their capabilities",
		Long: `drivers lists every driver a spec may name in spec.provider: the ones built into
regionctl, and driver plugins — executables named regionctl-driver-NAME found,
in this order, in the --plugin-dir folders, $REGIONCTL_PLUGIN_DIR,
./.regionctl/plugins, ~/.regionctl/plugins and $PATH (the first of each name
wins; a plugin named like a built-in driver is not used). Each plugin is
started to ask for its capabilities.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			reg := a.registry()
			var all []listedDriver
			var broken []error // a plugin that does not start hides no other driver
			for _, name := range reg.registry.Names() {
				d, err := a.offlineDriver(ctx, name) // capabilities need no credentials
				if err != nil {
					broken = append(broken, err)
					continue
				}
				l := listedDriver{Capabilities: d.Capabilities(), Source: "builtin"}
				if l.Version == "" {
					l.Version = Version
				}
				if info, ok := pluginInfo(d); ok {
					f := reg.plugins[name]
					l.Source, l.Plugin = "plugin", &listedPlugin{Info: info, Origin: f.Origin, Shadowed: f.Shadowed}
				}
				all = append(all, l)
			}
			for _, f := range reg.ignored {
				fmt.Fprintf(a.cfg.Stderr, "Warning: plugin %s is not used: %q is a built-in driver.\n", f.Path, f.Name)
			}
			if asJSON {
				enc := json.NewEncoder(a.cfg.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"format_version": "1", "drivers": all}); err != nil {
					return err
				}
				return errors.Join(broken...)
			}
			if len(all) == 0 && len(broken) == 0 {
				fmt.Fprintln(a.cfg.Stdout, "No drivers registered.")
				return nil
			}
			tw := tabwriter.NewWriter(a.cfg.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSOURCE\tKUBERNETES\tLOCATIONS\tMACHINES\tTIERS\tLB SCHEMES\tDESCRIPTION")
			for _, d := range all {
				source := "built in"
				if d.Plugin != nil {
					source = fmt.Sprintf("%s (protocol %d.%d)", d.Plugin.Path, d.Plugin.Protocol, d.Plugin.ProtocolMinor)
				}
				locs := make([]string, 0, len(d.Locations))
				for l := range d.Locations {
					locs = append(locs, l)
				}
				slices.Sort(locs)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", d.Name, d.Version, source, strings.Join(d.KubernetesVersions, ","),
					len(locs), len(d.Machines), strings.Join(d.StorageTiers, ","), strings.Join(d.LoadBalancerSchemes, ","), d.Description)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return errors.Join(broken...)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print capabilities as JSON")
	return cmd
}
