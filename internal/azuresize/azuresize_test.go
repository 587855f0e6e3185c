package azuresize

import "testing"

func TestPremiumStorage(t *testing.T) {
	for size, want := range map[string]bool{
		"Standard_D4s_v5": true, "Standard_D4ps_v5": true, "Standard_NC4as_T4_v3": true, "Standard_NC24ads_A100_v4": true,
		"Standard_DS2_v2": true, "Standard_D4_v5": false, "Standard_A2_v2": false, "Standard_D2_v2": false, "Basic_A1": false, "Standard_": false,
	} {
		if got := PremiumStorage(size); got != want {
			t.Errorf("PremiumStorage(%s) = %v; want %v", size, got, want)
		}
	}
}
