package builtin_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
)

// TestBuildYourOwnRegionctl builds, from a module of its own, a regionctl
// with one more driver — testdata/myregionctl: a 10-line main.go that adds
// a kit-based driver to builtin.Registry() and calls cli.Main — as another
// team would, with a replace directive to this checkout. The binary lists
// the driver next to the built-in ones, publishes its schema, and plans a
// region with it.
func TestBuildYourOwnRegionctl(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: links a whole regionctl binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	copyTree(t, filepath.Join("testdata", "myregionctl"), mod)
	goMod := "module example.com/myregionctl\n\ngo 1.26.0\n\n" +
		"require github.com/regionctl/regionctl v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/regionctl/regionctl => " + root + "\n"
	write(t, filepath.Join(mod, "go.mod"), goMod)
	// The same requirements as this checkout, so the same sums.
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mod, "go.sum"), string(sums))

	bin := filepath.Join(mod, "myregionctl")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	build.Dir = mod
	// -mod=mod lets go record the indirect requirements it finds through
	// the replace directive; the build cache and module cache are shared.
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in a module of its own: %v\n%s", err, out)
	}

	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = mod
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("myregionctl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	out := run("drivers")
	for _, name := range []string{"aws", "azure", "gcp", "toy"} {
		if !strings.Contains(out, "\n"+name+" ") {
			t.Errorf("drivers does not list %s:\n%s", name, out)
		}
	}

	var listed struct {
		Drivers []providers.Capabilities `json:"drivers"`
	}
	if err := json.Unmarshal([]byte(run("drivers", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	var toy *providers.Capabilities
	for i := range listed.Drivers {
		if listed.Drivers[i].Name == "toy" {
			toy = &listed.Drivers[i]
		}
	}
	if toy == nil {
		t.Fatalf("drivers --json has no toy driver: %+v", listed.Drivers)
	}
	s, ok := toy.Schema("toy_bucket")
	if a, _ := s.Input("name"); !ok || !a.RequiresReplace || a.ReplaceReason != "a bucket is known by its name" {
		t.Errorf("toy_bucket schema as drivers --json prints it: %+v", s)
	}

	write(t, filepath.Join(mod, "region.yaml"), `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata:
  name: toy-one
spec:
  provider: toy
  location: toy-1
  network:
    cidr: 10.0.0.0/16
  cluster:
    kubernetesVersion: "1.34"
    nodePools:
      - name: system
        machine: {cpu: 2, memoryGiB: 4}
        min: 1
        max: 2
`)
	out = run("plan", "-f", "region.yaml", "--no-color")
	if !strings.Contains(out, "toy-one/toy_bucket.main") || !strings.Contains(out, "1 to add") {
		t.Errorf("plan with the toy driver:\n%s", out)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
