package aws_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/sandbox"
	sandboxaws "github.com/regionctl/regionctl/sandbox/aws"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// kubeSandbox starts a sandbox whose clusters get API servers, in dir, with
// clients signed with the sandbox's own key (as the driver's).
func kubeSandbox(t *testing.T, dir string) (*sandbox.Sandbox, *clients, aws.Config) {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: dir, Latency: map[string]time.Duration{"*": 0}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(sb.Endpoints()["aws"]),
		Credentials:  sb.AWSCredentials().Provider(),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return sb, newClients(cfg), cfg
}

// createCluster makes the role and two subnets EKS needs and asks for
// cluster name, letting opts change the request.
func createCluster(t *testing.T, c *clients, name string, opts ...func(*eks.CreateClusterInput)) (*eks.CreateClusterOutput, error) {
	t.Helper()
	ctx := context.Background()
	role, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatalf("CreateSubnet: %v", err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	in := &eks.CreateClusterInput{Name: aws.String(name), RoleArn: role.Role.Arn, ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}}
	for _, o := range opts {
		o(in)
	}
	return c.eks.CreateCluster(ctx, in)
}

// TestCreateClusterWithoutKubeBinaries: a sandbox without the binaries
// starts, but refuses to create a cluster, naming the script.
func TestCreateClusterWithoutKubeBinaries(t *testing.T) {
	t.Setenv(kube.EnvCache, t.TempDir())
	t.Setenv(kube.EnvAPIServer, "/nonexistent/kube-apiserver")
	_, c, _ := kubeSandbox(t, t.TempDir())
	_, err := createCluster(t, c, "demo")
	if errCode(err) != "InvalidRequestException" || !strings.Contains(err.Error(), kube.Script) {
		t.Fatalf("CreateCluster without kube-apiserver = %v, want InvalidRequestException naming %s", err, kube.Script)
	}
	out, err := c.eks.ListClusters(context.Background(), &eks.ListClustersInput{})
	if err != nil || len(out.Clusters) != 0 {
		t.Errorf("ListClusters after a refused create = %v, %v", out.Clusters, err)
	}
}

// eksToken presigns STS GetCallerIdentity for cluster, as
// aws-iam-authenticator does.
func eksToken(t *testing.T, cfg aws.Config, cluster string) string {
	t.Helper()
	req, err := sts.NewPresignClient(sts.NewFromConfig(cfg)).PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(po *sts.PresignOptions) {
		po.ClientOptions = append(po.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(sandboxaws.ClusterIDHeader, cluster), smithyhttp.SetHeaderValue("X-Amz-Expires", "900"))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return sandboxaws.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL))
}

