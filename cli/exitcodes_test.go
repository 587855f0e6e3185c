package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
)

// Every kind of failure has its own exit code, so a pipeline can branch on
// it (docs/ci.md): spec, stale, lock, cloud, refresh, state, target, and 2
// for changes under --detailed-exitcode. (Stale and lock are checked in
// TestStalePlanFileNamesTheChangedResource and
// TestLockHeldByAnotherRunIsReported; target in e2e, on the real binary.)
func TestExitCodePerFailureSource(t *testing.T) {
	t.Run("spec invalid", func(t *testing.T) {
		e := newEnv(t)
		e.editSpec("min: 3, max: 6", "min: 7, max: 6")
		for _, cmd := range [][]string{{"validate"}, {"plan"}, {"apply", "--auto-approve"}} {
			r := e.must(ExitSpecInvalid, append(cmd, "-f", e.specPath())...)
			if !strings.Contains(r.stderr, "error in the spec") {
				t.Errorf("%s: %s", cmd[0], r.stderr)
			}
		}
	})
	t.Run("changes present", func(t *testing.T) {
		e := newEnv(t)
		e.must(ExitChanges, "plan", "-f", e.specPath(), "--detailed-exitcode")
		e.must(ExitOK, "plan", "-f", e.specPath())
	})
	t.Run("cloud call failed during apply", func(t *testing.T) {
		e := newEnv(t)
		e.cloud.FailOn(memcloud.OpCreate, "test-east/mem_cluster.main", 0, errors.New("InsufficientCapacity: try another zone"))
		r := e.must(ExitCloud, "apply", "-f", e.specPath(), "--auto-approve")
		if n := strings.Count(r.stdout+r.stderr, "InsufficientCapacity"); n != 1 {
			t.Errorf("the cloud's error is printed %d times, want once:\nstdout:\n%s\nstderr:\n%s", n, r.stdout, r.stderr)
		}
	})
	t.Run("refresh failed", func(t *testing.T) {
		e := newEnv(t)
		e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
		e.cloud.FailOn(memcloud.OpList, "", 0, errors.New("RequestLimitExceeded"))
		r := e.must(ExitRefresh, "plan", "-f", e.specPath())
		if strings.Contains(r.stderr, "in the spec") || !strings.Contains(r.stderr, "while refreshing from the cloud") || !strings.Contains(r.stderr, "error (refresh)") {
			t.Errorf("a refresh failure must say it comes from the refresh, not the spec:\n%s", r.stderr)
		}
	})
	t.Run("state of another target", func(t *testing.T) {
		e := newEnv(t)
		e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
		path := filepath.Join(e.dir, "state", "test-east.json")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["target"] == nil {
			t.Fatalf("apply recorded no target in state:\n%s", b)
		}
		doc["target"] = map[string]any{"sandbox": "sbx-elsewhere", "sandboxDir": "/somewhere/sandbox"}
		b, _ = json.Marshal(doc)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"plan", "-f", e.specPath()}, {"destroy", "--region", "test-east", "--auto-approve"}} {
			r := e.must(ExitTarget, args...)
			if !strings.Contains(r.stderr, "the state (region test-east) was made against the sandbox") {
				t.Errorf("%s over sandbox state:\n%s", args[0], r.stderr)
			}
		}
	})
	t.Run("state corrupt", func(t *testing.T) {
		e := newEnv(t)
		e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
		if err := os.WriteFile(filepath.Join(e.dir, "state", "test-east.json"), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := e.must(ExitState, "plan", "-f", e.specPath())
		if !strings.Contains(r.stderr, "region test-east: state: read state") {
			t.Errorf("a corrupt state must say it comes from state:\n%s", r.stderr)
		}
		e.must(ExitState, "output", "test-east")
	})
}

// Commands and subcommands that do not exist fail, so a pipeline that
// calls one does not believe it worked.
func TestUnknownCommandsFail(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"state", "rename", "a", "b"}, {"sandbox", "foo"}, {"state"}, {"state", "lock", "foo"}, {"nosuch"}} {
		r := e.must(ExitError, args...)
		if !strings.Contains(r.stderr, "unknown command") && !strings.Contains(r.stderr, "needs a subcommand") {
			t.Errorf("regionctl %s: %s", strings.Join(args, " "), r.stderr)
		}
	}
	e.must(ExitOK, "state", "--help")
}

// A driver the sandbox does not emulate is refused with --sandbox before it
// is built: it would talk to its real cloud.
func TestSandboxRefusesADriverWithoutEmulator(t *testing.T) {
	e := newEnv(t)
	built := 0
	reg := providers.Registry{"mem": func(ctx context.Context, o providers.Options) (providers.Driver, error) {
		built++
		return memcloud.NewDriver(e.cloud), nil
	}}
	var out, errb strings.Builder
	code := Main([]string{"--sandbox", "--sandbox-dir", filepath.Join(e.dir, "sb"), "plan", "-f", e.specPath()},
		Config{Registry: reg, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, IsTerminal: func(any) bool { return false }})
	if code == 0 || !strings.Contains(errb.String(), `driver "mem" has no emulator in the sandbox`) {
		t.Errorf("plan --sandbox with a driver that has no emulator: exit %d\n%s", code, errb.String())
	}
	if built != 0 {
		t.Errorf("the driver was built %d times under --sandbox", built)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "sb", "endpoints.json")); err == nil {
		t.Error("a sandbox was started for a driver it cannot emulate")
	}
}

