package azure

// SetPageSize sets how many items a list page holds, for tests of paging;
// it returns a function that restores the default.
func SetPageSize(n int) (restore func()) {
	old := pageSize.Swap(int32(n))
	return func() { pageSize.Store(old) }
}

// APIVersions are the api-versions ARM accepts per version family
// (namespace), newest first, and the family constants.
var APIVersions = apiVersions

// The version families of APIVersions.
const (
	FamilyResources     = nsResources
	FamilySubscriptions = nsSubscriptions
	FamilyAKS           = nsAKS
	FamilyNetwork       = nsNetwork
	FamilyCompute       = nsCompute
	FamilyOrchestrators = nsOrchestrators
	FamilyKubeVersions  = nsKubernetesVersions
)
