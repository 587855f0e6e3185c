package azure

import "testing"

// TestPremiumStorage: tier ssd is refused on VM sizes without premium
// storage; every size of the catalog has it, so ssd works on all of them.
func TestPremiumStorage(t *testing.T) {
	for size, want := range map[string]bool{
		"Standard_D4s_v5": true, "Standard_D4ps_v5": true, "Standard_NC4as_T4_v3": true, "Standard_NC24ads_A100_v4": true,
		"Standard_DS2_v2": true, "Standard_D4_v5": false, "Standard_A2_v2": false, "Standard_D2_v2": false, "Basic_A1": false,
	} {
		if got := premiumStorage(size); got != want {
			t.Errorf("premiumStorage(%s) = %v; want %v", size, got, want)
		}
	}
	for _, m := range machines {
		if !premiumStorage(m.Name) {
			t.Errorf("catalog size %s has no premium storage: tier ssd would be refused on it", m.Name)
		}
	}
}