// --log-format json streams one JSON object per event: refresh progress,
// operations with their elapsed time, diagnostics, a summary.
func TestJSONEvents(t *testing.T) {
	e := newEnv(t)
	r := e.must(0, "--log-format", "json", "apply", "-f", e.specPath(), "--auto-approve")
	types := eventTypes(t, r.stderr)
	for _, want := range []string{"start", "finish", "summary"} {
		if types[want] == 0 {
			t.Errorf("no %q event in:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "Creating...") {
		t.Errorf("--log-format json still prints human progress lines:\n%s", r.stdout)
	}
	events := filepath.Join(e.dir, "events.jsonl")
	e.editSpec("min: 3, max: 6", "min: 3, max: 7")
	e.must(0, "--events-file", events, "plan", "-f", e.specPath())
	b, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	if types := eventTypes(t, string(b)); types["refresh"] == 0 || types["refresh-start"] == 0 {
		t.Errorf("plan wrote no refresh events:\n%s", b)
	}
	e.editSpec("min: 3, max: 7", "min: 9, max: 7")
	r = e.must(ExitSpecInvalid, "--log-format", "json", "plan", "-f", e.specPath())
	if eventTypes(t, r.stderr)["diagnostic"] == 0 {
		t.Errorf("no diagnostic event:\n%s", r.stderr)
	}
}

// eventTypes counts the events of a JSON event stream by type; lines that
// are not JSON objects (human diagnostics) are skipped, but every JSON line
// must carry the stream's version.
func eventTypes(t *testing.T, stream string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, line := range strings.Split(stream, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var ev struct {
			V, Type   string
			ElapsedMS *int64 `json:"elapsed_ms"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Errorf("not JSON: %s", line)
			continue
		}
		if ev.V != EventsFormatVersion {
			t.Errorf("event without version %s: %s", EventsFormatVersion, line)
		}
		if (ev.Type == "finish" || ev.Type == "summary") && ev.ElapsedMS == nil {
			t.Errorf("%s event without elapsed_ms: %s", ev.Type, line)
		}
		n[ev.Type]++
	}
	return n
}

// -f - reads the spec from stdin.
func TestSpecFromStdin(t *testing.T) {
	e := newEnv(t)
	spec, err := os.ReadFile(e.specPath())
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := Main([]string{"validate", "-f", "-"}, Config{Registry: memRegistry(e.cloud, ""), Stdin: strings.NewReader(string(spec)),
		Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, IsTerminal: func(any) bool { return false }})
	if code != 0 || !strings.Contains(out.String(), "1 region(s) valid: test-east") {
		t.Errorf("validate -f -: exit %d\n%s%s", code, out.String(), errb.String())
	}
	e.writeSpec("# nothing yet\n")
	if r := e.must(ExitSpecInvalid, "plan", "-f", e.specPath()); !strings.Contains(r.stderr, e.specPath()+": error: no Region documents") {
		t.Errorf("an empty spec file:\n%s", r.stderr)
	}
}

// expandComplains is the fake cloud's driver with a problem only its
// Expand finds, in region test-west.
type expandComplains struct{ *memcloud.Driver }

func (d expandComplains) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	resp, err := d.Driver.Expand(ctx, req)
	if req.Region.Metadata.Name == "test-west" {
		resp.Diagnostics = resp.Diagnostics.Errorf(req.Region.Pos("spec.location"), "spec.location", "found only by Expand")
	}
	return resp, err
}

// validate checks every region whatever the others found, and prints each
// problem once: here one region fails the driver's Validate and the next
// one only its Expand (which validate used to skip after any error).
func TestValidateChecksEveryRegion(t *testing.T) {
	e := newEnv(t)
	e.writeSpec(strings.Replace(twoRegions(t, e), "  zones: 2\n", "  zones: 2\n  overrides: {mem: {x: 1}}\n", 1)) // test-east
	reg := providers.Registry{"mem": func(context.Context, providers.Options) (providers.Driver, error) {
		return expandComplains{memcloud.NewDriver(e.cloud)}, nil
	}}
	var out, errb strings.Builder
	code := Main([]string{"validate", "-f", e.specPath()}, Config{Registry: reg, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, IsTerminal: func(any) bool { return false }})
	if code != ExitSpecInvalid {
		t.Errorf("exit %d, want %d", code, ExitSpecInvalid)
	}
	for _, want := range []string{"the mem driver takes no overrides", "found only by Expand"} {
		if n := strings.Count(errb.String(), want); n != 1 {
			t.Errorf("%q reported %d times, want once:\n%s", want, n, errb.String())
		}
	}
	if !strings.Contains(errb.String(), "2 errors in the spec") {
		t.Errorf("summary:\n%s", errb.String())
	}
}
