package e2e

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
)

// TestMain lets the test binary stand in for regionctl when kubectl runs the
// kubeconfig's exec credential plugin (`<binary> kube-token REGION ...`):
// `regionctl kubeconfig` names its own executable, which in these in-process
// tests is the test binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "kube-token" {
		os.Exit(cli.Main(os.Args[1:], cli.Config{Registry: providers.Registry{"aws": aws.New, "azure": azure.New, "gcp": gcp.New}}))
	}
	code := m.Run()
	removeBinary()
	os.Exit(code)
}

// newKubeEnv is newAWSEnv with a real kube-apiserver behind the EKS cluster
// (scripts/kube-apiserver.sh provides it; CI never skips this test), so the
// copy of examples/aws.yaml keeps its StorageClasses and load balancers.
func newKubeEnv(t *testing.T) *env {
	t.Helper()
	requireKube(t)
	return newEnv(t, "aws.yaml", awsRegistry, sandbox.Options{}, true)
}

// kubectl runs kubectl with the kubeconfig regionctl printed.
func kubectl(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// secrets are strings no file or output regionctl writes may contain: an
// EKS token and any private key (the cluster CA's or the serving cert's).
var secrets = []string{"k8s-aws-v1.", "PRIVATE KEY"}

func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains %q", what, s)
		}
	}
}

