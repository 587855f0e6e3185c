package gcp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
	"golang.org/x/oauth2/google"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/gcp"
	"github.com/regionctl/regionctl/sandbox/kube"
)

const cloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// keyFile fetches the sandbox's service account key JSON.
func keyFile(t testing.TB, sb *sandbox.Sandbox) []byte {
	t.Helper()
	resp, err := http.Get(sb.Endpoints()["gcp-compute"] + gcp.CredentialsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", gcp.CredentialsPath, resp.StatusCode, err, b)
	}
	return b
}

// accessToken exchanges the key for an access token the way Application
// Default Credentials do with a key file.
func accessToken(t *testing.T, key []byte) (string, error) {
	t.Helper()
	creds, err := google.CredentialsFromJSONWithTypeAndParams(context.Background(), key, google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{cloudPlatform}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// TestServiceAccountToken: the published key file loads with the oauth2
// library ADC uses, its JWT is exchanged for an access token at the
// sandbox's token endpoint, a JWT signed with another key or a bad grant
// is refused, and the key survives a restart.
func TestServiceAccountToken(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir, 0)
	key := keyFile(t, e.sb)
	var kf map[string]string
	if err := json.Unmarshal(key, &kf); err != nil {
		t.Fatal(err)
	}
	if kf["type"] != "service_account" || kf["client_email"] != gcp.ServiceAccountEmail || !strings.HasSuffix(kf["token_uri"], gcp.TokenPath) ||
		!strings.HasPrefix(kf["token_uri"], e.sb.Endpoints()["gcp-compute"]) {
		t.Errorf("key file = %v", kf)
	}
	tok, err := accessToken(t, key)
	if err != nil || !strings.HasPrefix(tok, gcp.AccessTokenPrefix) {
		t.Fatalf("token %q, %v", tok, err)
	}
	if n := e.sb.Requests()["oauth2:token"]; n != 1 {
		t.Errorf("oauth2:token requests = %d, want 1", n)
	}

	// A key the sandbox did not issue signs a JWT it refuses.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(other)
	if err != nil {
		t.Fatal(err)
	}
	kf["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	forged, err := json.Marshal(kf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accessToken(t, forged); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("token for a JWT signed with another key: %v, want invalid_grant", err)
	}
	resp, err := http.PostForm(kf["token_uri"], url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("client_credentials grant: %d, want 400", resp.StatusCode)
	}

	// The key is kept with the emulated cloud.
	e.sb.Close()
	e2 := start(t, dir, 0)
	var kf2 map[string]string
	if err := json.Unmarshal(keyFile(t, e2.sb), &kf2); err != nil {
		t.Fatal(err)
	}
	if kf2["private_key_id"] != kf["private_key_id"] {
		t.Errorf("key id after restart %q, want %q", kf2["private_key_id"], kf["private_key_id"])
	}
}

func requireKube(t *testing.T) {
	t.Helper()
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
}

// TestClusterAPIServer: a GKE cluster is RUNNING only once its real
// kube-apiserver answers; its endpoint and CA reach it; it accepts the
// access tokens the sandbox issued (and nothing else); it holds GKE's
// built-in StorageClasses; and it goes away with the cluster.
func TestClusterAPIServer(t *testing.T) {
	requireKube(t)
	dir := t.TempDir()
	e := startWith(t, sandbox.Options{Dir: dir, Latency: map[string]time.Duration{"*": 0}}, nil) // only the API server holds the create
	ctx := context.Background()
	network(t, e)
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	opName := loc + "/operations/" + op.GetName()
	// Its operation's time has passed, but the API server takes seconds.
	if got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: opName}); err != nil || got.GetStatus() == containerpb.Operation_DONE {
		t.Fatalf("create op right after the call: %v %v, want not DONE while the API server starts", got.GetStatus(), err)
	}
	id := "gcp-" + project + "-us-central1-demo"
	if err := e.sb.Kube().Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Kube().WaitNodes(ctx, id); err != nil { // the default pool's nodes join too
		t.Fatal(err)
	}
	got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: opName})
	if err != nil || got.GetStatus() != containerpb.Operation_DONE || got.GetError() != nil {
		t.Fatalf("create op once the API server is ready: %v %v %v", got.GetStatus(), got.GetError(), err)
	}
	c, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c.GetStatus() != containerpb.Cluster_RUNNING {
		t.Fatalf("cluster %v %v", c.GetStatus(), err)
	}
	// GKE's endpoint is a bare IP (port 443): as root the sandbox serves
	// one per cluster on the loopback network; otherwise it publishes the
	// API server's own 127.0.0.1:PORT.
	dialAddr := c.GetEndpoint()
	if os.Geteuid() == 0 {
		ip, err := netip.ParseAddr(c.GetEndpoint())
		if err != nil || !ip.IsLoopback() || strings.HasPrefix(c.GetEndpoint(), "127.0.0.") {
			t.Fatalf("endpoint %q: want a bare loopback IP outside 127.0.0.0/24 (%v)", c.GetEndpoint(), err)
		}
		dialAddr = c.GetEndpoint() + ":443"
	} else if host, _, err := net.SplitHostPort(c.GetEndpoint()); err != nil || host != "127.0.0.1" {
		t.Fatalf("endpoint %q without root: want 127.0.0.1:PORT (%v)", c.GetEndpoint(), err)
	}
	ca, err := base64.StdEncoding.DecodeString(c.GetMasterAuth().GetClusterCaCertificate())
	if err != nil {
		t.Fatal(err)
	}
	client := func(token string) kubernetes.Interface {
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + c.GetEndpoint(), BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	tok, err := accessToken(t, keyFile(t, e.sb))
	if err != nil {
		t.Fatal(err)
	}
	list, err := client(tok).StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list StorageClasses with a sandbox access token: %v", err)
	}
	classes := map[string]string{}
	for _, sc := range list.Items {
		classes[sc.Name] = sc.Provisioner + " " + sc.Parameters["type"] + " default=" + sc.Annotations["storageclass.kubernetes.io/is-default-class"]
	}
	want := map[string]string{
		"standard-rwo": "pd.csi.storage.gke.io pd-balanced default=true",
		"premium-rwo":  "pd.csi.storage.gke.io pd-ssd default=",
		"standard":     "kubernetes.io/gce-pd pd-standard default=",
	}
	for n, w := range want {
		if classes[n] != w {
			t.Errorf("StorageClass %s = %q, want %q", n, classes[n], w)
		}
	}
	// A watch streams through the endpoint (from the object's own
	// resource version: the API servers share one etcd, so a watch from
	// "now" may be ahead of a resource's watch cache).
	cms := client(tok).CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "through-the-endpoint"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion, FieldSelector: "metadata.name=through-the-endpoint"})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"k": "v"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := false
	for ev := range w.ResultChan() {
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == "MODIFIED" && cm.Data["k"] == "v" {
			seen = true
			break
		}
		t.Logf("watch event %s %v", ev.Type, ev.Object)
	}
	w.Stop()
	if !seen {
		t.Error("the watch through the endpoint ended without the ConfigMap's event")
	}
	forged := gcp.AccessTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","scope":"`+cloudPlatform+`","exp":9999999999}`)) + ".c2ln"
	for name, bad := range map[string]string{"forged": forged, "static": "sandbox", "truncated": tok[:len(tok)-4]} {
		if _, err := client(bad).StorageV1().StorageClasses().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
			t.Errorf("%s token: %v, want 401 Unauthorized", name, err)
		}
	}

	// After a restart the cluster keeps its endpoint, CA and data.
	e.sb.Close()
	e = startWith(t, sandbox.Options{Dir: dir, Latency: map[string]time.Duration{"*": 0}}, nil)
	c2, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c2.GetEndpoint() != c.GetEndpoint() || c2.GetMasterAuth().GetClusterCaCertificate() != c.GetMasterAuth().GetClusterCaCertificate() {
		t.Fatalf("after a restart: endpoint %q (was %q), same CA %v, %v", c2.GetEndpoint(), c.GetEndpoint(),
			c2.GetMasterAuth().GetClusterCaCertificate() == c.GetMasterAuth().GetClusterCaCertificate(), err)
	}
	tok, err = accessToken(t, keyFile(t, e.sb))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client(tok).CoreV1().ConfigMaps("default").Get(ctx, "through-the-endpoint", metav1.GetOptions{}); err != nil {
		t.Errorf("the API server after a restart: %v", err)
	}

	dop, err := e.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: loc + "/operations/" + dop.GetName()}); err != nil || got.GetStatus() != containerpb.Operation_DONE {
		t.Fatalf("delete op %v %v", got.GetStatus(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kube", "clusters", id)); !os.IsNotExist(err) {
		t.Errorf("API server directory after delete: %v", err)
	}
	if conn, err := net.Dial("tcp", dialAddr); err == nil {
		conn.Close()
		t.Errorf("API server still listens on %s after the cluster was deleted", dialAddr)
	}
}

// TestClusterWithoutBinaries: without kube-apiserver a create is accepted
// and the cluster ends in ERROR with a message naming the script.
func TestClusterWithoutBinaries(t *testing.T) {
	t.Setenv(kube.EnvAPIServer, filepath.Join(t.TempDir(), "no-kube-apiserver"))
	e := startWith(t, sandbox.Options{Dir: t.TempDir(), Latency: map[string]time.Duration{"*": 0}}, nil)
	ctx := context.Background()
	network(t, e)
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: loc + "/operations/" + op.GetName()})
	if err != nil || got.GetStatus() != containerpb.Operation_DONE || !strings.Contains(got.GetError().GetMessage(), kube.Script) {
		t.Fatalf("create op %v %v (%v), want DONE with an error naming %s", got.GetStatus(), got.GetError(), err, kube.Script)
	}
	c, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c.GetStatus() != containerpb.Cluster_ERROR || !strings.Contains(c.GetStatusMessage(), kube.Script) {
		t.Fatalf("cluster %v %q %v, want ERROR naming %s", c.GetStatus(), c.GetStatusMessage(), err, kube.Script)
	}
	if _, err := e.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterKey}); err != nil {
		t.Errorf("delete the ERROR cluster: %v", err)
	}
}
