package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStartup runs the release binary (built as `make build` builds it,
// or $REGIONCTL_BIN) as a new user would — an empty HOME, no cloud
// credentials in the environment — and reports, per command, the wall time
// of one whole process (exec to exit) and its peak RSS. The target is under
// 100 ms for version and validate (docs/performance.md); the benchmark
// prints x-target, the ratio to it, and asserts nothing on time.
//
//	go test ./cmd/regionctl -run '^$' -bench Startup -benchtime 20x
func BenchmarkStartup(b *testing.B) {
	bin := os.Getenv("REGIONCTL_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "regionctl")
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build regionctl: %v\n%s", err, out)
		}
	}
	if fi, err := os.Stat(bin); err == nil {
		b.Logf("%s: %.1f MB", bin, float64(fi.Size())/1e6)
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		b.Fatal(err)
	}
	env := cleanEnv(b.TempDir())
	for _, c := range []struct {
		name string
		args []string
	}{
		{"version", []string{"version"}},
		{"validate-aws", []string{"validate", "-f", filepath.Join(examples, "aws.yaml")}},
		{"validate-fleet-jsonnet", []string{"validate", "-f", filepath.Join(examples, "fleet.jsonnet")}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var wall time.Duration
			var peakKiB int64
			for b.Loop() {
				cmd := exec.Command(bin, c.args...)
				cmd.Env = env
				cmd.Dir = b.TempDir()
				start := time.Now()
				out, err := cmd.CombinedOutput()
				wall += time.Since(start)
				if err != nil {
					b.Fatalf("regionctl %s: %v\n%s", strings.Join(c.args, " "), err, out)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peakKiB = max(peakKiB, ru.Maxrss)
				}
			}
			ms := float64(wall.Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/run")
			b.ReportMetric(ms/100, "x-target")
			b.ReportMetric(float64(peakKiB)/1024, "peak-RSS-MiB")
		})
	}
}

// cleanEnv is the environment of a user with no cloud credentials: this
// process's, without any AWS_, GOOGLE_, AZURE_ or REGIONCTL_ variable, and
// with HOME (and the XDG directories) in home.
func cleanEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "HOME", strings.HasPrefix(name, "XDG_"), strings.HasPrefix(name, "CLOUDSDK_"),
			strings.HasPrefix(name, "AWS_"), strings.HasPrefix(name, "GOOGLE_"),
			strings.HasPrefix(name, "AZURE_"), strings.HasPrefix(name, "REGIONCTL_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}
