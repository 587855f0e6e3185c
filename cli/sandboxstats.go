package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/sandbox"
)

// sandboxStatsCmd prints the running sandbox's request log: how many
// requests each cloud operation got, how many its rate budgets refused,
// and the sandbox's peak memory.
func (a *app) sandboxStatsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the running sandbox's request log: calls per operation, throttles, peak memory",
		Long: `stats asks the running sandbox (regionctl sandbox up) what it has served since
it started: requests per cloud operation (SDK retries and faulted requests
included), the requests its rate budgets throttled (sandbox config
throttle: true), and its peak resident memory. The same JSON is served at
GET /_sandbox/stats on every sandbox endpoint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sandbox.ReadStats(a.g.sandboxDir)
			if err != nil {
				return fmt.Errorf("%w (is the sandbox running? regionctl sandbox up)", err)
			}
			if asJSON {
				enc := json.NewEncoder(a.cfg.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"format_version": "1", "stats": st})
			}
			tw := tabwriter.NewWriter(a.cfg.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "OPERATION\tREQUESTS\tTHROTTLED\t")
			total, throttled := 0, 0
			for _, op := range slices.Sorted(maps.Keys(st.Requests)) {
				if !sandbox.IsCloudOperation(op) {
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t\n", op, st.Requests[op], st.Throttled[op])
				total += st.Requests[op]
				throttled += st.Throttled[op]
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t\n", "total cloud API calls", total, throttled)
			if err := tw.Flush(); err != nil {
				return err
			}
			var plumbing []string
			for _, op := range slices.Sorted(maps.Keys(st.Requests)) {
				if !sandbox.IsCloudOperation(op) {
					plumbing = append(plumbing, fmt.Sprintf("%s %d", op, st.Requests[op]))
				}
			}
			if len(plumbing) > 0 {
				fmt.Fprintf(a.cfg.Stdout, "Not cloud API calls (tokens, the sandbox's own documents): %s\n", strings.Join(plumbing, ", "))
			}
			fmt.Fprintf(a.cfg.Stdout, "Sandbox peak memory: %.1f MiB (its kube-apiservers are separate processes)\n", float64(st.PeakRSSKiB)/1024)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
