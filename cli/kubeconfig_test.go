package cli

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestKubeTokenArgsNameTheBackend checks the exec plugin written into a
// kubeconfig reads state from the same backend as the run that wrote it,
// although kubectl starts it from another directory.
func TestKubeTokenArgsNameTheBackend(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	a := &app{cfg: &Config{Getenv: func(string) string { return "" }}, g: &globals{stateDir: "st", sandboxDir: "sb"}}

	args, err := a.kubeTokenArgs("r1")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(args, "--backend-config") {
		t.Fatalf("no backend file here, yet the plugin is given one: %v", args)
	}

	if err := os.WriteFile(filepath.Join(dir, "regionctl.yaml"), []byte("backend: {type: local}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args, err = a.kubeTokenArgs("r1")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(args, "--backend-config")
	if i < 0 || args[i+1] != filepath.Join(dir, "regionctl.yaml") {
		t.Fatalf("plugin args %v do not name %s", args, filepath.Join(dir, "regionctl.yaml"))
	}
	if j := slices.Index(args, "--state-dir"); j < 0 || args[j+1] != filepath.Join(dir, "st") {
		t.Fatalf("plugin args %v do not give the state dir as an absolute path", args)
	}
}

// TestKubeTokenArgsNameThePluginDirs: a region whose driver is a plugin
// found with --plugin-dir still finds it when kubectl runs the exec plugin
// from elsewhere.
func TestKubeTokenArgsNameThePluginDirs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	a := &app{cfg: &Config{Getenv: func(string) string { return "" }}, g: &globals{stateDir: "st", sandboxDir: "sb", pluginDirs: []string{"plugins"}}}
	args, err := a.kubeTokenArgs("r1")
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(args, "--plugin-dir"); i < 0 || args[i+1] != filepath.Join(dir, "plugins") {
		t.Fatalf("plugin args %v do not name the plugin folder as an absolute path", args)
	}
}
