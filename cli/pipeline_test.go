package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// twoRegions is the test spec with a second region, test-west.
func twoRegions(t *testing.T, e *env) string {
	t.Helper()
	b, err := os.ReadFile(e.specPath())
	if err != nil {
		t.Fatal(err)
	}
	west := strings.NewReplacer("name: test-east", "name: test-west", "10.20.0.0/16", "10.30.0.0/16").Replace(string(b))
	return string(b) + "---\n" + west
}

// TestTwoPullRequestsTouchingDifferentRegions is the CI flow of docs/ci.md
// with two pull requests planned from the same main, each changing another
// region, merged one after the other: both saved plans apply (each job in
// its own directory, from the plan file alone), and main then plans no
// change. Before staleness was decided per region, the second apply was
// refused because the first moved the other region's serial.
func TestTwoPullRequestsTouchingDifferentRegions(t *testing.T) {
	e := newEnv(t)
	main := twoRegions(t, e)
	e.writeSpec(main)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")

	east := strings.Replace(main, "min: 3, max: 6", "min: 3, max: 8", 1) // the first region in the file
	lastPool := strings.LastIndex(main, "min: 3, max: 6")
	west := main[:lastPool] + "min: 2, max: 6" + main[lastPool+len("min: 3, max: 6"):]

	plans := map[string]string{}
	for name, spec := range map[string]string{"east": east, "west": west} {
		e.writeSpec(spec)
		plans[name] = filepath.Join(e.dir, name+".plan")
		e.must(ExitChanges, "plan", "-f", e.specPath(), "--detailed-exitcode", "--out", plans[name])
	}

	for _, pr := range []string{"east", "west"} {
		dir, _ := jobDir(t, plans[pr])
		r := e.runJob(dir, "apply", "regionctl.plan")
		if r.code != 0 {
			t.Fatalf("merge of the %s pull request: apply exit %d\nstdout:\n%s\nstderr:\n%s", pr, r.code, r.stdout, r.stderr)
		}
	}

	both := strings.Replace(west, "min: 3, max: 6", "min: 3, max: 8", 1)
	e.writeSpec(both)
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
	inState := strings.Fields(e.must(0, "state", "list").stdout)
	inCloud := map[string]int{}
	for _, o := range e.cloud.Objects() {
		inCloud[o.Address()]++
	}
	if len(inState) != len(inCloud) {
		t.Errorf("state lists %d resources, the cloud holds %d", len(inState), len(inCloud))
	}
	for _, a := range inState {
		if inCloud[a] != 1 {
			t.Errorf("%s: %d objects in the cloud, want 1", a, inCloud[a])
		}
	}
}
