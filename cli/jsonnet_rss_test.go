package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// maxJsonnetRSS is what a regionctl process may take, at its peak, to
// refuse a hostile Jsonnet program (issue 16: under 200 MB).
const maxJsonnetRSS = 200 << 20

// TestHostileJsonnetPeakRSS runs regionctl (this test binary as a helper
// process) on Jsonnet programs that used to take a gigabyte or crash it
// with a Go stack overflow, and on ones that build huge values, and checks
// each fails with a clear error naming the file while the process stays
// under 200 MB at its peak (getrusage's max RSS). It logs every figure;
// docs/performance.md records them.
func TestHostileJsonnetPeakRSS(t *testing.T) {
	dir := t.TempDir()
	programs := []struct{ name, src, want string }{
		// The one that succeeds: a small valid region (an empty array is an
		// error now: a spec without regions names the file).
		{"baseline.jsonnet", "{apiVersion: 'regionctl.dev/v1alpha1', kind: 'Region', metadata: {name: 'base'}, spec: {provider: 'mem', location: 'mem-east-1', zones: 2, " +
			"network: {cidr: '10.20.0.0/16'}, cluster: {kubernetesVersion: '1.33', nodePools: [{name: 'system', machine: {cpu: 4, memoryGiB: 16}, min: 1, max: 3}]}}}", "1 region(s) valid: base"},
		{"arrays-5000.jsonnet", strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "nests too deeply"},
		{"arrays-10000.jsonnet", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), "nests too deeply"},
		{"objects-10000.jsonnet", strings.Repeat("{a:", 10000) + "{}" + strings.Repeat("}", 10000), "nests too deeply"},
		{"additions-100000.jsonnet", strings.Repeat("1+", 100000) + "1", "nests too deeply"},
		{"range-50000000.jsonnet", "std.length(std.range(1, 50000000))", "MiB of memory"},
		{"fold-100000.jsonnet", "std.foldl(function(acc, i) {a: acc}, std.range(1, 100000), {})", "MiB of memory"},
		{"recursion-100000.jsonnet", "local f(n) = if n == 0 then {} else {a: f(n - 1)}; f(100000)", "max stack frames exceeded"},
	}
	for _, p := range programs {
		path := filepath.Join(dir, p.name)
		if err := os.WriteFile(path, []byte(p.src), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "validate", "-f", path)
		cmd.Env = append(os.Environ(), envHelper+"=1", envCloudFile+"="+filepath.Join(dir, "cloud.json"))
		out, _ := cmd.CombinedOutput()
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
		t.Logf("%-26s exit %d, peak RSS %4d MB", p.name, cmd.ProcessState.ExitCode(), rss>>20)
		wantExit := ExitSpecInvalid
		if p.name == "baseline.jsonnet" {
			wantExit = 0
		}
		namesFile := strings.Contains(string(out), p.name) || wantExit == 0 // a success names the region
		if cmd.ProcessState.ExitCode() != wantExit || !namesFile || !strings.Contains(string(out), p.want) {
			t.Errorf("validate %s: exit %d, want %d naming the file and saying %q:\n%s", p.name, cmd.ProcessState.ExitCode(), wantExit, p.want, truncateOutput(out))
		}
		if rss > maxJsonnetRSS {
			t.Errorf("validate %s peaked at %d MB, want under %d MB", p.name, rss>>20, maxJsonnetRSS>>20)
		}
	}
}

func truncateOutput(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
