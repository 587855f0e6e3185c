package e2e

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// checkOutput runs `regionctl output REGION --json` after an apply with
// in-cluster objects: the cluster's endpoint and CA are those kubeconfig
// uses, the node pools of examples/aws.yaml, the StorageClasses and the
// load balancers (each with an address) are listed, and nothing secret is
// in it.
func checkOutput(t *testing.T, e *env, classes ...string) {
	t.Helper()
	lb := classes[len(classes)-1]
	classes = classes[:len(classes)-1]
	out := e.must(0, "output", region, "--json").stdout
	assertNoSecrets(t, "output --json", out)
	var doc struct {
		FormatVersion string `json:"format_version"`
		Regions       []struct {
			Region  string
			Cluster struct {
				Name, Endpoint, CAData, KubeconfigCommand string
			}
			NodePools      []string
			StorageClasses []string
			LoadBalancers  []struct {
				Name      string
				Addresses []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Regions) != 1 {
		t.Fatalf("output --json: %v\n%s", err, out)
	}
	r := doc.Regions[0]
	ca, err := base64.StdEncoding.DecodeString(r.Cluster.CAData)
	if err != nil || !strings.Contains(string(ca), "BEGIN CERTIFICATE") || !strings.HasPrefix(r.Cluster.Endpoint, "https://") {
		t.Errorf("output cluster: endpoint %q, CA %.40q (err %v)", r.Cluster.Endpoint, ca, err)
	}
	if !strings.Contains(r.Cluster.KubeconfigCommand, "kubeconfig "+region) {
		t.Errorf("output kubeconfig command: %q", r.Cluster.KubeconfigCommand)
	}
	if !slices.Equal(r.NodePools, []string{"ingest", "system"}) {
		t.Errorf("output node pools %v, want [ingest system]", r.NodePools)
	}
	for _, c := range classes {
		if !slices.Contains(r.StorageClasses, c) {
			t.Errorf("output storage classes %v lack %s", r.StorageClasses, c)
		}
	}
	if len(r.LoadBalancers) != 1 || r.LoadBalancers[0].Name != lb || len(r.LoadBalancers[0].Addresses) == 0 {
		t.Errorf("output load balancers %+v: want %s with its addresses", r.LoadBalancers, lb)
	}
}
