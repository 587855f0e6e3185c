package azure

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

// TestOIDCIssuer: an enabled issuer gets a URL that updates keep; AKS's
// refusals — disabling an enabled issuer, workload identity without one —
// are 400s.
func TestOIDCIssuer(t *testing.T) {
	on := func(issuer, wi bool) *armcontainerservice.ManagedClusterProperties {
		return &armcontainerservice.ManagedClusterProperties{
			OidcIssuerProfile: &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: ptr(issuer)},
			SecurityProfile: &armcontainerservice.ManagedClusterSecurityProfile{
				WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: ptr(wi)}},
		}
	}
	created := on(true, true)
	if aerr := oidcIssuer(created, nil, "westeurope"); aerr != nil {
		t.Fatal(aerr)
	}
	url := deref(created.OidcIssuerProfile.IssuerURL)
	if !strings.HasPrefix(url, "https://westeurope.oic.prod-aks.azure.com/"+TenantID+"/") {
		t.Fatalf("issuer URL %q", url)
	}
	updated := on(true, false)
	if aerr := oidcIssuer(updated, created, "westeurope"); aerr != nil || deref(updated.OidcIssuerProfile.IssuerURL) != url {
		t.Errorf("an update: %v, issuer %q, want %q kept", aerr, deref(updated.OidcIssuerProfile.IssuerURL), url)
	}
	if aerr := oidcIssuer(on(false, false), created, "westeurope"); aerr == nil || aerr.status != 400 {
		t.Errorf("disabling the issuer: %v, want a 400", aerr)
	}
	if aerr := oidcIssuer(on(false, true), nil, "westeurope"); aerr == nil || aerr.status != 400 {
		t.Errorf("workload identity without the issuer: %v, want a 400", aerr)
	}
	if aerr := oidcIssuer(on(false, false), nil, "westeurope"); aerr != nil {
		t.Errorf("neither: %v", aerr)
	}
}
