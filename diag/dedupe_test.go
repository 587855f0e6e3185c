package diag

import "testing"

// Dedupe keeps each problem once: an exact repeat goes, and so does a
// warning that says what an error says (a driver's Validate and Expand
// both reporting it); other diagnostics keep their order.
func TestDedupe(t *testing.T) {
	pos := Pos{File: "r.yaml", Line: 3, Column: 5}
	proj := Diagnostic{Severity: Warning, Pos: pos, Path: "spec.overrides.gcp.project", Summary: "no GCP project"}
	projErr := proj
	projErr.Severity = Error
	other := Diagnostic{Severity: Warning, Pos: pos, Path: "spec.zones", Summary: "odd"}
	refresh := Diagnostic{Severity: Error, Source: SourceRefresh, Summary: "no GCP project"}
	got := Diagnostics{proj, other, projErr, other, refresh}.Dedupe()
	want := Diagnostics{other, projErr, refresh}
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
