package cli

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/state"
)

// TestImportAdoptMove walks what a team does when state and the cloud part
// ways: an object dropped from state with state rm is adopted by the next
// plan instead of duplicated; regionctl import records an object at once
// and refuses what is already managed or does not exist; state mv follows a
// rename in the spec, so the plan replaces the object in place (create
// before destroy) instead of deleting one and creating another.
func TestImportAdoptMove(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	const sc = "test-east/mem_storage_class.fast"
	objects := len(e.cloud.Objects())
	orig, _ := e.readState("test-east").Find(sc)

	// state rm, then plan: adopted by its tags, not created again.
	e.must(0, "state", "rm", sc)
	r := e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if !strings.Contains(r.stdout, "<= "+sc+" (adopting "+orig.ID) || !strings.Contains(r.stdout, "1 to import, 0 to add") {
		t.Fatalf("the plan after state rm does not adopt %s:\n%s", sc, r.stdout)
	}
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	if got, _ := e.readState("test-east").Find(sc); got.ID != orig.ID || got.Status != state.StatusCreated {
		t.Errorf("after the adoption state holds %s as %s %q; want created %q", sc, got.Status, got.ID, orig.ID)
	}
	if n := len(e.cloud.Objects()); n != objects {
		t.Errorf("the cloud holds %d objects after the adoption, %d before: a duplicate was made", n, objects)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")

	// regionctl import, by a spec element.
	e.must(0, "state", "rm", sc)
	r = e.must(0, "import", "-f", e.specPath(), "storageClasses.fast", orig.ID)
	if !strings.Contains(r.stdout, "Imported mem_storage_class "+orig.ID+" as "+sc) {
		t.Errorf("import output:\n%s", r.stdout)
	}
	if got, _ := e.readState("test-east").Find(sc); got.ID != orig.ID {
		t.Errorf("after import state holds %s as %q, want %q", sc, got.ID, orig.ID)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if r := e.must(0, "import", "-f", e.specPath(), "test-east/"+"mem_storage_class.fast", orig.ID); !strings.Contains(r.stdout, "already managed") {
		t.Errorf("a second import of the same object:\n%s", r.stdout)
	}
	serial := e.readState("test-east").Serial
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "-f", e.specPath(), "loadBalancers.api", orig.ID}, "already managed"},
		{[]string{"import", "-f", e.specPath(), "storageClasses.slow", "x"}, "no resource of region test-east realises storageClasses.slow"},
		{[]string{"import", "-f", e.specPath(), "other/cluster", "x"}, "no region other in the specs"},
		{[]string{"state", "mv", sc, "test-east/mem_cluster.fast"}, "an object keeps its type"},
		{[]string{"state", "mv", sc, "test-west/mem_storage_class.fast"}, "different regions"},
		{[]string{"state", "mv", "test-east/mem_storage_class.nope", "test-east/mem_storage_class.x"}, "no resource test-east/mem_storage_class.nope"},
		{[]string{"state", "mv", sc, sc}, "the same address"},
	} {
		r := e.run(tt.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("regionctl %s: exit %d, error does not say %q:\n%s", strings.Join(tt.args, " "), r.code, tt.want, r.stderr)
		}
	}
	// An ID or address the user typed is their input, not the spec's.
	for _, args := range [][]string{
		{"import", "-f", e.specPath(), "storageClasses.slow", "x"},
		{"import", "-f", e.specPath(), "loadBalancers.api", "no-such-object"},
	} {
		r := e.run(args...)
		if r.code != 3 || !strings.Contains(r.stderr, "in the command's arguments") || strings.Contains(r.stderr, "in the spec;") {
			t.Errorf("regionctl %s: exit %d, want 3 naming the command's arguments:\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if got := e.readState("test-east").Serial; got != serial {
		t.Errorf("refused commands wrote state (serial %d → %d)", serial, got)
	}

	// A rename in the spec: state mv makes it one replacement, created
	// before the old object is deleted, at the new address.
	e.editSpec("{name: fast, tier: ssd", "{name: faster, tier: ssd")
	const moved = "test-east/mem_storage_class.faster"
	if r := e.must(0, "state", "mv", "--dry-run", sc, moved); !strings.Contains(r.stdout, "Would move "+sc+" ("+orig.ID+") to "+moved) {
		t.Errorf("state mv --dry-run output:\n%s", r.stdout)
	}
	if got := e.readState("test-east").Serial; got != serial {
		t.Errorf("state mv --dry-run wrote state")
	}
	e.must(0, "state", "mv", sc, moved)
	if got, _ := e.readState("test-east").Find(moved); got.ID != orig.ID {
		t.Fatalf("after state mv %s holds %q, want %q", moved, got.ID, orig.ID)
	}
	r = e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
	replaced := strings.Contains(r.stdout, "-/+ "+moved) || strings.Contains(r.stdout, "+/- "+moved)
	if !replaced || strings.Contains(r.stdout, sc+"\n") || strings.Contains(r.stdout, sc+" ") || !strings.Contains(r.stdout, "1 to add, 0 to change, 1 to destroy") {
		t.Errorf("the plan after state mv does not replace the moved object in place:\n%s", r.stdout)
	}
}

// TestStateRmRemembersTheObject: an object whose tags do not name its
// address — one regionctl did not make and then imported, or one moved
// with state mv — is still adopted after state rm, by the ID state
// remembered, instead of created a second time; a plan whose spec no
// longer wants the address leaves it alone.
func TestStateRmRemembersTheObject(t *testing.T) {
	for _, tag := range []struct{ name, address string }{
		{"imported, untagged", ""},
		{"moved, tagged with the old address", "test-east/mem_storage_class.old"},
	} {
		t.Run(tag.name, func(t *testing.T) {
			e := newEnv(t)
			e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
			const sc = "test-east/mem_storage_class.fast"
			orig, _ := e.readState("test-east").Find(sc)
			if err := e.cloud.SetAddressTag(orig.ID, tag.address); err != nil {
				t.Fatal(err)
			}
			objects := len(e.cloud.Objects())

			e.must(0, "state", "rm", sc)
			if f, ok := e.readState("test-east").ForgottenAt(sc, orig.Type); !ok || f.ID != orig.ID {
				t.Fatalf("state rm did not remember %s (%s): %+v", sc, orig.ID, e.readState("test-east").Forgotten)
			}
			r := e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
			if !strings.Contains(r.stdout, "<= "+sc+" (adopting "+orig.ID+": `state rm` dropped it") || !strings.Contains(r.stdout, "1 to import, 0 to add") {
				t.Fatalf("the plan after state rm does not adopt %s by its remembered ID:\n%s", sc, r.stdout)
			}
			r = e.must(2, "plan", "-f", e.specPath(), "--json", "--detailed-exitcode")
			if !strings.Contains(r.stdout, `"source":"forgotten"`) && !strings.Contains(r.stdout, `"source": "forgotten"`) {
				t.Errorf("plan --json does not name the adoption's source:\n%s", r.stdout)
			}
			e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
			st := e.readState("test-east")
			if got, _ := st.Find(sc); got.ID != orig.ID || got.Status != state.StatusCreated {
				t.Errorf("after the adoption state holds %s as %s %q; want created %q", sc, got.Status, got.ID, orig.ID)
			}
			if len(st.Forgotten) != 0 {
				t.Errorf("state still remembers %+v after adopting it", st.Forgotten)
			}
			if n := len(e.cloud.Objects()); n != objects {
				t.Errorf("the cloud holds %d objects after the adoption, %d before: a duplicate was made", n, objects)
			}
			e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")

			// Dropped from state and from the spec: nothing is adopted.
			e.must(0, "state", "rm", sc)
			e.editSpec("{name: fast, tier: ssd", "{name: faster, tier: ssd")
			r = e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
			if strings.Contains(r.stdout, orig.ID) || !strings.Contains(r.stdout, "Plan: 1 to add, 0 to change") {
				t.Errorf("a plan for a spec without %s adopts its object:\n%s", sc, r.stdout)
			}
		})
	}
}

// TestTargetReplaceRefreshOnly: --refresh-only records a change made
// outside regionctl without touching the cloud (also through a saved
// plan), --target applies one element's change and leaves the rest for
// later, --replace replaces what has not changed.
func TestTargetReplaceRefreshOnly(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	const pool = "test-east/mem_node_pool.system"
	p, _ := e.readState("test-east").Find(pool)
	if err := e.cloud.Mutate(p.ID, func(in map[string]any) { in["max"] = 9 }); err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		return e.cloud.Calls(memcloud.OpCreate) + e.cloud.Calls(memcloud.OpUpdate) + e.cloud.Calls(memcloud.OpDelete)
	}
	before := writes()

	r := e.must(2, "plan", "-f", e.specPath(), "--refresh-only", "--detailed-exitcode", "--out", e.dir+"/refresh.plan")
	if !strings.Contains(r.stdout, "Objects changed outside regionctl") || !strings.Contains(r.stdout, "max: 6 → 9") {
		t.Fatalf("the refresh-only plan does not show the drift:\n%s", r.stdout)
	}
	e.must(0, "apply", e.dir+"/refresh.plan")
	if got, _ := e.readState("test-east").Find(pool); got.Inputs["max"] != float64(9) {
		t.Errorf("after the refresh-only apply state records max %v, want 9", got.Inputs["max"])
	}
	if n := writes(); n != before {
		t.Errorf("the refresh-only apply made %d changes in the cloud", n-before)
	}
	e.must(0, "plan", "-f", e.specPath(), "--refresh-only", "--detailed-exitcode")
	for _, bad := range [][]string{{"--refresh-only", "--replace", pool}, {"--refresh-only", "--refresh=false"}} {
		if r := e.run(append([]string{"plan", "-f", e.specPath()}, bad...)...); r.code == 0 {
			t.Errorf("plan %v was accepted", bad)
		}
	}

	// Two changes; --target applies the pool's only.
	e.editSpec("{name: fast, tier: ssd, default: true}", "{name: fast, tier: ssd, default: true, reclaimPolicy: Retain}")
	r = e.must(2, "plan", "-f", e.specPath(), "--target", "cluster.nodePools.system", "--detailed-exitcode")
	if !strings.Contains(r.stdout, "Resource targeting is in effect") || !strings.Contains(r.stdout, "~ "+pool) || strings.Contains(r.stdout, "mem_storage_class.fast") {
		t.Fatalf("the targeted plan:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.specPath(), "--target", pool, "--auto-approve")
	if got, _ := e.readState("test-east").Find(pool); got.Inputs["max"] != float64(6) {
		t.Errorf("after the targeted apply the pool's max is %v, want 6", got.Inputs["max"])
	}
	r = e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if !strings.Contains(r.stdout, "mem_storage_class.fast") || strings.Contains(r.stdout, pool) {
		t.Errorf("after the targeted apply the plan should hold the storage class only:\n%s", r.stdout)
	}
	if r := e.run("plan", "-f", e.specPath(), "--target", "cluster.nodePools.nope"); r.code == 0 {
		t.Errorf("a target that matches nothing was accepted:\n%s", r.stdout)
	}

	// --replace replaces what did not change.
	const lb = "test-east/mem_load_balancer.api"
	r = e.must(2, "plan", "-f", e.specPath(), "--replace", lb, "--target", lb, "--detailed-exitcode")
	if !strings.Contains(r.stdout, lb+" (replace: replacement requested with --replace)") {
		t.Errorf("the --replace plan:\n%s", r.stdout)
	}
	old, _ := e.readState("test-east").Find(lb)
	e.must(0, "apply", "-f", e.specPath(), "--replace", lb, "--target", lb, "--auto-approve")
	if now, _ := e.readState("test-east").Find(lb); now.ID == old.ID || now.ID == "" {
		t.Errorf("after apply --replace the load balancer is %q, was %q: not replaced", now.ID, old.ID)
	}
}