// TestAWSInCluster: examples/aws.yaml's StorageClasses and load-balancer
// Service land in the EKS cluster's real API server, are visible to kubectl
// through `regionctl kubeconfig`, show as drift when edited by hand (and
// conflict with the hand edit's field manager until --force-conflicts), and
// go away with the API server on destroy. No token or key ever reaches
// state, the plan file or --json output.
func TestAWSInCluster(t *testing.T) {
	e := newKubeEnv(t)
	ctx := context.Background()
	planFile := filepath.Join(t.TempDir(), "plan.bin")

	pj := e.must(2, "plan", "-f", e.spec, "--json", "--out", planFile, "--detailed-exitcode")
	for _, addr := range []string{"kubernetes_storage_class.fast", "kubernetes_storage_class.bulk", "kubernetes_service.api"} {
		if !strings.Contains(pj.stdout, addr) {
			t.Errorf("plan --json does not mention %s", addr)
		}
	}
	began := time.Now()
	ap := e.must(0, "apply", planFile)
	t.Logf("apply took %s (the API server starts with the cluster)", time.Since(began).Round(time.Second))

	checkOutput(t, e, "fast", "bulk", "api")

	kc := e.must(0, "kubeconfig", region).stdout
	assertNoSecrets(t, "kubeconfig", kc)
	if strings.Contains(kc, "token:") {
		t.Errorf("kubeconfig holds a token:\n%s", kc)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("kubectl", func(t *testing.T) {
		out, err := kubectl(t, kubeconfig, "get", "storageclass,svc", "-A")
		if err != nil {
			t.Fatalf("kubectl get: %v\n%s", err, out)
		}
		t.Logf("kubectl get storageclass,svc -A:\n%s", out)
		for _, want := range []string{"storageclass.storage.k8s.io/fast (default)", "storageclass.storage.k8s.io/bulk", "storageclass.storage.k8s.io/gp2", "service/api", "LoadBalancer", "443:"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl output lacks %q", want)
			}
		}
		if strings.Contains(out, "gp2 (default)") {
			t.Errorf("EKS's gp2 is still a default class beside fast")
		}
	})

	t.Run("client-go", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := k8s.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := cs.StorageV1().StorageClasses().Get(ctx, "fast", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if fast.Provisioner != "ebs.csi.aws.com" || fast.Parameters["type"] != "gp3" || fast.Parameters["iops"] == "" ||
			string(*fast.ReclaimPolicy) != "Retain" || string(*fast.VolumeBindingMode) != "WaitForFirstConsumer" || !*fast.AllowVolumeExpansion {
			t.Errorf("fast = %s %v %v %v %v", fast.Provisioner, fast.Parameters, *fast.ReclaimPolicy, *fast.VolumeBindingMode, *fast.AllowVolumeExpansion)
		}
		svc, err := cs.CoreV1().Services("default").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eips := strings.Split(svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"], ",")
		if svc.Spec.Type != "LoadBalancer" || len(eips) != 3 || !strings.HasPrefix(eips[0], "eipalloc-") ||
			svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"] != "nlb" || svc.Spec.Selector["app"] != "gateway" ||
			len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.IntValue() != 8443 {
			t.Errorf("service api = %v %+v", svc.Annotations, svc.Spec)
		}
		// The EIPs' addresses are the Service's outputs in state.
		for _, r := range e.state(region).Resources {
			if r.Address == region+"/kubernetes_service.api" {
				if addrs, _ := r.Outputs["addresses"].([]any); len(addrs) != 3 {
					t.Errorf("kubernetes_service.api outputs = %v, want the 3 EIP addresses", r.Outputs)
				}
			}
		}
	})

	t.Run("drift", func(t *testing.T) {
		for _, p := range [][]string{
			{"patch", "storageclass", "bulk", "-p", `{"allowVolumeExpansion":true}`},
			{"patch", "svc", "api", "-p", `{"spec":{"selector":{"app":"hacked"}}}`},
		} {
			if out, err := kubectl(t, kubeconfig, p...); err != nil {
				t.Fatalf("kubectl %v: %v\n%s", p, err, out)
			}
		}
		r := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
		for _, want := range []string{"kubernetes_storage_class.bulk", "kubernetes_service.api", "allow_volume_expansion", "hacked"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("plan after hand edits lacks %q:\n%s", want, r.stdout)
			}
		}
		// kubectl-patch now owns those fields: apply reports the conflict…
		r = e.run("apply", "-f", e.spec, "--auto-approve")
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "--force-conflicts") {
			t.Fatalf("apply over a hand edit: exit %d, want a conflict naming --force-conflicts\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// …and takes them back only when told to.
		e.must(0, "apply", "-f", e.spec, "--auto-approve", "--force-conflicts")
		e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
		out, err := kubectl(t, kubeconfig, "get", "svc", "api", "-o", "jsonpath={.spec.selector.app}")
		if err != nil || out != "gateway" {
			t.Errorf("selector after a forced apply = %q, %v; want gateway", out, err)
		}
	})

	t.Run("immutable change replaces", func(t *testing.T) {
		// A StorageClass's parameters cannot change in place: moving bulk
		// to the ssd tier is a replacement, and the plan says why.
		e.editSpec("    - name: bulk\n      tier: standard", "    - name: bulk\n      tier: ssd")
		r := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
		var line string
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "kubernetes_storage_class.bulk") {
				line = l
			}
		}
		if !strings.Contains(line, "-/+") || !strings.Contains(line, "parameters") {
			t.Errorf("plan line for bulk = %q, want a replacement forced by parameters\n%s", line, r.stdout)
		}
		e.must(0, "apply", "-f", e.spec, "--auto-approve")
		out, err := kubectl(t, kubeconfig, "get", "storageclass", "bulk", "-o", "jsonpath={.parameters.iops}")
		if err != nil || out == "" {
			t.Errorf("bulk after the replacement: iops %q, %v", out, err)
		}
		e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	})

	t.Run("no credentials in state, plan file or JSON", func(t *testing.T) {
		assertNoSecrets(t, "plan --json output", pj.stdout)
		assertNoSecrets(t, "apply output", ap.stdout+ap.stderr)
		b, err := os.ReadFile(planFile)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecrets(t, "plan file", string(b))
		for _, dir := range []string{e.stateDir} {
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(path)
					assertNoSecrets(t, path, string(b))
				}
				return nil
			})
		}
		assertNoSecrets(t, "show --json", e.must(0, "show", "--json").stdout)
		// The token the plugin prints is the credential, as it should be.
		tok := e.must(0, "kube-token", region).stdout
		if !strings.Contains(tok, `"kind":"ExecCredential"`) || !strings.Contains(tok, "k8s-aws-v1.") {
			t.Errorf("kube-token printed %.80s…", tok)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		r := e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
		assertNoSecrets(t, "destroy output", r.stdout+r.stderr)
		for _, addr := range []string{"kubernetes_storage_class.fast", "kubernetes_service.api"} {
			if !strings.Contains(r.stdout, addr) {
				t.Errorf("destroy output does not mention %s", addr)
			}
		}
		e.assertEmpty()
		// The API server went with the cluster, and its data with it.
		entries, err := os.ReadDir(filepath.Join(e.sbDir, "kube", "clusters"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Errorf("API server directories left after destroy: %v", entries)
		}
		cfg, err := clientcmd.Load([]byte(kc))
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(cfg.Clusters[region].Server)
		if err != nil {
			t.Fatal(err)
		}
		if conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second); err == nil {
			conn.Close()
			t.Errorf("the cluster's API server still listens on %s after destroy", u.Host)
		}
	})
}
