package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/sandbox"
)

// TestSandboxUpLsDown starts the sandbox in the background through a real
// regionctl process (this test binary in helper mode, which `sandbox up`
// re-executes as `sandbox serve`), lists it, and stops it.
func TestSandboxUpLsDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], append([]string{"--sandbox-dir", dir}, args...)...)
		cmd.Env = append(os.Environ(), envHelper+"=1", envCloudFile+"="+filepath.Join(t.TempDir(), "cloud.json"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("regionctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		if ep, err := sandbox.ReadEndpoints(dir); err == nil {
			if p, err := os.FindProcess(ep.PID); err == nil {
				_ = p.Kill()
			}
		}
	})

	out := run("sandbox", "up")
	if !strings.Contains(out, "aws: http://127.0.0.1:") {
		t.Fatalf("sandbox up did not print the AWS endpoint:\n%s", out)
	}
	if !sandbox.Running(dir) {
		t.Fatal("sandbox up returned but no sandbox answers")
	}
	// It says how the aws CLI reaches it, with files that exist.
	if !strings.Contains(out, "export AWS_CONFIG_FILE="+sandbox.AWSConfigFile(dir)) || !strings.Contains(out, "AWS_PROFILE="+sandbox.AWSProfile) {
		t.Errorf("sandbox up did not say how to use the aws CLI:\n%s", out)
	}
	if _, err := os.Stat(sandbox.AWSCredentialsFile(dir)); err != nil {
		t.Errorf("no credentials file: %v", err)
	}
	first, err := sandbox.ReadEndpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second up finds the running one instead of starting another.
	run("sandbox", "up")
	second, err := sandbox.ReadEndpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.PID != second.PID {
		t.Fatalf("a second sandbox up started another sandbox (pid %d, then %d)", first.PID, second.PID)
	}
	if out := run("sandbox", "ls"); !strings.Contains(out, "The sandbox is empty.") {
		t.Fatalf("a new sandbox is not empty:\n%s", out)
	}
	// One EC2 request (unsigned, so refused): the request log counts it.
	resp, err := http.PostForm(first.Endpoints["aws"], url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out = run("sandbox", "stats")
	if !strings.Contains(out, "total cloud API calls") || !strings.Contains(out, "Sandbox peak memory") {
		t.Fatalf("sandbox stats:\n%s", out)
	}
	var st struct {
		FormatVersion string        `json:"format_version"`
		Stats         sandbox.Stats `json:"stats"`
	}
	if err := json.Unmarshal([]byte(run("sandbox", "stats", "--json")), &st); err != nil {
		t.Fatalf("sandbox stats --json: %v", err)
	}
	if st.FormatVersion != "1" || st.Stats.CloudCalls() == 0 || st.Stats.PeakRSSKiB == 0 {
		t.Fatalf("sandbox stats --json after one EC2 request: %+v", st)
	}
	if out := run("sandbox", "down"); !strings.Contains(out, "Sandbox stopped") {
		t.Fatalf("sandbox down:\n%s", out)
	}
	if sandbox.Running(dir) {
		t.Fatal("the sandbox still answers after down")
	}
	if out := run("sandbox", "down"); !strings.Contains(out, "No sandbox is running") {
		t.Fatalf("a second down:\n%s", out)
	}
}