// needKube fails the test without the kube-apiserver binaries (skips it
// with -short) and returns a context bounding it.
func needKube(t *testing.T) context.Context {
	t.Helper()
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// activeCluster creates cluster name (see createCluster) and waits until it
// is ACTIVE, which means its API server answers.
func activeCluster(ctx context.Context, t *testing.T, c *clients, name string, opts ...func(*eks.CreateClusterInput)) *eks.DescribeClusterOutput {
	t.Helper()
	if _, err := createCluster(t, c, name, opts...); err != nil {
		t.Fatal(err)
	}
	w := eks.NewClusterActiveWaiter(c.eks, func(o *eks.ClusterActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	out, err := w.WaitForOutput(ctx, &eks.DescribeClusterInput{Name: aws.String(name)}, 3*time.Minute)
	if err != nil {
		t.Fatalf("cluster not ACTIVE: %v", err)
	}
	return out
}

// TestClusterServesKubernetes: an EKS cluster is ACTIVE once its real API
// server answers at the endpoint DescribeCluster gives, with the CA it
// gives; it accepts an EKS token for this cluster only, holds EKS's gp2
// class, comes back after a sandbox restart, and goes with the cluster.
func TestClusterServesKubernetes(t *testing.T) {
	ctx := needKube(t)
	dir := t.TempDir()
	sb, c, cfg := kubeSandbox(t, dir)
	out := activeCluster(ctx, t, c, "demo")
	endpoint := aws.ToString(out.Cluster.Endpoint)
	ca, err := base64.StdEncoding.DecodeString(aws.ToString(out.Cluster.CertificateAuthority.Data))
	if err != nil || !strings.HasPrefix(endpoint, "https://127.0.0.1:") {
		t.Fatalf("endpoint %s, CA %v", endpoint, err)
	}
	client := func(token string) *kubernetes.Clientset {
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: endpoint, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	// EKS puts a gp2 class in every cluster, marked default only for
	// clusters created before 1.30 (this one is the default version).
	gp2, err := client(eksToken(t, cfg, "demo")).StorageV1().StorageClasses().Get(ctx, "gp2", metav1.GetOptions{})
	if err != nil || gp2.Provisioner != "kubernetes.io/aws-ebs" || gp2.Annotations["storageclass.kubernetes.io/is-default-class"] != "" {
		t.Fatalf("gp2 = %v, %v; want EKS's gp2 class, not marked default", gp2, err)
	}
	if _, err := client(eksToken(t, cfg, "other")).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("a token for another cluster = %v, want 401", err)
	}

	// Restart: the API server comes back at the same endpoint.
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	sb2, c, cfg := kubeSandbox(t, dir)
	d, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
	if err != nil || aws.ToString(d.Cluster.Endpoint) != endpoint {
		t.Fatalf("after restart: %v, %v; want endpoint %s", d, err, endpoint)
	}
	if err := sb2.Kube().Wait(ctx, "aws-us-east-1-demo"); err != nil {
		t.Fatalf("API server not back after restart: %v", err)
	}
	if _, err := client(eksToken(t, cfg, "demo")).StorageV1().StorageClasses().Get(ctx, "gp2", metav1.GetOptions{}); err != nil {
		t.Errorf("after restart: %v", err)
	}

	if _, err := c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	gone := eks.NewClusterDeletedWaiter(c.eks, func(o *eks.ClusterDeletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := gone.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(endpoint)
	if conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("API server still listens at %s after the cluster was deleted", u.Host)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "kube", "clusters")); len(entries) != 0 {
		t.Errorf("API server data left: %v", entries)
	}
}

// tokenWithExpires presigns an EKS token for cluster with cfg's key and
// X-Amz-Expires as given, as `aws eks get-token` does (it sends 60).
func tokenWithExpires(t *testing.T, cfg aws.Config, cluster, expires string) string {
	t.Helper()
	req, err := sts.NewPresignClient(sts.NewFromConfig(cfg)).PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(po *sts.PresignOptions) {
		po.ClientOptions = append(po.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(sandboxaws.ClusterIDHeader, cluster), smithyhttp.SetHeaderValue("X-Amz-Expires", expires))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return sandboxaws.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL))
}

// TestTokenLifetime: a token stays valid for the 15 minutes
// aws-iam-authenticator accepts from its X-Amz-Date, whatever X-Amz-Expires
// says (`aws eks get-token` sends 60), and no longer.
func TestTokenLifetime(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:4566"),
		Credentials: credentials.NewStaticCredentialsProvider("AKIATESTKEY000000001", "secret", "")}
	secretOf := func(id string) (string, bool) { return "secret", id == "AKIATESTKEY000000001" }
	tok := tokenWithExpires(t, cfg, "demo", "60")
	now := time.Now()
	for _, tt := range []struct {
		after time.Duration
		ok    bool
	}{{0, true}, {2 * time.Minute, true}, {14 * time.Minute, true}, {16 * time.Minute, false}} {
		key, err := sandboxaws.VerifyEKSToken(tok, "demo", now.Add(tt.after), secretOf)
		if (err == nil) != tt.ok || tt.ok && key != "AKIATESTKEY000000001" {
			t.Errorf("token %s after signing: %q, %v; want accepted = %v", tt.after, key, err, tt.ok)
		}
	}
}

// TestAccessEntriesGrantKubernetesAccess: in a cluster whose authentication
// mode uses access entries, the cluster's real API server knows an IAM
// principal by its access entry — username and groups — and lets it do what
// its associated access policies grant: the creator is cluster admin
// (bootstrapClusterCreatorAdminPermissions), a user with
// AmazonEKSViewPolicy can read but not write, a user without an entry is
// not let in, and disassociating the policy takes the access away.
func TestAccessEntriesGrantKubernetesAccess(t *testing.T) {
	ctx := needKube(t)
	_, c, cfg := kubeSandbox(t, t.TempDir())
	out := activeCluster(ctx, t, c, "demo", withAccess(ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApi}))
	ca, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Cluster.CertificateAuthority.Data))
	// as is a client with a token of its own: the API server caches
	// webhook answers per token, and tokens signed within one second are
	// equal unless something else differs (X-Amz-Expires, which EKS ignores).
	tokens := 0
	as := func(cfg aws.Config) *kubernetes.Clientset {
		tokens++
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: aws.ToString(out.Cluster.Endpoint), BearerToken: tokenWithExpires(t, cfg, "demo", strconv.Itoa(60+tokens)),
			TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"}}

	// The creator: its entry's username, cluster admin.
	admin := as(cfg)
	who, err := admin.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != adminUserArn {
		t.Fatalf("creator is %+v, %v; want %s", who, err, adminUserArn)
	}
	if _, err := admin.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creator cannot write: %v", err)
	}

	// A user with an access key but no entry is not let in.
	if _, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("viewer")}); err != nil {
		t.Fatal(err)
	}
	key, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("viewer")})
	if err != nil {
		t.Fatal(err)
	}
	viewerCfg := cfg.Copy()
	viewerCfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	if _, err := as(viewerCfg).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("a user without an access entry = %v; want 401", err)
	}

	// With an entry and AmazonEKSViewPolicy: reads, cannot write.
	viewerArn := aws.String("arn:aws:iam::123456789012:user/viewer")
	if _, err := c.eks.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("demo"), PrincipalArn: viewerArn, KubernetesGroups: []string{"readers"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := as(viewerCfg).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("an entry without policies = %v; want 403", err)
	}
	if _, err := c.eks.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String("demo"), PrincipalArn: viewerArn,
		PolicyArn: aws.String(viewPolicy), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}}); err != nil {
		t.Fatal(err)
	}
	viewer := as(viewerCfg)
	who, err = viewer.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != *viewerArn || !slices.Contains(who.Status.UserInfo.Groups, "readers") {
		t.Errorf("viewer is %+v, %v; want %s in group readers", who.Status.UserInfo, err, *viewerArn)
	}
	if _, err := viewer.CoreV1().ConfigMaps("default").Get(ctx, "probe", metav1.GetOptions{}); err != nil {
		t.Errorf("the view policy does not let read: %v (groups %v)", err, who.Status.UserInfo.Groups)
	}
	if err := viewer.CoreV1().ConfigMaps("default").Delete(ctx, "probe", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the view policy let delete: %v; want 403", err)
	}
	if _, err := c.eks.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: aws.String("demo"), PrincipalArn: viewerArn, PolicyArn: aws.String(viewPolicy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := as(viewerCfg).CoreV1().ConfigMaps("default").Get(ctx, "probe", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("after disassociating the policy: %v; want 403", err)
	}

	// AmazonEKSEditPolicy at namespace scope team-*: writes in team-a, made
	// after the association, and nowhere else. The bindings are made in the
	// background, as EKS applies associations (eventually consistent).
	if _, err := c.eks.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String("demo"), PrincipalArn: viewerArn,
		PolicyArn:   aws.String("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"),
		AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"team-*"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	editor := as(viewerCfg)
	teamCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "team-a"}}
	eventually(ctx, t, "the edit policy to let write in team-a", func() error {
		_, err := editor.CoreV1().ConfigMaps("team-a").Create(ctx, teamCM, metav1.CreateOptions{})
		return err
	})
	if _, err := editor.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a team-* scope let write in default: %v; want 403", err)
	}
	if _, err := c.eks.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: aws.String("demo"), PrincipalArn: viewerArn,
		PolicyArn: aws.String("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")}); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "disassociating to take the access away", func() error {
		if _, err := editor.CoreV1().ConfigMaps("team-a").Get(ctx, "probe", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			return fmt.Errorf("still allowed (%v)", err)
		}
		return nil
	})
}

// eventually retries cond until it succeeds or ctx ends (then the test
// fails with what for and the last error).
func eventually(ctx context.Context, t *testing.T, what string, cond func() error) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-tick.C:
		}
	}
}
