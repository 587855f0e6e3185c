package azure

// SetPageSize sets how many items a list page holds, for tests of paging;
// it returns a function that restores the default.
func SetPageSize(n int) (restore func()) {
	old := pageSize.Swap(int32(n))
	return func() { pageSize.Store(old) }
}
