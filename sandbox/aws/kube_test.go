package aws_test

import (
	"context"
	"encoding/base64"
	"net"
	"net/url"
	"os"
	"path/filepath"
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
		Credentials:  credentials.NewStaticCredentialsProvider(sandboxaws.AccessKeyID, sandboxaws.SecretAccessKey, ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return sb, &clients{ec2: ec2.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), eks: eks.NewFromConfig(cfg)}, cfg
}

// createCluster makes the role and two subnets EKS needs and asks for
// cluster name.
func createCluster(t *testing.T, c *clients, name string) (*eks.CreateClusterOutput, error) {
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
	return c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String(name), RoleArn: role.Role.Arn,
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}})
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

// TestClusterServesKubernetes: an EKS cluster is ACTIVE once its real API
// server answers at the endpoint DescribeCluster gives, with the CA it
// gives; it accepts an EKS token for this cluster only, holds EKS's gp2
// class, comes back after a sandbox restart, and goes with the cluster.
func TestClusterServesKubernetes(t *testing.T) {
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	sb, c, cfg := kubeSandbox(t, dir)
	if _, err := createCluster(t, c, "demo"); err != nil {
		t.Fatal(err)
	}
	w := eks.NewClusterActiveWaiter(c.eks, func(o *eks.ClusterActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	out, err := w.WaitForOutput(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, 3*time.Minute)
	if err != nil {
		t.Fatalf("cluster not ACTIVE: %v", err)
	}
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
	gp2, err := client(eksToken(t, cfg, "demo")).StorageV1().StorageClasses().Get(ctx, "gp2", metav1.GetOptions{})
	if err != nil || gp2.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" {
		t.Fatalf("gp2 = %v, %v; want EKS's default class", gp2, err)
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
