package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFlagValuesRefused: flag values that parse but make no sense are
// refused before anything runs, naming the flag. They used to be accepted:
// --parallelism 0 or less silently became 10, a negative --lock-timeout 0.
func TestBadFlagValuesRefused(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", e.specPath(), "--parallelism", "0"}, "--parallelism 0: give how many cloud operations may run at once, at least 1"},
		{[]string{"apply", "-f", e.specPath(), "--auto-approve", "--parallelism", "-3"}, "--parallelism -3"},
		{[]string{"plan", "-f", e.specPath(), "--lock-timeout", "-1s"}, "--lock-timeout -1s: give how long to wait for a region's lock, 0 or more"},
		{[]string{"state", "list", "--lock-timeout", "-5m"}, "--lock-timeout -5m0s"},
		{[]string{"validate", "-f", e.specPath(), "--jsonnet-max-memory", "0"}, "--jsonnet-max-memory 0: give a positive number of MiB"},
	} {
		r := e.must(1, tt.args...)
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("regionctl %s: error does not say %q:\n%s", strings.Join(tt.args, " "), tt.want, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "state")); !os.IsNotExist(err) {
		t.Errorf("a refused command touched the state directory: %v", err)
	}
	if objs := e.cloud.Objects(); len(objs) != 0 {
		t.Errorf("a refused apply created %d objects", len(objs))
	}
}

// TestShowJSONEmptyRegion: a region whose state holds no resources (after a
// destroy) shows "resources": [] in show --json, as the state file has it,
// not null.
func TestShowJSONEmptyRegion(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	e.must(0, "destroy", "-f", e.specPath(), "--auto-approve")
	r := e.must(0, "show", "--json")
	if !strings.Contains(r.stdout, `"resources": []`) || strings.Contains(r.stdout, "null") {
		t.Errorf("show --json of an emptied region:\n%s", r.stdout)
	}
}
