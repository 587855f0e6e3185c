package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKilledRunsLockIsTakenOver: after kill -9 of an apply, its lock names
// this host and a pid that no longer exists, so it is stale at once (not
// after its 2-minute lease): `lock list` says so, a run without
// --lock-timeout says how to take it over, and a rerun with --lock-timeout
// breaks it, says whose it was, and converges — no `state unlock` by hand.
// Before, the rerun waited out its timeout and asked for `state unlock`.
func TestKilledRunsLockIsTakenOver(t *testing.T) {
	e := newEnv(t)
	dead := fmt.Sprintf("pid %d on this host", e.killApplyAfterClusterCreate())

	if r := e.must(0, "state", "lock", "list"); !strings.Contains(r.stdout, "STALE: its holder, "+dead) {
		t.Errorf("lock list does not call the killed run's lock stale:\n%s", r.stdout)
	}
	r := e.must(ExitLocked, "plan", "-f", e.specPath())
	for _, want := range []string{dead, "is no longer running", "--lock-timeout", "state unlock --stale"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refused plan does not say %q:\n%s", want, r.stderr)
		}
	}
	r = e.must(0, "apply", "-f", e.specPath(), "--auto-approve", "--lock-timeout", "2s")
	if !strings.Contains(r.stderr, "Broke the stale lock of region test-east (its holder, "+dead) || !strings.Contains(r.stderr, "for apply") {
		t.Errorf("the rerun does not say whose lock it broke:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "Waiting") {
		t.Errorf("the rerun waited for a dead holder:\n%s", r.stderr)
	}
	e.assertCloudMatchesState("test-east")
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}

// TestLockWithExpiredLeaseTakenOver: a lock of another machine whose lease
// ran out is taken over by a run with --lock-timeout (it no longer insists
// on `state unlock --stale`), and the run says whose lock it broke.
func TestLockWithExpiredLeaseTakenOver(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	stale := `{"id":"dead-run","region":"test-east","operation":"apply","who":"ci@runner-7","pid":4242,` +
		`"version":"dev","created":"2026-01-01T00:00:00Z","expires":"2026-01-01T00:02:00Z"}`
	if err := os.WriteFile(filepath.Join(e.dir, "state", "test-east.lock"), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.must(0, "plan", "-f", e.specPath(), "--lock-timeout", "1s", "--detailed-exitcode")
	for _, want := range []string{"Broke the stale lock of region test-east (its lease ran out at 2026-01-01T00:02:00Z)", "ci@runner-7 (pid 4242)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the run does not say %q:\n%s", want, r.stderr)
		}
	}
	if r := e.must(0, "state", "lock", "list"); !strings.Contains(r.stdout, "No locks held") {
		t.Errorf("locks left after the run:\n%s", r.stdout)
	}
}
