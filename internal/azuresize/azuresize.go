// Package azuresize reads what an Azure VM size's name says about the VM,
// for the Azure driver and the Azure emulator alike.
package azuresize

import "strings"

// PremiumStorage reports whether a VM size takes Premium SSDs: an "s"
// among the features after its vCPU count (Standard_D4s_v5,
// Standard_NC4as_T4_v3), or an S-family (Standard_DS2_v2).
func PremiumStorage(size string) bool {
	rest, ok := strings.CutPrefix(size, "Standard_")
	if !ok {
		return false
	}
	rest, _, _ = strings.Cut(rest, "_")
	i := strings.IndexAny(rest, "0123456789")
	if i < 0 {
		return false
	}
	family, features := rest[:i], strings.TrimLeft(rest[i:], "0123456789")
	return strings.HasSuffix(family, "S") || strings.Contains(features, "s")
}
