package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/backendconfig"
)

// kubeconfigCmd prints a kubeconfig for a region's cluster whose user runs
// `regionctl kube-token REGION` for every token, so no credential is
// written to the file.
func (a *app) kubeconfigCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "kubeconfig REGION",
		Short: "Print a kubeconfig for the region's cluster (credentials come from regionctl kube-token)",
		Long: `kubeconfig prints a kubeconfig for the Kubernetes cluster of REGION: the API
server's endpoint and CA from the region's state, and an exec credential
plugin (regionctl kube-token REGION) that makes a short-lived token the way
the cloud's own tooling does (EKS: a presigned STS GetCallerIdentity; GKE: an
OAuth2 access token from Application Default Credentials; AKS: the cluster
user credentials). No token is written to the file.

  regionctl kubeconfig prod-us-east > prod.kubeconfig
  kubectl --kubeconfig prod.kubeconfig get storageclass,svc -A`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			acc, err := a.clusterAccess(ctx, args[0], false)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("kubeconfig: find regionctl's own binary: %w", err)
			}
			pluginArgs, err := a.kubeTokenArgs(args[0])
			if err != nil {
				return err
			}
			name := args[0]
			cfg := clientcmdapi.NewConfig()
			cfg.Clusters[name] = &clientcmdapi.Cluster{Server: acc.Endpoint, CertificateAuthorityData: acc.CAPEM}
			cfg.AuthInfos["regionctl-"+name] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
				APIVersion:      "client.authentication.k8s.io/v1",
				Command:         self,
				Args:            pluginArgs,
				InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
			}}
			cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "regionctl-" + name}
			cfg.CurrentContext = name
			out, err := clientcmd.Write(*cfg)
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			_, err = a.cfg.Stdout.Write(out)
			return err
		},
	}
}

// kubeTokenArgs are the plugin's arguments: the region and the global
// flags that say where its state and sandbox are, as absolute paths so the
// kubeconfig works from any directory.
func (a *app) kubeTokenArgs(region string) ([]string, error) {
	stateDir, err := filepath.Abs(a.stateDir())
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	args := []string{"kube-token", region, "--state-dir", stateDir}
	// kubectl runs the plugin from wherever it is, so name the backend file
	// this run used (--backend-config, or regionctl.yaml here) explicitly.
	backendFile := a.g.backendConfig
	if backendFile == "" {
		if _, err := os.Stat(backendconfig.FileName); err == nil {
			backendFile = backendconfig.FileName
		}
	}
	if backendFile != "" {
		abs, err := filepath.Abs(backendFile)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		args = append(args, "--backend-config", abs)
	}
	for _, d := range a.g.pluginDirs { // the region's driver may be a plugin found there
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		args = append(args, "--plugin-dir", abs)
	}
	if a.useSandbox() {
		sbDir, err := filepath.Abs(a.g.sandboxDir)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		args = append(args, "--sandbox", "--sandbox-dir", sbDir)
	}
	return args, nil
}

// kubeTokenCmd is the exec credential plugin kubeconfig names: it prints an
// ExecCredential with a fresh token for kubectl and client-go.
func (a *app) kubeTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "kube-token REGION",
		Short:  "Print an ExecCredential with a short-lived token for the region's cluster (kubectl exec plugin)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acc, err := a.clusterAccess(cmd.Context(), args[0], true)
			if err != nil {
				return err
			}
			cred := clientauthv1.ExecCredential{
				TypeMeta: metav1.TypeMeta{APIVersion: "client.authentication.k8s.io/v1", Kind: "ExecCredential"},
				Status:   &clientauthv1.ExecCredentialStatus{Token: acc.Token},
			}
			if !acc.Expiry.IsZero() {
				t := metav1.NewTime(acc.Expiry.UTC().Truncate(time.Second))
				cred.Status.ExpirationTimestamp = &t
			}
			enc := json.NewEncoder(a.cfg.Stdout)
			return enc.Encode(cred)
		},
	}
}

// clusterAccess reads REGION's state and asks its driver how to reach the
// cluster (and, with token, for a fresh token).
func (a *app) clusterAccess(ctx context.Context, region string, token bool) (kubernetes.AccessResponse, error) {
	st, err := a.backend().Read(ctx, region)
	if errors.Is(err, state.ErrNoState) {
		return kubernetes.AccessResponse{}, fmt.Errorf("region %s has no state in %s: apply it first (regionctl apply -f SPEC)", region, a.stateDir())
	}
	if err != nil {
		return kubernetes.AccessResponse{}, &plan.StateError{Region: region, Err: fmt.Errorf("read: %w", err)}
	}
	if st.Target != nil {
		if err := a.checkTarget(*st.Target, "the state", region); err != nil {
			return kubernetes.AccessResponse{}, err
		}
	}
	d, err := a.driver(ctx, st.Provider)
	if err != nil {
		return kubernetes.AccessResponse{}, err
	}
	acc, ok := d.(kubernetes.Access)
	if !ok {
		return kubernetes.AccessResponse{}, fmt.Errorf("driver %q cannot reach its clusters (it does not implement kubernetes.Access)", st.Provider)
	}
	var insts []providers.Instance
	for _, r := range st.Resources {
		if r.Status != state.StatusCreated {
			continue
		}
		insts = append(insts, providers.Instance{Address: r.Address, Type: r.Type, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
	}
	resp, err := acc.ClusterAccess(ctx, kubernetes.AccessRequest{Resources: insts, Token: token})
	if err != nil {
		return kubernetes.AccessResponse{}, fmt.Errorf("region %s: %w", region, err)
	}
	return resp, nil
}
