package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regionctl/regionctl/spec"
)

func TestPlanFileRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	p := f.plan(t, PlanOptions{AllowDestroy: true}, region(r1, func(r *spec.Region) {
		r.Spec.Network.CIDR = "10.40.0.0/16"
		r.Spec.Cluster.NodePools[0].Max = 12
	}), region("us1"))
	path := filepath.Join(t.TempDir(), "tfplan.json")
	if err := WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip changed the plan (-want +got):\n%s", diff)
	}
	// The plan read back applies like the original.
	f.apply(t, got)
	f.checkNoLeaks(t, r1, "us1")
	if again := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) {
		r.Spec.Network.CIDR = "10.40.0.0/16"
		r.Spec.Cluster.NodePools[0].Max = 12
	}), region("us1")); again.HasChanges() {
		t.Error("changes left after applying the plan file")
	}
}

func TestReadPlanFileErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{name: "newer format", content: `{"formatVersion": 99, "regions": []}`, want: "format version 99 is newer"},
		{name: "truncated", content: `{"formatVersion": 1, "regions": [`, want: "corrupt or truncated"},
		{name: "not a plan", content: `{"hello": "world"}`, want: "no formatVersion"},
		{name: "unknown action", content: `{"formatVersion": 1, "regions": [{"region": "a", "changes": [{"action": "explode"}]}]}`, want: "unknown plan action explode"},
		{name: "wrong types", content: `{"formatVersion": 1, "regions": {"a": 1}}`, want: "corrupt plan"},
		{name: "region without name", content: `{"formatVersion": 1, "regions": [{}]}`, want: "a region has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadPlanFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := ReadPlanFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("reading a missing file succeeded")
	}
}
