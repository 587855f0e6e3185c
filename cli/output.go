package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/state"
)

// OutputFormatVersion is the version of `regionctl output --json`.
const OutputFormatVersion = "1"

// regionOutput is what the next job of a pipeline needs from a region:
// where its cluster is and what it holds. It is read from state only and
// holds no credential (a CA certificate is public).
type regionOutput struct {
	Region         string         `json:"region"`
	Provider       string         `json:"provider"`
	Target         *state.Target  `json:"target,omitempty"`
	Cluster        *clusterOutput `json:"cluster,omitempty"`
	NodePools      []string       `json:"nodePools"`
	StorageClasses []string       `json:"storageClasses"`
	LoadBalancers  []lbOutput     `json:"loadBalancers"`
	Pending        []string       `json:"pending,omitempty"`
	Warnings       []string       `json:"warnings,omitempty"`
}

type clusterOutput struct {
	Name     string `json:"name"`
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	// CAData is the API server's CA bundle, base64 of PEM (as in a
	// kubeconfig's certificate-authority-data).
	CAData string `json:"caData"`
	// KubeconfigCommand prints a kubeconfig whose credentials come from
	// `regionctl kube-token` at use time.
	KubeconfigCommand string `json:"kubeconfigCommand"`
}

type lbOutput struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace,omitempty"`
	Addresses []string `json:"addresses"`
}

