package azure_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/regionctl/regionctl/sandbox"
)

// TestShapesPerAPIVersion: a reply has the shape of the api-version asked
// for (shapes.go): what an older version lacks is left out, values it
// spells differently are spelled its way, and a write at an older version
// is read the newest way.
func TestShapesPerAPIVersion(t *testing.T) {
	e := start(t, sandbox.Options{Latency: map[string]time.Duration{"*": 0}})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	get := func(path, version string) map[string]any {
		t.Helper()
		status, code, body := call(t, e, http.MethodGet, path+"?api-version="+version, "")
		if status != 200 {
			t.Fatalf("GET %s at %s: %d %s %s", path, version, status, code, body)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	prop := func(v map[string]any, key string) (any, bool) {
		p, _ := v["properties"].(map[string]any)
		x, ok := p[key]
		return x, ok
	}

	// az 2.45 (2022-11-01) says the free SKU is "Basic"; 2025-02-01 says "Base".
	aks := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
	body := `{"location": "westeurope", "sku": {"name": "Basic", "tier": "Free"}, "properties": {"dnsPrefix": "aks",
		"agentPoolProfiles": [{"name": "system", "mode": "System", "count": 1, "vmSize": "Standard_D2s_v5", "vnetSubnetID": "` + subnet + `"}]}}`
	if status, code, reply := call(t, e, http.MethodPut, aks+"?api-version=2022-11-01", body); status >= 300 {
		t.Fatalf("PUT at 2022-11-01: %d %s %s", status, code, reply)
	}
	e.clk.Advance(time.Minute)
	newest, old := get(aks, "2025-02-01"), get(aks, "2022-11-01")
	if sku := newest["sku"].(map[string]any)["name"]; sku != "Base" {
		t.Errorf("sku at 2025-02-01 = %v, want Base", sku)
	}
	if sku := old["sku"].(map[string]any)["name"]; sku != "Basic" {
		t.Errorf("sku at 2022-11-01 = %v, want Basic", sku)
	}
	if _, ok := newest["eTag"]; !ok {
		t.Error("no eTag at 2025-02-01")
	}
	for _, k := range []string{"supportPlan", "resourceUID"} {
		if _, ok := prop(newest, k); !ok {
			t.Errorf("no %s at 2025-02-01", k)
		}
		if _, ok := prop(old, k); ok {
			t.Errorf("%s at 2022-11-01, which does not have it", k)
		}
	}
	if _, ok := old["eTag"]; ok {
		t.Error("eTag at 2022-11-01, which does not have it")
	}
	// A list reshapes every item.
	list := get("/subscriptions/"+sub+"/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters", "2022-11-01")
	if items := list["value"].([]any); len(items) != 1 || items[0].(map[string]any)["eTag"] != nil {
		t.Errorf("list at 2022-11-01 = %v", list)
	}
	vnet := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"
	if _, ok := prop(get(vnet, "2025-05-01"), "privateEndpointVNetPolicies"); !ok {
		t.Error("no privateEndpointVNetPolicies at 2025-05-01")
	}
	for _, v := range []string{"2022-05-01", "2022-01-01", "2021-08-01"} {
		if _, ok := prop(get(vnet, v), "privateEndpointVNetPolicies"); ok {
			t.Errorf("privateEndpointVNetPolicies at %s", v)
		}
	}
}
