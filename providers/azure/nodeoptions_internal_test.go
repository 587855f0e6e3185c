package azure

import (
	"testing"

	"github.com/regionctl/regionctl/internal/azuresize"
)

// TestCatalogHasPremiumStorage: tier ssd is refused on VM sizes without
// premium storage; every size of the catalog has it, so ssd works on all
// of them.
func TestCatalogHasPremiumStorage(t *testing.T) {
	for _, m := range machines {
		if !azuresize.PremiumStorage(m.Name) {
			t.Errorf("catalog size %s has no premium storage: tier ssd would be refused on it", m.Name)
		}
	}
}
