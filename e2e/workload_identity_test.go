package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/sandbox"
)

// workloadIdentityOutput is regions[0].cluster.workloadIdentity of
// `regionctl output --json`.
func (e *env) workloadIdentityOutput() map[string]string {
	e.t.Helper()
	var out struct {
		Regions []struct {
			Cluster struct {
				WorkloadIdentity map[string]string `json:"workloadIdentity"`
			} `json:"cluster"`
		} `json:"regions"`
	}
	r := e.must(0, "output", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Regions) != 1 {
		e.t.Fatalf("output --json (%v):\n%s", err, r.stdout)
	}
	return out.Regions[0].Cluster.WorkloadIdentity
}

// TestAWSWorkloadIdentity: workloadIdentity: true gives the EKS cluster an
// IAM OpenID Connect provider for its issuer (IRSA), planned and applied
// as one more resource; `regionctl output` gives a deploy the provider's
// ARN, the issuer, the audience and the ServiceAccount annotation; turning
// it off deletes the provider, and destroy leaves nothing.
func TestAWSWorkloadIdentity(t *testing.T) {
	e := newKubeEnv(t)
	e.editSpec("    endpointAccess: both\n", "    endpointAccess: both\n    workloadIdentity: true\n")
	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "aws_iam_oidc_provider.cluster") {
		t.Errorf("the plan lacks the OIDC provider:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	var issuer string
	for _, r := range e.state(region).Resources {
		if r.Type == "aws_eks_cluster" {
			issuer, _ = r.Outputs["oidc_issuer"].(string)
		}
	}
	if !strings.HasPrefix(issuer, "https://oidc.eks.") {
		t.Fatalf("the cluster records issuer %q", issuer)
	}
	host := strings.TrimPrefix(issuer, "https://")
	wi := e.workloadIdentityOutput()
	want := map[string]string{
		"issuer": issuer, "provider": "arn:aws:iam::123456789012:oidc-provider/" + host, "audience": "sts.amazonaws.com",
		"serviceAccountAnnotation": "eks.amazonaws.com/role-arn", "trustSubject": host + ":sub = system:serviceaccount:NAMESPACE:NAME",
	}
	for k, v := range want {
		if wi[k] != v {
			t.Errorf("output workloadIdentity.%s = %q, want %q", k, wi[k], v)
		}
	}
	providers := func() []sandbox.Object {
		var out []sandbox.Object
		for _, o := range e.objects() {
			if o.Type == "iam:oidc-provider" {
				out = append(out, o)
			}
		}
		return out
	}
	if got := providers(); len(got) != 1 || got[0].Name != host {
		t.Errorf("the sandbox holds OIDC providers %+v, want one for %s", got, host)
	}
	if human := e.must(0, "output").stdout; !strings.Contains(human, "workload id:") {
		t.Errorf("output lacks the workload identity line:\n%s", human)
	}

	e.editSpec("    workloadIdentity: true\n", "")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if got := providers(); len(got) != 0 {
		t.Errorf("workloadIdentity off left OIDC providers %+v", got)
	}
	if wi := e.workloadIdentityOutput(); wi != nil {
		t.Errorf("output after turning it off: %v", wi)
	}
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// TestGCPWorkloadIdentity: a GKE cluster regionctl makes has the project's
// workload identity pool; `regionctl output` gives a deploy the pool, the
// issuer, the ServiceAccount annotation and the IAM member to grant
// roles/iam.workloadIdentityUser to.
func TestGCPWorkloadIdentity(t *testing.T) {
	t.Parallel()
	e := newGCPEnv(t, sandbox.Options{}, false)
	e.editSpec("    endpointAccess: public\n", "    endpointAccess: public\n    workloadIdentity: true\n")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	wi := e.workloadIdentityOutput()
	want := map[string]string{
		"issuer":                   "https://container.googleapis.com/v1/projects/sandbox-project/locations/europe-west4/clusters/prod-eu-west",
		"provider":                 "sandbox-project.svc.id.goog",
		"serviceAccountAnnotation": "iam.gke.io/gcp-service-account",
		"trustSubject":             "serviceAccount:sandbox-project.svc.id.goog[NAMESPACE/NAME]",
	}
	for k, v := range want {
		if wi[k] != v {
			t.Errorf("output workloadIdentity.%s = %q, want %q", k, wi[k], v)
		}
	}
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// TestAzureWorkloadIdentity: workloadIdentity: true turns on the AKS
// cluster's OIDC issuer and workload identity; `regionctl output` gives a
// deploy the issuer a federated credential names, the audience, the
// ServiceAccount annotation and the subject; turning it off turns workload
// identity off in place (AKS keeps the issuer: it cannot disable it).
func TestAzureWorkloadIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{}, false)
	e.editSpec("    endpointAccess: private\n", "    endpointAccess: private\n    workloadIdentity: true\n")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	wi := e.workloadIdentityOutput()
	if !strings.HasPrefix(wi["issuer"], "https://westeurope.oic.prod-aks.azure.com/") || wi["provider"] != wi["issuer"] {
		t.Errorf("output workloadIdentity issuer %q provider %q", wi["issuer"], wi["provider"])
	}
	for k, v := range map[string]string{"audience": "api://AzureADTokenExchange", "serviceAccountAnnotation": "azure.workload.identity/client-id",
		"trustSubject": "system:serviceaccount:NAMESPACE:NAME"} {
		if wi[k] != v {
			t.Errorf("output workloadIdentity.%s = %q, want %q", k, wi[k], v)
		}
	}
	e.editSpec("    workloadIdentity: true\n", "")
	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(p.stdout, "workload_identity") || strings.Contains(p.stdout, "forces replacement") {
		t.Errorf("turning workload identity off is not an in-place change:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if wi := e.workloadIdentityOutput(); wi != nil {
		t.Errorf("output after turning it off: %v", wi)
	}
	e.destroyToEmpty("staging-westeurope", false)
}
