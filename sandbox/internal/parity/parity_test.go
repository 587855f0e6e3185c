package parity

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The checkers catch wrong shapes: each test feeds the real service
// descriptions replies broken in known ways and wants every break found
// (and a correct reply to pass, so the checks are not simply noisy).

type want struct {
	path string
	kind Kind
}

func expect(t *testing.T, what string, got []Mismatch, wants ...want) {
	t.Helper()
	if len(wants) == 0 && len(got) > 0 {
		t.Errorf("%s: a correct reply was refused: %v", what, got)
	}
	for _, w := range wants {
		if !slices.ContainsFunc(got, func(m Mismatch) bool { return m.Path == w.path && m.Kind == w.kind }) {
			t.Errorf("%s: missed %s at %s; found %v", what, w.kind, w.path, got)
		}
	}
}

func jsonReply(body string) Exchange {
	return Exchange{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func TestBotocoreCatchesWrongShapes(t *testing.T) {
	b := AWSModels(t)
	ok := `{"cluster": {"name": "demo", "status": "ACTIVE", "createdAt": 1764763200.5, "tags": {"a": "b"},
		"resourcesVpcConfig": {"subnetIds": ["subnet-1"]}, "accessConfig": {"authenticationMode": "API"}}}`
	expect(t, "DescribeCluster", b.Check("eks:DescribeCluster", jsonReply(ok)))
	bad := `{"cluster": {"name": 7, "status": "SLEEPING", "bogus": true, "createdAt": "yesterday", "tags": {"a": 1},
		"resourcesVpcConfig": {"subnetIds": "subnet-1"}, "version": null}}`
	expect(t, "DescribeCluster", b.Check("eks:DescribeCluster", jsonReply(bad)),
		want{"cluster.name", Type}, want{"cluster.status", Enum}, want{"cluster.bogus", Unknown}, want{"cluster.createdAt", Type},
		want{"cluster.tags[a]", Type}, want{"cluster.resourcesVpcConfig.subnetIds", Type}, want{"cluster.version", Type})

	// EKS errors: a code the operation does not model, or modelled with
	// another status, or with members its shape lacks.
	errReply := func(status int, code, body string) Exchange {
		return Exchange{Status: status, Header: http.Header{"X-Amzn-Errortype": {code}}, Body: []byte(body)}
	}
	expect(t, "DescribeCluster 404", b.Check("eks:DescribeCluster", errReply(404, "ResourceNotFoundException", `{"message": "No cluster found for name: x.", "clusterName": "x"}`)))
	expect(t, "DescribeCluster error", b.Check("eks:DescribeCluster", errReply(409, "ResourceInUseException", `{"message": "busy"}`)), want{"", Error})
	expect(t, "DescribeCluster error", b.Check("eks:DescribeCluster", errReply(400, "ResourceNotFoundException", `{"message": "x", "nodeCount": 1}`)),
		want{"", Type}, want{"nodeCount", Unknown})

	ec2ok := `<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId>
		<state>available</state><isDefault>false</isDefault><cidrBlock>10.0.0.0/16</cidrBlock></item></vpcSet></DescribeVpcsResponse>`
	expect(t, "DescribeVpcs", b.Check("ec2:DescribeVpcs", Exchange{Status: 200, Body: []byte(ec2ok)}))
	ec2bad := `<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId>
		<state>sleeping</state><isDefault>maybe</isDefault><bogus/></item><member><vpcId>vpc-2</vpcId></member></vpcSet></DescribeVpcsResponse>`
	expect(t, "DescribeVpcs", b.Check("ec2:DescribeVpcs", Exchange{Status: 200, Body: []byte(ec2bad)}),
		want{"vpcSet[0].state", Enum}, want{"vpcSet[0].isDefault", Type}, want{"vpcSet[0].bogus", Unknown}, want{"vpcSet[1]", Unknown})

	iamok := `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>r</RoleName>
		<RoleId>AROAEXAMPLEEXAMPLE123</RoleId><Arn>arn:aws:iam::123456789012:role/r</Arn><CreateDate>2026-12-03T10:00:00Z</CreateDate>
		<Tags><member><Key>k</Key><Value>v</Value></member></Tags></Role></GetRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetRoleResponse>`
	expect(t, "GetRole", b.Check("iam:GetRole", Exchange{Status: 200, Body: []byte(iamok)}))
	iambad := `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>r</RoleName>
		<Arn>arn:aws:iam::123456789012:role/r</Arn><CreateDate>last week</CreateDate><MaxSessionDuration>long</MaxSessionDuration></Role></GetRoleResult>
		<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetRoleResponse>`
	expect(t, "GetRole", b.Check("iam:GetRole", Exchange{Status: 200, Body: []byte(iambad)}),
		want{"Role.RoleId", Missing}, want{"Role.CreateDate", Type}, want{"Role.MaxSessionDuration", Type})
	// An operation without output sends no <OpResult>.
	unit := `<DeleteRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><DeleteRoleResult></DeleteRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteRoleResponse>`
	expect(t, "DeleteRole", b.Check("iam:DeleteRole", Exchange{Status: 200, Body: []byte(unit)}), want{"DeleteRoleResult", Unknown})
	iamErr := `<ErrorResponse><Error><Type>Sender</Type><Code>EntityAlreadyExists</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>`
	expect(t, "GetRole error", b.Check("iam:GetRole", Exchange{Status: 409, Body: []byte(iamErr)}), want{"", Error})

	for _, c := range []struct{ method, url, body, op string }{
		{"GET", "http://127.0.0.1:1/clusters/demo", "", "eks:DescribeCluster"},
		{"POST", "http://127.0.0.1:1/clusters/demo/node-groups", "{}", "eks:CreateNodegroup"},
		{"GET", "http://127.0.0.1:1/clusters/demo/node-groups/pool", "", "eks:DescribeNodegroup"},
		{"GET", "http://127.0.0.1:1/addons/supported-versions", "", "eks:DescribeAddonVersions"},
		{"POST", "http://127.0.0.1:1/", "Action=CreateVpc&Version=2016-11-15", "ec2:CreateVpc"},
		{"POST", "http://127.0.0.1:1/", "Action=GetRole&Version=2010-05-08", "iam:GetRole"},
	} {
		if got := b.Identify(c.method, c.url, []byte(c.body)); got != c.op {
			t.Errorf("Identify(%s %s %s) = %q, want %s", c.method, c.url, c.body, got, c.op)
		}
	}
}

func TestDiscoveryCatchesWrongShapes(t *testing.T) {
	gke := LoadDiscovery(t, "container", "v1")
	compute := LoadDiscovery(t, "compute", "v1")
	check := func(d *Discovery, schema, body string) []Mismatch {
		v, err := decodeJSON([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return d.CheckSchema(schema, v)
	}
	expect(t, "Cluster", check(gke, "Cluster", `{"name": "demo", "status": "RUNNING", "currentNodeCount": 3,
		"nodePools": [{"name": "p", "config": {"diskSizeGb": 100, "accelerators": [{"acceleratorCount": "1"}]}}], "resourceLabels": {"a": "b"}}`))
	expect(t, "Cluster", check(gke, "Cluster", `{"bogus": 1, "status": "SLEEPING", "currentNodeCount": "3",
		"nodePools": [{"name": 7, "config": {"diskSizeGb": 1.5, "accelerators": [{"acceleratorCount": "one"}]}}], "resourceLabels": {"a": 1}}`),
		want{"Cluster.bogus", Unknown}, want{"Cluster.status", Enum}, want{"Cluster.currentNodeCount", Type},
		want{"Cluster.nodePools[0].config.accelerators[0].acceleratorCount", Type},
		want{"Cluster.nodePools[0].name", Type}, want{"Cluster.nodePools[0].config.diskSizeGb", Type}, want{"Cluster.resourceLabels[a]", Type})
	// Compute's 64-bit integers travel as decimal strings.
	expect(t, "Network", check(compute, "Network", `{"id": "1234567890123", "mtu": 1460, "name": "net"}`))
	expect(t, "Network", check(compute, "Network", `{"id": 1234567890123, "mtu": "1460"}`), want{"Network.id", Type}, want{"Network.mtu", Type})
	expect(t, "Network", check(compute, "Network", `{"id": "twelve"}`), want{"Network.id", Type})

	for _, c := range []struct {
		d                *Discovery
		method, path, id string
	}{
		{gke, "POST", "/v1/projects/p/locations/l/clusters/c/nodePools/n:setSize", "container.projects.locations.clusters.nodePools.setSize"},
		{gke, "GET", "/v1/projects/p/locations/l/clusters/c/nodePools/n", "container.projects.locations.clusters.nodePools.get"},
		{compute, "GET", "/compute/v1/projects/p/aggregated/subnetworks", "compute.subnetworks.aggregatedList"},
		{compute, "POST", "/compute/v1/projects/p/regions/r/addresses/a/setLabels", "compute.addresses.setLabels"},
	} {
		if got := c.d.Identify(c.method, c.path); got != c.id {
			t.Errorf("Identify(%s %s) = %q, want %s", c.method, c.path, got, c.id)
		}
	}
	body := map[string]any{"name": "net"}
	if n := compute.ProbeReadOnly("Network", body); n == 0 || body["kind"] != ReadOnlyProbe {
		t.Errorf("ProbeReadOnly(Network) set %d: %v", n, body)
	}
	expect(t, "echo", EchoedProbes("op", []byte(`{"name": "net", "kind": "`+ReadOnlyProbe+`"}`)), want{"op.kind", ReadOnly})
}

func TestAzureCatchesWrongShapes(t *testing.T) {
	spec := AzureModels(t).Spec("containerservice", "2025-02-01")
	if spec == nil {
		t.Fatal("no containerservice@2025-02-01 model")
	}
	ok := `{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks", "name": "aks", "location": "westeurope",
		"identity": {"type": "SystemAssigned"}, "tags": {"a": "b"},
		"properties": {"provisioningState": "Succeeded", "networkProfile": {"networkPlugin": "azure"},
			"agentPoolProfiles": [{"name": "system", "count": 2, "mode": "System"}]}}`
	expect(t, "ManagedCluster", spec.Check("op", "ManagedCluster", []byte(ok)))
	bad := `{"name": "aks", "identity": {"type": "Sometimes"}, "tags": {"a": 1}, "bogus": true,
		"properties": {"networkProfile": {"networkPlugin": "carrier-pigeon"}, "agentPoolProfiles": [{"count": "2", "mode": "System"}],
			"kubernetesVersion": null, "nope": 1}}`
	expect(t, "ManagedCluster", spec.Check("op", "ManagedCluster", []byte(bad)),
		want{"ManagedCluster.location", Missing}, want{"ManagedCluster.identity.type", Enum}, want{"ManagedCluster.tags[a]", Type},
		want{"ManagedCluster.bogus", Unknown}, want{"ManagedCluster.properties.networkProfile.networkPlugin", Enum},
		want{"ManagedCluster.properties.agentPoolProfiles[0].count", Type}, want{"ManagedCluster.properties.agentPoolProfiles[0].name", Missing},
		want{"ManagedCluster.properties.kubernetesVersion", Type}, want{"ManagedCluster.properties.nope", Unknown})

	// Writes: read-only properties are not taken from the request, writable
	// ones come back.
	req := map[string]any{"location": "westeurope", "properties": map[string]any{"dnsPrefix": "x", "kubernetesVersion": "1.33"}}
	if n := spec.ProbeReadOnly("ManagedCluster", req); n < 5 {
		t.Errorf("ProbeReadOnly(ManagedCluster) set %d properties", n)
	}
	probed := fmt.Sprintf(`{"location": "westeurope", "properties": {"dnsPrefix": "x", "fqdn": %q, "provisioningState": %q}}`, ReadOnlyProbe, "Succeeded")
	request := fmt.Sprintf(`{"location": "westeurope", "properties": {"dnsPrefix": "x", "kubernetesVersion": "1.33", "fqdn": %q}}`, ReadOnlyProbe)
	expect(t, "writes", spec.CheckWrites("op", "ManagedCluster", []byte(request), []byte(probed)),
		want{"ManagedCluster.properties.fqdn", ReadOnly}, want{"ManagedCluster.properties.kubernetesVersion", Writable})
	if s := splitWire(`properties.a\.b.c`); !slices.Equal(s, []string{"properties", "a.b", "c"}) {
		t.Errorf("splitWire = %q", s)
	}
}

// recTB records what Verify reports.
type recTB struct {
	testing.TB
	errs []string
}

func (r *recTB) Helper()             {}
func (r *recTB) Logf(string, ...any) {}
func (r *recTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestReportVerify(t *testing.T) {
	r := NewReport("test")
	r.Add("ec2:DescribeVpcs", []Mismatch{{Op: "ec2:DescribeVpcs", Path: "vpcSet[0].state", Kind: Enum}, {Op: "ec2:DescribeVpcs", Path: "vpcSet[3].state", Kind: Enum}})
	r.Add("ec2:DescribeSubnets", []Mismatch{{Op: "ec2:DescribeSubnets", Path: "subnetSet[0].bogus", Kind: Unknown}})
	r.Add("ec2:CreateVpc", nil)
	tb := &recTB{}
	r.Verify(tb, []Gap{
		{Op: "ec2:Describe*", Path: "vpcSet[].state", Kind: Enum, Reason: "allowed"},
		{Op: "ec2:DeleteVpc", Reason: "never seen"},
	})
	if len(tb.errs) != 2 || !strings.Contains(tb.errs[0], "subnetSet[].bogus") || !strings.Contains(tb.errs[1], "no longer occurs") {
		t.Errorf("Verify reported %q; want the unknown member (once) and the unused gap", tb.errs)
	}
	if got := r.Missing([]string{"ec2:CreateVpc", "ec2:DeleteVpc"}); !slices.Equal(got, []string{"ec2:DeleteVpc"}) {
		t.Errorf("Missing = %v", got)
	}
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{{"", "x", true}, {"a*c", "abc", true}, {"a*c", "abd", false}, {"*ListResult.nextLink", "SubscriptionListResult.nextLink", true}, {"x", "xy", false}} {
		if got := wildcard(c.pattern, c.s); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
