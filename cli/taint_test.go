package cli

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/state"
)

// TestTaintUntaint: taint marks a resource so the next plan replaces it,
// untaint clears the mark, both write state under the region's lock, and
// an unknown address or untainting what is not tainted is a clear error
// that changes nothing.
func TestTaintUntaint(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	const sc = "test-east/mem_storage_class.fast"
	serial := e.readState("test-east").Serial

	r := e.must(0, "taint", sc)
	if !strings.Contains(r.stdout, "marked as tainted") {
		t.Errorf("taint output:\n%s", r.stdout)
	}
	st := e.readState("test-east")
	if got, _ := st.Find(sc); got.Status != state.StatusTainted || st.Serial != serial+1 {
		t.Fatalf("after taint %s is %s at serial %d; want tainted at serial %d", sc, got.Status, st.Serial, serial+1)
	}
	if r := e.must(0, "taint", sc); !strings.Contains(r.stdout, "already tainted") {
		t.Errorf("second taint output:\n%s", r.stdout)
	}
	r = e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if !strings.Contains(r.stdout, "-/+ "+sc) || !strings.Contains(r.stdout, "1 to add, 0 to change, 1 to destroy") {
		t.Fatalf("the plan after taint does not replace %s:\n%s", sc, r.stdout)
	}

	e.must(0, "untaint", sc)
	if got, _ := e.readState("test-east").Find(sc); got.Status != state.StatusCreated {
		t.Fatalf("after untaint %s is %s, want created", sc, got.Status)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")

	serial = e.readState("test-east").Serial
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"untaint", sc}, "is not tainted (its status is created)"},
		{[]string{"taint", "test-east/mem_storage_class.nope"}, "no resource test-east/mem_storage_class.nope in the state of region test-east"},
		{[]string{"untaint", "test-east/mem_storage_class.nope"}, "state list --region test-east"},
		{[]string{"taint", "nope"}, "want REGION/TYPE.NAME"},
		{[]string{"taint", "other/mem_cluster.main"}, "region other has no state"},
	} {
		r := e.must(1, tt.args...)
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("regionctl %s: error does not say %q:\n%s", strings.Join(tt.args, " "), tt.want, r.stderr)
		}
	}
	if got := e.readState("test-east").Serial; got != serial {
		t.Errorf("refused commands wrote state (serial %d → %d)", serial, got)
	}
	if r := e.must(0, "state", "lock", "list"); !strings.Contains(r.stdout, "No locks held") {
		t.Errorf("taint left a lock behind:\n%s", r.stdout)
	}
}
