package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/sandbox"
)

// sandboxAWSConfig is the AWS configuration of the sandbox's own identity
// (the profile `regionctl sandbox up` prints), read as the SDK's default
// chain reads it.
func (e *env) sandboxAWSConfig(region string) awssdk.Config {
	e.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region),
		config.WithSharedConfigProfile(sandbox.AWSProfile),
		config.WithSharedConfigFiles([]string{sandbox.AWSConfigFile(e.sbDir)}),
		config.WithSharedCredentialsFiles([]string{sandbox.AWSCredentialsFile(e.sbDir)}))
	if err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

// newIAMUser makes IAM user name in the sandbox's account with an access
// key, and returns its ARN and a configuration that signs as it.
func (e *env) newIAMUser(name string) (string, awssdk.Config) {
	e.t.Helper()
	ctx := context.Background()
	admin := e.sandboxAWSConfig("us-east-1")
	client := iam.NewFromConfig(admin)
	u, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: awssdk.String(name)})
	if err != nil {
		e.t.Fatalf("create IAM user %s: %v", name, err)
	}
	k, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: awssdk.String(name)})
	if err != nil {
		e.t.Fatalf("create an access key of %s: %v", name, err)
	}
	cfg := admin.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	return *u.User.Arn, cfg
}

// clusterClient is a client of region's cluster (endpoint and CA from
// `regionctl output --json`) that sends token.
func (e *env) clusterClient(region, token string) k8s.Interface {
	e.t.Helper()
	var doc struct {
		Regions []struct {
			Cluster struct{ Endpoint, CAData string }
		}
	}
	out := e.must(0, "output", region, "--json").stdout
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Regions) != 1 {
		e.t.Fatalf("output --json: %v\n%s", err, out)
	}
	ca, err := base64.StdEncoding.DecodeString(doc.Regions[0].Cluster.CAData)
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(&rest.Config{Host: doc.Regions[0].Cluster.Endpoint, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// access is what one identity may do in a cluster, as the API server
// answers: authenticated at all, read pods, create a namespace.
type access struct{ authenticated, read, write bool }

func (a access) String() string {
	return fmt.Sprintf("{authenticated %v, read %v, write %v}", a.authenticated, a.read, a.write)
}

// probeAccess asks the cluster what cs's identity may do; the namespace
// it manages to create (as write) is deleted again.
func probeAccess(t *testing.T, cs k8s.Interface, ns string) access {
	ns += "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Helper()
	ctx := context.Background()
	_, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsUnauthorized(err):
		return access{}
	case apierrors.IsForbidden(err):
	case err != nil:
		t.Fatalf("list pods: %v", err)
	}
	a := access{authenticated: true, read: err == nil}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	switch {
	case err == nil:
		a.write = true
		_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	case !apierrors.IsForbidden(err):
		t.Fatalf("create namespace %s: %v", ns, err)
	}
	return a
}

// eventually probes until the probe answers want, for up to a minute: a
// cluster applies access changes in the background (EKS, the GKE and AKS
// authorizers), and an API server caches a token's authentication for
// seconds (the sandbox's: 10 s; an EKS token presigned in the same second
// is the same token).
func eventually(t *testing.T, who string, want access, probe func(n int) access) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		got := probe(n)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %v, want %v", who, got, want)
			return
		}
		<-tick.C
	}
}

// TestAWSAccess: spec.access on EKS. The cluster is created with
// authentication mode API_AND_CONFIG_MAP; an admin and a viewer (IAM users
// of the sandbox's account) get access entries whose policies the real
// kube-apiserver enforces — the viewer reads but cannot write, the admin
// writes, a user not listed is refused — moving the viewer to admins is
// an in-place change, and removing access takes it away.
func TestAWSAccess(t *testing.T) {
	e := newKubeEnv(t)
	ctx := context.Background()
	adminARN, adminCfg := e.newIAMUser("ops-admin")
	viewerARN, viewerCfg := e.newIAMUser("auditor")
	_, strangerCfg := e.newIAMUser("stranger")
	e.editSpec("  storageClasses:", fmt.Sprintf("  access:\n    admins: [%q]\n    viewers: [%q]\n  storageClasses:", adminARN, viewerARN))

	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	for _, want := range []string{"aws_eks_access_entry.ops-admin-", "aws_eks_access_entry.auditor-", "AmazonEKSClusterAdminPolicy", "AmazonEKSViewPolicy", `authentication_mode`} {
		if !strings.Contains(p.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, p.stdout)
		}
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	token := func(cfg awssdk.Config) string {
		tok, _, err := aws.EKSToken(ctx, cfg, region)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	check := func(who string, cfg awssdk.Config, want access) {
		t.Helper()
		eventually(t, who, want, func(n int) access {
			return probeAccess(t, e.clusterClient(region, token(cfg)), fmt.Sprintf("probe-%d", n))
		})
	}
	check("admin", adminCfg, access{true, true, true})
	check("viewer", viewerCfg, access{true, true, false})
	check("stranger", strangerCfg, access{})
	check("creator", e.sandboxAWSConfig("us-east-1"), access{true, true, true})

	// The viewer becomes an admin: its entry's policy changes in place.
	e.editSpec(fmt.Sprintf("    admins: [%q]\n    viewers: [%q]", adminARN, viewerARN), fmt.Sprintf("    admins: [%q, %q]", adminARN, viewerARN))
	p = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(p.stdout, region, "~"); len(got) != 1 || !strings.Contains(got[0], "aws_eks_access_entry.auditor-") {
		t.Errorf("moving the viewer to admins: in-place changes %v, want the auditor's entry only\n%s", got, p.stdout)
	}
	if strings.Contains(p.stdout, "-/+") || strings.Contains(p.stdout, "+/-") {
		t.Errorf("moving the viewer to admins replaces something:\n%s", p.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	check("promoted viewer", viewerCfg, access{true, true, true})

	// Without access, only the creator is left.
	e.editSpec(fmt.Sprintf("  access:\n    admins: [%q, %q]\n", adminARN, viewerARN), "")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	check("former admin", adminCfg, access{})
	check("creator", e.sandboxAWSConfig("us-east-1"), access{true, true, true})
}
