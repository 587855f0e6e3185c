// Package docs holds the tests that keep the documentation true: the
// driver guide (drivers.md) is followed literally, and every code snippet
// in it is code that compiles.
package docs

import (
	"bufio"
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// block is one fenced code block of a markdown file, with the HTML comment
// marker on the line before it ("excerpt: PATH", "compile: DIR",
// "run: guide"), if any.
type block struct {
	lang, marker, body string
	line               int
}

func readBlocks(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []block
	var cur *block
	prev := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```") && len(line) > 3:
			cur = &block{lang: strings.TrimPrefix(line, "```"), line: n}
			if m, ok := strings.CutPrefix(prev, "<!-- "); ok {
				cur.marker = strings.TrimSpace(strings.TrimSuffix(m, "-->"))
			}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// codeLines are the lines of Go source that matter for an excerpt: trimmed,
// without blank lines and comment-only lines.
func codeLines(src string) []string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// contains reports whether sub is a contiguous run of lines in lines.
func contains(lines, sub []string) bool {
	for i := 0; i+len(sub) <= len(lines); i++ {
		match := true
		for j := range sub {
			if lines[i+j] != sub[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestDriversGuideSnippets: every Go snippet of drivers.md is either an
// excerpt of a file that is compiled (the repository's packages, the
// template's, which TestFollowDriversGuide builds) — its code lines appear
// in that file, in a row — or a whole file that TestFollowDriversGuide
// compiles; every shell block is one the guide test runs.
func TestDriversGuideSnippets(t *testing.T) {
	root := repoRoot(t)
	blocks := readBlocks(t, "drivers.md")
	excerpts := 0
	for _, b := range blocks {
		switch {
		case b.lang == "go" && strings.HasPrefix(b.marker, "excerpt: "):
			path := strings.TrimPrefix(b.marker, "excerpt: ")
			src, err := os.ReadFile(filepath.Join(root, path))
			if err != nil {
				t.Errorf("drivers.md:%d: excerpt of %s: %v", b.line, path, err)
				continue
			}
			if !strings.HasSuffix(path, ".go") || !contains(codeLines(string(src)), codeLines(b.body)) {
				t.Errorf("drivers.md:%d: the snippet is not in %s as it is now; copy it again from there:\n%s", b.line, path, b.body)
			}
			excerpts++
		case b.lang == "go" && strings.HasPrefix(b.marker, "compile: "):
			if _, err := parser.ParseFile(token.NewFileSet(), "snippet.go", b.body, parser.AllErrors); err != nil {
				t.Errorf("drivers.md:%d: %v", b.line, err)
			}
		case b.lang == "go":
			t.Errorf("drivers.md:%d: a Go snippet needs <!-- excerpt: FILE --> or <!-- compile: DIR --> on the line before it, so a test compiles it", b.line)
		case b.lang == "sh" && b.marker != "run: guide":
			t.Errorf("drivers.md:%d: a shell block needs <!-- run: guide --> (TestFollowDriversGuide runs it)", b.line)
		}
	}
	if excerpts < 10 {
		t.Errorf("found only %d excerpts in drivers.md: is the marker syntax still <!-- excerpt: FILE -->?", excerpts)
	}
}

// TestFollowDriversGuide does what drivers.md tells a new driver author,
// literally: it runs the guide's shell blocks in order, in one bash, in an
// empty folder, with an empty HOME, no cloud credentials, the regionctl
// checkout as REGIONCTL_SRC and a freshly built regionctl on PATH. That
// copies the template, tests it (drivertest through the plugin boundary),
// installs it in ~/.regionctl/plugins, lists it with `regionctl drivers`,
// applies its region to its emulator with --sandbox, plans again (no
// changes), lists the emulated cloud, destroys and stops the sandbox. It
// then compiles the guide's whole-file snippets in the copied module.
func TestFollowDriversGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds regionctl and the template plugin")
	}
	root := repoRoot(t)
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	tmp := t.TempDir()
	bin, home, work := filepath.Join(tmp, "bin"), filepath.Join(tmp, "home"), filepath.Join(tmp, "work")
	for _, d := range []string{bin, home, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command(goBin, "build", "-o", filepath.Join(bin, "regionctl"), "./cmd/regionctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build regionctl: %v\n%s", err, out)
	}
	// The caches are shared with this test run (a new user's would be
	// theirs); nothing else of the environment is passed on.
	env := []string{
		"HOME=" + home,
		"PATH=" + bin + ":" + filepath.Dir(goBin) + ":/usr/local/bin:/usr/bin:/bin",
		"REGIONCTL_SRC=" + root,
		"GOTOOLCHAIN=local",
	}
	for _, k := range []string{"GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB", "GOFLAGS"} {
		out, err := exec.Command(goBin, "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(out)))
	}
	driverDir := filepath.Join(work, "regionctl-driver-acme")
	t.Cleanup(func() { // a failed run must not leave the emulator's daemon behind
		down := exec.Command(filepath.Join(bin, "regionctl"), "sandbox", "down")
		down.Dir, down.Env = driverDir, env
		_ = down.Run()
	})

	var script strings.Builder
	script.WriteString("set -euxo pipefail\n")
	var compile []block
	for _, b := range readBlocks(t, "drivers.md") {
		switch {
		case b.marker == "run: guide":
			script.WriteString(b.body)
		case strings.HasPrefix(b.marker, "compile: "):
			compile = append(compile, b)
		}
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir, cmd.Env = work, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("following drivers.md failed: %v\n%s", err, out.String())
	}
	got := out.String()
	plugin := filepath.Join(home, ".regionctl", "plugins", "regionctl-driver-acme")
	for _, want := range []string{
		"ok  \texample.com/regionctl-driver-acme", // the conformance suite through the plugin
		plugin + " (protocol 1.1)",                // regionctl drivers
		"Apply complete! Resources: 4 added, 0 changed, 0 destroyed.",
		"No changes. Your regions match the spec.",
		"acme   clusters", // sandbox ls
		"Destroy complete! Resources: 0 added, 0 changed, 4 destroyed.",
		"Sandbox stopped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the guide's output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "acme   0.1.0") {
		t.Errorf("regionctl drivers does not list acme 0.1.0:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(driverDir, ".regionctl", "sandbox", "plugins", "acme", "endpoints.json")); !os.IsNotExist(err) {
		t.Errorf("the emulator's daemon still publishes endpoints after sandbox down (%v)", err)
	}

	// Whole-file snippets compile in the driver's module (with the
	// requirements a full regionctl build needs).
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(driverDir, "go.sum"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(sums)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range compile {
		dir := filepath.Join(driverDir, strings.TrimPrefix(b.marker, "compile: "))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(b.body), 0o644); err != nil {
			t.Fatal(err)
		}
		vet := exec.Command(goBin, "vet", "./"+strings.TrimPrefix(b.marker, "compile: "))
		vet.Dir, vet.Env = driverDir, append(env, "GOFLAGS=-mod=mod")
		if out, err := vet.CombinedOutput(); err != nil {
			t.Errorf("drivers.md:%d does not compile: %v\n%s", b.line, err, out)
		}
	}
}
