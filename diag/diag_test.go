package diag

import (
	"errors"
	"testing"
)

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		name string
		d    Diagnostic
		want string
	}{
		{"everything", Diagnostic{Severity: Error, Pos: Pos{File: "r.yaml", Line: 3, Column: 5}, Path: "spec.zones", Summary: "7 zones", Detail: "us-east-2 has 3\nzones", Fix: "use 3"},
			"r.yaml:3:5: error: spec.zones: 7 zones\n  us-east-2 has 3\n  zones\n  fix: use 3"},
		{"no position or path", Diagnostic{Severity: Warning, Summary: "deprecated"}, "warning: deprecated"},
		{"file and line only", Diagnostic{Pos: Pos{File: "a.json", Line: 9}, Summary: "bad"}, "a.json:9: error: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSortAndErr(t *testing.T) {
	ds := Diagnostics{
		{Pos: Pos{File: "b.yaml", Line: 1}, Summary: "b1"},
		{Pos: Pos{File: "a.yaml", Line: 7, Column: 2}, Summary: "a7"},
		{Pos: Pos{File: "a.yaml", Line: 7, Column: 1}, Summary: "a7c1"},
		{Severity: Warning, Pos: Pos{File: "a.yaml", Line: 2}, Summary: "a2"},
	}
	ds.Sort()
	var got []string
	for _, d := range ds {
		got = append(got, d.Summary)
	}
	want := []string{"a2", "a7c1", "a7", "b1"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sorted %v, want %v", got, want)
		}
	}
	err := ds.Err()
	var le *ListError
	if !errors.As(err, &le) || len(le.Diagnostics) != 4 {
		t.Fatalf("Err() = %v, want a *ListError with all 4 diagnostics", err)
	}
	if (Diagnostics{{Severity: Warning, Summary: "w"}}).Err() != nil {
		t.Fatal("warnings alone must not be an error")
	}
}
