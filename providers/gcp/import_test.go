package gcp

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
)

func TestImportName(t *testing.T) {
	in := providers.Values{"project": "shop-prod", "region": "europe-west4", "location": "europe-west4", "cluster": "prod"}
	tests := []struct {
		typ, id     string
		in          providers.Values
		want, wantC string
		wantErr     string
	}{
		{TypeNetwork, "regionctl-prod", in, "regionctl-prod", "", ""},
		{TypeNetwork, "projects/shop-prod/global/networks/regionctl-prod", in, "regionctl-prod", "", ""},
		{TypeNetwork, "https://www.googleapis.com/compute/v1/projects/shop-prod/global/networks/regionctl-prod", in, "regionctl-prod", "", ""},
		{TypeNetwork, "projects/other/global/networks/regionctl-prod", in, "", "", "in project other, but the region's project is shop-prod"},
		{TypeSubnetwork, "projects/shop-prod/regions/us-east1/subnetworks/x", in, "", "", "in us-east1, but the region's location is europe-west4"},
		{TypeAddress, "projects/shop-prod/regions/europe-west4/addresses/lb-web", in, "lb-web", "", ""},
		{TypeCluster, "projects/shop-prod/locations/europe-west4/clusters/prod", in, "prod", "", ""},
		{TypeCluster, "projects/shop-prod/global/networks/prod", in, "", "", "does not name a gcp_container_cluster"},
		{TypeNodePool, "projects/shop-prod/locations/europe-west4/clusters/prod/nodePools/system-1a", in, "system-1a", "prod", ""},
		{TypeNodePool, "projects/shop-prod/locations/europe-west4/clusters/staging/nodePools/system-1a", in, "", "", "belongs to GKE cluster staging"},
		{TypeNodePool, "projects/shop-prod/locations/europe-west4/clusters/prod/nodePools/system-1a", providers.Values{}, "system-1a", "prod", ""},
		{TypeNodePool, "system-1a", in, "system-1a", "", ""},
	}
	for _, tt := range tests {
		name, cluster, err := importName(tt.typ, tt.id, tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("importName(%s, %s) error %v, want %q", tt.typ, tt.id, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || name != tt.want || cluster != tt.wantC):
			t.Errorf("importName(%s, %s) = %q, %q, %v; want %q, %q", tt.typ, tt.id, name, cluster, err, tt.want, tt.wantC)
		}
	}
}
