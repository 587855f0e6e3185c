package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/statetest"
)

func harness() statetest.Harness {
	return statetest.Harness{
		New:  func(t *testing.T) state.Backend { return New(filepath.Join(t.TempDir(), ".regionctl", "state")) },
		Open: func(_ *testing.T, b state.Backend) state.Backend { return New(b.(*Backend).Dir()) },
		Corrupt: func(t *testing.T, b state.Backend, region string) {
			if err := os.WriteFile(b.(*Backend).StatePath(region), []byte(`{"version": 1, "lineage": "x", "resou`), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		Raw: func(t *testing.T, b state.Backend, region string) []byte {
			data, err := os.ReadFile(b.(*Backend).StatePath(region))
			if err != nil {
				t.Fatal(err)
			}
			return data
		},
	}
}

func TestConformance(t *testing.T) { statetest.Run(t, harness()) }

// TestConformanceWithoutHardLinks runs the suite with lock records created by
// the O_EXCL fallback, as on file systems without hard links.
func TestConformanceWithoutHardLinks(t *testing.T) {
	saved := link
	link = func(string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
	t.Cleanup(func() { link = saved })
	statetest.Run(t, harness())
}

func newState(region, lineage string, serial uint64, ids ...string) *state.State {
	s := state.New(region, "aws", lineage)
	s.Serial = serial
	for _, id := range ids {
		s.Put(state.Resource{Address: region + "/x." + id, Type: "x", ID: id, Status: state.StatusCreated})
	}
	return s
}

func TestBackupHoldsPreviousVersion(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	if _, err := os.Stat(b.BackupPath("r")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backup before any write: %v", err)
	}
	s1 := newState("r", "L", 1, "a")
	if err := b.Write(ctx, s1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.BackupPath("r")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("first write made a backup (err %v): there is no previous version", err)
	}
	v1, _ := os.ReadFile(b.StatePath("r"))
	for serial := uint64(2); serial <= 3; serial++ {
		prev, _ := os.ReadFile(b.StatePath("r"))
		if err := b.Write(ctx, newState("r", "L", serial, "a", fmt.Sprint("b", serial)), serial-1); err != nil {
			t.Fatal(err)
		}
		backup, err := os.ReadFile(b.BackupPath("r"))
		if err != nil {
			t.Fatal(err)
		}
		if string(backup) != string(prev) {
			t.Fatalf("after writing serial %d the backup is\n%s\nwant the previous version\n%s", serial, backup, prev)
		}
	}
	if d, _ := state.Decode(v1); d.Serial != 1 {
		t.Fatalf("sanity: v1 has serial %d", d.Serial)
	}
}

func TestCorruptReadNamesFileAndBackup(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	if err := b.Write(ctx, newState("r", "L", 1, "a"), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, newState("r", "L", 2, "a", "b"), 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"truncated", `{"version": 1, "lin`, []string{b.StatePath("r"), b.BackupPath("r"), "not a JSON state document"}},
		{"empty file", ``, []string{b.StatePath("r"), b.BackupPath("r")}},
		{"no version", `{"lineage": "L", "serial": 2, "region": "r"}`, []string{"no format version", b.BackupPath("r")}},
		{"newer version", `{"version": 99, "lineage": "L", "serial": 2, "region": "r", "newField": 1}`, []string{"upgrade regionctl", b.StatePath("r")}},
		{"other region", `{"version": 1, "lineage": "L", "serial": 2, "region": "q", "resources": []}`, []string{`region "q"`, b.BackupPath("r")}},
		{"trailing garbage", `{"version": 1, "lineage": "L", "serial": 2, "region": "r"} {}`, []string{"not a JSON state document", b.StatePath("r")}},
		// Read as an empty region, these would plan to create everything again.
		{"null resources", `{"version": 1, "lineage": "L", "serial": 2, "region": "r", "resources": null}`,
			[]string{`"resources" is null`, "would create everything again", "region r", b.StatePath("r"), b.BackupPath("r"), "repair the document by hand"}},
		{"no resources", `{"version": 1, "lineage": "L", "serial": 2, "region": "r"}`, []string{`no "resources" list`, b.StatePath("r")}},
		{"unknown status", `{"version": 1, "lineage": "L", "serial": 2, "region": "r", "resources": [{"address": "r/x.a", "type": "x", "id": "a", "status": "craeted"}]}`,
			[]string{`r/x.a with unknown status "craeted"`, b.StatePath("r"), b.BackupPath("r")}},
		{"no status", `{"version": 1, "lineage": "L", "serial": 2, "region": "r", "resources": [{"address": "r/x.a", "type": "x", "id": "a"}]}`,
			[]string{`r/x.a with unknown status ""`}},
		{"created without id", `{"version": 1, "lineage": "L", "serial": 2, "region": "r", "resources": [{"address": "r/x.a", "type": "x", "status": "created"}]}`,
			[]string{"r/x.a as created but with no id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(b.StatePath("r"), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := b.Read(ctx, "r")
			var cerr *state.CorruptError
			if !errors.As(err, &cerr) {
				t.Fatalf("Read: err = %v (%T), want *state.CorruptError", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Read error %q does not mention %q", err, w)
				}
			}
			if err := b.Write(ctx, newState("r", "L", 3, "c"), 2); !errors.As(err, &cerr) {
				t.Fatalf("Write over it: err = %v, want *state.CorruptError", err)
			}
			if got, _ := os.ReadFile(b.StatePath("r")); string(got) != tt.content {
				t.Fatalf("Write changed the corrupt file to %q", got)
			}
		})
	}
}

func TestRecoverFromBackup(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	s1 := newState("r", "L", 1, "a")
	if err := b.Write(ctx, s1, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, newState("r", "L", 2, "a", "b"), 1); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(b.StatePath("r"), []byte("garbage"), 0o600)
	// The documented recovery: copy the backup over the state file.
	backup, err := os.ReadFile(b.BackupPath("r"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.StatePath("r"), backup, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := b.Read(ctx, "r")
	if err != nil {
		t.Fatalf("Read after restoring the backup: %v", err)
	}
	if diff := cmp.Diff(s1, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("restored state (-want +got):\n%s", diff)
	}
	if err := b.Write(ctx, newState("r", "L", 2, "a", "c"), 1); err != nil {
		t.Fatalf("Write after restoring the backup: %v", err)
	}
}

func TestCrashBeforeRenameKeepsOldState(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	s1 := newState("r", "L", 1, "a")
	if err := b.Write(ctx, s1, 0); err != nil {
		t.Fatal(err)
	}
	// A process that died after writing its temporary file and before the
	// rename leaves the temporary file behind, half written.
	stray := filepath.Join(b.Dir(), ".r.json"+tmpSuffix+"123456")
	if err := os.WriteFile(stray, []byte(`{"version": 1, "lineage": "L", "serial": 2, "reg`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := b.Read(ctx, "r")
	if err != nil {
		t.Fatalf("Read with a stray temporary file: %v", err)
	}
	if diff := cmp.Diff(s1, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Read (-want +got):\n%s", diff)
	}
	if regions, err := b.Regions(ctx); err != nil || !cmp.Equal(regions, []string{"r"}) {
		t.Fatalf("Regions = %v, %v; want [r]", regions, err)
	}
	if err := b.Write(ctx, newState("r", "L", 2, "a", "b"), 1); err != nil {
		t.Fatalf("Write with a stray temporary file: %v", err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stray temporary file still there after a write (%v)", err)
	}
	if got := mustRead(t, b, "r"); got.Serial != 2 {
		t.Fatalf("serial after write = %d, want 2", got.Serial)
	}
}

func mustRead(t *testing.T, b *Backend, region string) *state.State {
	t.Helper()
	s, err := b.Read(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFileModesAndLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "deep", "state")
	b := New(dir)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("New created the directory; it should wait for the first write")
	}
	if err := b.Write(ctx, newState("r", "L", 1, "a"), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, newState("r", "L", 2, "a"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(ctx, "r", state.LockInfo{Who: "a@b"}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", st.Mode().Perm())
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	want := []string{"r.json", "r.json.backup", "r.json.flock", "r.lock"}
	if !cmp.Equal(names, want) {
		t.Errorf("files %v, want %v (no temporary files left)", names, want)
	}
}

func TestStableReadableJSON(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	s := state.New("r", "aws", "L")
	s.Serial = 1
	// Resources out of order and a map: the file must not depend on either.
	s.Resources = []state.Resource{
		{Address: "r/x.b", Type: "x", ID: "2", Status: state.StatusCreated, Inputs: map[string]any{"z": "<&>", "a": float64(1)}},
		{Address: "r/x.a", Type: "x", ID: "1", Status: state.StatusCreated},
	}
	if err := b.Write(ctx, s, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(b.StatePath("r"))
	want := `{
  "version": 1,
  "lineage": "L",
  "serial": 1,
  "region": "r",
  "provider": "aws",
  "resources": [
    {
      "address": "r/x.a",
      "type": "x",
      "id": "1",
      "status": "created"
    },
    {
      "address": "r/x.b",
      "type": "x",
      "id": "2",
      "status": "created",
      "inputs": {
        "a": 1,
        "z": "<&>"
      }
    }
  ]
}
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Fatalf("state file (-want +got):\n%s", diff)
	}
	if s.Resources[0].Address != "r/x.b" {
		t.Error("Write reordered the caller's state")
	}
}

func TestUnreadableLockRecord(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	os.MkdirAll(b.Dir(), 0o700)
	os.WriteFile(b.LockPath("r"), []byte("{"), 0o600)
	_, err := b.Lock(ctx, "r", state.LockInfo{})
	var lerr *state.LockError
	if !errors.As(err, &lerr) || !strings.Contains(err.Error(), b.LockPath("r")) || !strings.Contains(err.Error(), "delete the file") {
		t.Fatalf("Lock over an unreadable record: err = %v, want a *LockError naming %s and the fix", err, b.LockPath("r"))
	}
	if _, err := b.Locks(ctx); err == nil || !strings.Contains(err.Error(), b.LockPath("r")) {
		t.Fatalf("Locks with an unreadable record: err = %v, want one naming the file", err)
	}
}

func TestUnlockStaleRefusesRenewedLease(t *testing.T) {
	ctx := context.Background()
	b := New(t.TempDir())
	now := time.Now()
	got, err := b.Lock(ctx, "r", state.LockInfo{Who: "a@b", Expires: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// The holder renews between BreakStale's listing and its removal.
	if err := b.Renew(ctx, "r", got.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var lerr *state.LockError
	if err := b.UnlockStale(ctx, "r", got.ID, now); !errors.As(err, &lerr) {
		t.Fatalf("UnlockStale of a renewed lock: err = %v, want *LockError", err)
	}
	if _, err := os.Stat(b.LockPath("r")); err != nil {
		t.Fatalf("lock record gone after a refused UnlockStale: %v", err)
	}
}

func TestRegionNamesStayInDir(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	b := New(filepath.Join(parent, "state"))
	for _, name := range []string{"../x", "..", "a/../../x", "/etc/passwd", "x\n", ".hidden"} {
		s := newState("ok", "L", 1)
		s.Region = name
		if err := b.Write(ctx, s, 0); err == nil {
			t.Errorf("Write(%q) succeeded", name)
		}
		if _, err := b.Lock(ctx, name, state.LockInfo{}); err == nil {
			t.Errorf("Lock(%q) succeeded", name)
		}
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if e.Name() != "state" {
			t.Errorf("file %s created outside the state directory", e.Name())
		}
	}
}

// helperEnv tells the test binary, re-executed, to act as a contender.
const helperEnv = "REGIONCTL_STATE_LOCAL_HELPER_DIR"

// TestHelperProcess is not a test: run by TestTwoProcessesContend in a child
// process, it takes the lock on region "shared" in the directory named by
// helperEnv, then reports on stdout and keeps the lock until its stdin closes.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestTwoProcessesContend")
	}
	b := New(dir)
	info := state.NewLockInfo("shared", "apply")
	got, err := b.Lock(context.Background(), "shared", info)
	var lerr *state.LockError
	switch {
	case err == nil:
		fmt.Printf("WON %s\n", got.ID)
	case errors.As(err, &lerr) && lerr.Holder != nil:
		fmt.Printf("LOST %d %s\n", lerr.Holder.PID, lerr.Holder.ID)
	default:
		fmt.Printf("ERROR %v\n", err)
	}
	os.Stdout.Sync()
	// Hold whatever we got until the parent has heard from every child.
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
}

func TestTwoProcessesContend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	const n = 2
	type child struct {
		cmd   *exec.Cmd
		stdin interface{ Close() error }
		out   chan string
	}
	var children []child
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out := make(chan string, 1)
		go func() {
			var sb strings.Builder
			buf := make([]byte, 256)
			for {
				k, err := stdout.Read(buf)
				sb.Write(buf[:k])
				if strings.Contains(sb.String(), "\n") || err != nil {
					break
				}
			}
			out <- sb.String()
		}()
		children = append(children, child{cmd, stdin, out})
	}
	var lines []string
	for _, c := range children {
		lines = append(lines, strings.TrimSpace(<-c.out))
	}
	for _, c := range children {
		c.stdin.Close()
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child %d: %v", c.cmd.Process.Pid, err)
		}
	}
	won, lost := 0, 0
	var winnerPID int
	var winnerID string
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "WON":
			won++
			winnerPID, winnerID = children[i].cmd.Process.Pid, f[1]
		case len(f) == 3 && f[0] == "LOST":
			lost++
		default:
			t.Fatalf("child %d said %q", i, l)
		}
	}
	t.Logf("children said %q", lines)
	if won != 1 || lost != n-1 {
		t.Fatalf("children said %q: want exactly one WON", lines)
	}
	for _, l := range lines {
		if f := strings.Fields(l); f[0] == "LOST" && (f[1] != fmt.Sprint(winnerPID) || f[2] != winnerID) {
			t.Errorf("loser saw holder pid %s id %s, want the winner's pid %d id %s", f[1], f[2], winnerPID, winnerID)
		}
	}
}