func (a *app) outputCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "output [REGION]",
		Short: "Print what the next pipeline job needs: cluster endpoint and CA, node pools, StorageClasses, load balancer addresses (from state, no credentials)",
		Long: `output reads the state of REGION (or of the regions given with --region, or
of every region with state) and prints, per region: the cluster's name,
API endpoint and CA, the command that prints a kubeconfig for it, the node
pool names, the StorageClass names and each load balancer's addresses. It
makes no cloud call and needs no credentials; nothing in it is secret.

  regionctl output prod-us-east --json | jq -r '.regions[0].cluster.endpoint'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			names := a.g.regions
			if len(args) == 1 {
				names = args
			}
			states, err := a.readStatesOf(ctx, names)
			if err != nil {
				return err
			}
			var outs []regionOutput
			for _, st := range states {
				o, err := a.regionOutput(ctx, st)
				if err != nil {
					return err
				}
				outs = append(outs, o)
			}
			if asJSON {
				if outs == nil {
					outs = []regionOutput{}
				}
				enc := json.NewEncoder(a.cfg.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"format_version": OutputFormatVersion, "regions": outs})
			}
			if len(outs) == 0 {
				fmt.Fprintln(a.cfg.Stdout, "No state: no region has been applied yet.")
				return nil
			}
			for i, o := range outs {
				if i > 0 {
					fmt.Fprintln(a.cfg.Stdout)
				}
				printRegionOutput(a, o)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON (format_version "+OutputFormatVersion+")")
	return cmd
}

// regionOutput summarizes one region's state. The driver, built offline,
// says which resources are the cluster and node pools (providers.Kinder)
// and where the cluster is (kubernetes.Access, without a token).
func (a *app) regionOutput(ctx context.Context, st *state.State) (regionOutput, error) {
	o := regionOutput{Region: st.Region, Provider: st.Provider, Target: st.Target,
		NodePools: []string{}, StorageClasses: []string{}, LoadBalancers: []lbOutput{}}
	var drv providers.Driver
	if _, ok := a.registry().registry[st.Provider]; ok {
		d, err := a.offlineDriver(ctx, st.Provider)
		if err != nil {
			return o, err
		}
		drv = d
	} else {
		o.Warnings = append(o.Warnings, fmt.Sprintf("no driver %q in this regionctl: cluster and node pools unknown", st.Provider))
	}
	kinder, _ := drv.(providers.Kinder)
	var insts []providers.Instance
	for _, r := range st.Resources {
		if r.Status != state.StatusCreated {
			if r.Status == state.StatusPending || r.Status == state.StatusTainted {
				o.Pending = append(o.Pending, fmt.Sprintf("%s (%s)", r.Address, r.Status))
			}
			continue
		}
		insts = append(insts, providers.Instance{Address: r.Address, Type: r.Type, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
		_, _, name, _ := providers.SplitAddress(r.Address)
		kind := providers.KindOther
		if kinder != nil {
			kind = kinder.Kind(r.Type)
		}
		switch {
		case kind == providers.KindNodePool:
			o.NodePools = append(o.NodePools, name)
		case r.Type == kubernetes.TypeStorageClass:
			o.StorageClasses = append(o.StorageClasses, stringOr(r.Inputs["name"], name))
		case r.Type == kubernetes.TypeService:
			lb := lbOutput{Name: name, Addresses: []string{}}
			lb.Namespace, _ = r.Inputs["namespace"].(string)
			if addrs, ok := r.Outputs["addresses"].([]any); ok {
				for _, x := range addrs {
					if s, ok := x.(string); ok && s != "" {
						lb.Addresses = append(lb.Addresses, s)
					}
				}
			}
			o.LoadBalancers = append(o.LoadBalancers, lb)
		case kind == providers.KindCluster:
			o.Cluster = &clusterOutput{Name: stringOr(r.Inputs["name"], r.ID), ID: r.ID}
		}
	}
	slices.Sort(o.NodePools)
	slices.Sort(o.StorageClasses)
	slices.SortFunc(o.LoadBalancers, func(x, y lbOutput) int { return strings.Compare(x.Name, y.Name) })
	if o.Cluster != nil {
		if acc, ok := drv.(kubernetes.Access); ok {
			resp, err := acc.ClusterAccess(ctx, kubernetes.AccessRequest{Resources: insts})
			if err != nil {
				o.Warnings = append(o.Warnings, err.Error())
			} else {
				o.Cluster.Endpoint = resp.Endpoint
				o.Cluster.CAData = base64.StdEncoding.EncodeToString(resp.CAPEM)
			}
		}
		o.Cluster.KubeconfigCommand = a.commandLine(nil, "kubeconfig", st.Region)
	}
	return o, nil
}

func stringOr(v any, fallback string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return fallback
}

func printRegionOutput(a *app, o regionOutput) {
	w := a.cfg.Stdout
	fmt.Fprintf(w, "# region %s (%s)\n", o.Region, o.Provider)
	if o.Target != nil {
		fmt.Fprintf(w, "target:          %s\n", o.Target)
	}
	if c := o.Cluster; c != nil {
		fmt.Fprintf(w, "cluster:         %s\n", c.Name)
		fmt.Fprintf(w, "endpoint:        %s\n", c.Endpoint)
		fmt.Fprintf(w, "ca data:         %s\n", abbreviate(c.CAData, 40))
		fmt.Fprintf(w, "kubeconfig:      %s > %s.kubeconfig\n", c.KubeconfigCommand, o.Region)
	} else {
		fmt.Fprintln(w, "cluster:         (none in state)")
	}
	fmt.Fprintf(w, "node pools:      %s\n", orNone(o.NodePools))
	fmt.Fprintf(w, "storage classes: %s\n", orNone(o.StorageClasses))
	if len(o.LoadBalancers) == 0 {
		fmt.Fprintln(w, "load balancers:  (none)")
	}
	for _, lb := range o.LoadBalancers {
		fmt.Fprintf(w, "load balancer:   %s: %s\n", lb.Name, orNone(lb.Addresses))
	}
	for _, p := range o.Pending {
		fmt.Fprintf(w, "not yet usable:  %s\n", p)
	}
	for _, warn := range o.Warnings {
		fmt.Fprintf(w, "warning:         %s\n", warn)
	}
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, ", ")
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "… (" + fmt.Sprint(len(s)) + " characters; --json prints it whole)"
}
