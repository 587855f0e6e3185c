package azure

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// The checks ARM makes of a bearer token, including those no client of the
// sandbox's own token endpoint can provoke (a token signed by the tenant
// for another audience, or expired).
func TestVerifyBearer(t *testing.T) {
	e := New(emu.Env{})
	id, _, err := e.ensureIdentity()
	if err != nil {
		t.Fatal(err)
	}
	other := New(emu.Env{})
	otherID, _, err := other.ensureIdentity()
	if err != nil {
		t.Fatal(err)
	}
	issue := func(em *Emulator, rec *identityRec, aud string, at time.Time) string {
		tok, err := em.issue(rec, aud, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	good := issue(e, id, "https://management.azure.com", now)
	tests := []struct {
		name, header, code string
	}{
		{"valid", "Bearer " + good, ""},
		{"classic audience", "Bearer " + issue(e, id, "https://management.core.windows.net/", now), ""},
		{"missing", "", "AuthenticationFailed"},
		{"not bearer", "Basic Zm9vOmJhcg==", "AuthenticationFailed"},
		{"not a jwt", "Bearer not-a-jwt", "InvalidAuthenticationToken"},
		{"three garbage parts", "Bearer a.b.c", "InvalidAuthenticationToken"},
		{"another tenant's key", "Bearer " + issue(other, otherID, "https://management.azure.com", now), "InvalidAuthenticationToken"},
		{"tampered", "Bearer " + good[:strings.LastIndex(good, ".")] + ".AAAA", "InvalidAuthenticationToken"},
		{"expired", "Bearer " + issue(e, id, "https://management.azure.com", now.Add(-2*time.Hour)), "ExpiredAuthenticationToken"},
		{"wrong audience", "Bearer " + issue(e, id, "https://graph.microsoft.com", now), "InvalidAuthenticationTokenAudience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			aerr := e.verifyBearer(w, tt.header)
			got := ""
			if aerr != nil {
				got = aerr.code
				if aerr.status != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("status %d, WWW-Authenticate %q", aerr.status, w.Header().Get("WWW-Authenticate"))
				}
			}
			if got != tt.code {
				t.Errorf("code = %q (%v), want %q", got, aerr, tt.code)
			}
		})
	}
}

// BenchmarkVerifyBearer measures what checking a token adds to an ARM
// request: on a token's first use parsing the JWT and one RS256 (2048-bit)
// signature verification, afterwards a map lookup.
func BenchmarkVerifyBearer(b *testing.B) {
	e := New(emu.Env{})
	id, _, err := e.ensureIdentity()
	if err != nil {
		b.Fatal(err)
	}
	tok, err := e.issue(id, "https://management.azure.com", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	header := "Bearer " + tok
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "first-use", true: "cached"}[cached], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !cached {
					clear(e.verified)
				}
				if aerr := e.verifyBearer(httptest.NewRecorder(), header); aerr != nil {
					b.Fatal(aerr)
				}
			}
		})
	}
}
