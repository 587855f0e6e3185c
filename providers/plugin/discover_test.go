package plugin_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/regionctl/regionctl/providers/plugin"
)

func TestSearchDirsPrecedence(t *testing.T) {
	env := map[string]string{"REGIONCTL_PLUGIN_DIR": "/e1:/e2", "HOME": "/home/u", "PATH": "/usr/local/bin:/usr/bin"}
	got := plugin.SearchDirs([]string{"/flag"}, func(k string) string { return env[k] })
	want := []plugin.Dir{
		{Path: "/flag", Origin: "--plugin-dir"},
		{Path: "/e1", Origin: "REGIONCTL_PLUGIN_DIR"},
		{Path: "/e2", Origin: "REGIONCTL_PLUGIN_DIR"},
		{Path: ".regionctl/plugins", Origin: "project"},
		{Path: "/home/u/.regionctl/plugins", Origin: "user"},
		{Path: "/usr/local/bin", Origin: "PATH"},
		{Path: "/usr/bin", Origin: "PATH"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("dir %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	mk := func(dir, name string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(root, dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := mk("a", "regionctl-driver-acme", 0o755)
	shadowed := mk("b", "regionctl-driver-acme", 0o755)
	other := mk("b", "regionctl-driver-zeta", 0o755)
	mk("b", "regionctl-driver-notexec", 0o644)
	mk("b", "regionctl-driver-Bad.Name", 0o755)
	mk("b", "regionctl-other", 0o755)
	if err := os.MkdirAll(filepath.Join(root, "b", "regionctl-driver-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	found := plugin.Discover([]plugin.Dir{
		{Path: filepath.Join(root, "missing"), Origin: "--plugin-dir"},
		{Path: filepath.Join(root, "a"), Origin: "project"},
		{Path: filepath.Join(root, "b"), Origin: "PATH"},
	})
	if len(found) != 2 {
		t.Fatalf("found %+v, want acme and zeta", found)
	}
	if f := found[0]; f.Name != "acme" || f.Path != first || f.Origin != "project" || len(f.Shadowed) != 1 || f.Shadowed[0] != shadowed {
		t.Errorf("acme: %+v", f)
	}
	if f := found[1]; f.Name != "zeta" || f.Path != other || f.Origin != "PATH" {
		t.Errorf("zeta: %+v", f)
	}
}

// TestPluginDiesWithItsHost: a host killed with SIGKILL (no chance to stop
// its plugins) does not leave its plugin running: the plugin's lifeline
// pipe closes and it exits.
func TestPluginDiesWithItsHost(t *testing.T) {
	p, _, dir := memPlugin(t)
	pidFile := filepath.Join(dir, "plugin.pid")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := exec.Command(self)
	host.Env = append(os.Environ(), envHost+"="+p.Path, envPIDFile+"="+pidFile, envServe+"=")
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	host.Stderr = os.Stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != hostReady {
		t.Fatalf("host did not start its plugin: %q", sc.Text())
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(pidfd)
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	// The pidfd becomes readable when the plugin exits; a minute bounds a
	// broken lifeline.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 60_000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the plugin (pid %d) outlived its killed host by a minute", pid)
		}
		return
	}
}
