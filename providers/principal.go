package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// PrincipalName is the address name of the resources a driver makes for
// one spec.access principal: label (the readable part of the principal —
// an ARN's last segment, an email's local part) made a DNS label of at
// most 40 characters, then "-" and 8 hex digits of a hash of the whole
// principal, so two principals with the same label never share an
// address. With an empty label it is the hash alone.
func PrincipalName(label, principal string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(label) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	if len(n) > 40 {
		n = strings.TrimRight(n[:40], "-")
	}
	h := sha256.Sum256([]byte(principal))
	hash := hex.EncodeToString(h[:])[:8]
	if n == "" {
		return hash
	}
	return n + "-" + hash
}
