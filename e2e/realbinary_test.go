package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests in this file run the real regionctl binary, built from
// cmd/regionctl once per test run, in an environment where every way it
// could reach a real cloud is observable (see observed).

var built struct {
	once      sync.Once
	dir, path string
	err       error
}

// regionctlBinary builds cmd/regionctl (once) and returns its path.
func regionctlBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "regionctl-e2e-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "regionctl")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			goBin = "go"
		}
		out, err := exec.Command(goBin, "build", "-o", built.path, "github.com/regionctl/regionctl/cmd/regionctl").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build ./cmd/regionctl: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// removeBinary deletes the binary built for the run (TestMain calls it).
func removeBinary() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// runResult is one run of the binary.
type runResult struct {
	code           int
	stdout, stderr string
}

// runBinary runs the binary in dir with exactly env (nothing inherited).
func runBinary(t *testing.T, dir string, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(regionctlBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	watchdog := time.AfterFunc(3*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run regionctl: %v", err)
	}
	return runResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// cleanEnv is a new user's environment: a fresh HOME, no cloud variables.
func cleanEnv(home string) []string {
	return []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "USER=tester", "TMPDIR=" + os.TempDir()}
}

// observed is an environment in which every way regionctl could reach a
// cloud leaves a trace:
//   - network: every SDK endpoint, metadata service and token URL points
//     at a recording server on 127.0.0.1, and HTTP(S)_PROXY sends any other
//     HTTP(S) request (including gRPC) there too;
//   - DNS: GODEBUG=netdns=go+2 makes Go print every host lookup;
//   - credentials: HOME holds AWS, gcloud and Azure credential files in
//     folders watched with inotify (any open is recorded), and PATH holds
//     fake aws, az, gcloud and kubectl commands that record being run.
type observed struct {
	t        *testing.T
	home     string
	env      []string
	requests []string
	mu       sync.Mutex
	srv      *httptest.Server
	inotify  int
	watches  map[int32]string
	toolLog  string
}

func newObserved(t *testing.T) *observed {
	t.Helper()
	o := &observed{t: t, home: t.TempDir(), watches: map[int32]string{}}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, r.Method+" "+r.Host+r.URL.RequestURI())
		o.mu.Unlock()
		// Refuse as STS does a bad key, so a client gives up at once
		// rather than retrying.
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>recorded by the test</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(o.srv.Close)
	rec := o.srv.URL
	hostport := strings.TrimPrefix(rec, "http://")

	files := map[string]string{
		".aws/config":      "[default]\nregion = us-east-1\n",
		".aws/credentials": "[default]\naws_access_key_id = AKIDOBSERVED\naws_secret_access_key = observed\n",
		".config/gcloud/application_default_credentials.json": `{"type": "authorized_user", "client_id": "observed", "client_secret": "observed", "refresh_token": "observed", "quota_project_id": "observed-project"}`,
		".azure/azureProfile.json":                            `{"subscriptions": []}`,
	}
	for name, content := range files {
		path := filepath.Join(o.home, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(o.home, "bin")
	o.toolLog = filepath.Join(o.home, "tools.log")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"aws", "az", "gcloud", "kubectl"} {
		script := fmt.Sprintf("#!/bin/sh\necho %s \"$@\" >> %s\nexit 1\n", tool, o.toolLog)
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o.env = []string{
		"HOME=" + o.home, "PATH=" + bin, "USER=tester", "TMPDIR=" + os.TempDir(),
		"GODEBUG=netdns=go+2",
		"HTTP_PROXY=" + rec, "HTTPS_PROXY=" + rec, "http_proxy=" + rec, "https_proxy=" + rec,
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" + rec, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + rec,
		"GOOGLE_APPLICATION_CREDENTIALS=" + filepath.Join(o.home, ".config/gcloud/application_default_credentials.json"),
		"GCE_METADATA_HOST=" + hostport, "GCE_METADATA_IP=" + hostport,
		"AZURE_AUTHORITY_HOST=" + rec, "AZURE_TENANT_ID=00000000-0000-0000-0000-00000000000a",
		"AZURE_CLIENT_ID=observed", "AZURE_CLIENT_SECRET=observed",
		"AZURE_SUBSCRIPTION_ID=00000000-0000-0000-0000-00000000000b", "AZURE_CONFIG_DIR=" + filepath.Join(o.home, ".azure"),
	}

	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	o.inotify = fd
	t.Cleanup(func() { unix.Close(fd) })
	for _, dir := range []string{".aws", ".config/gcloud", ".azure"} {
		wd, err := unix.InotifyAddWatch(fd, filepath.Join(o.home, dir), unix.IN_OPEN|unix.IN_ACCESS)
		if err != nil {
			t.Fatalf("inotify watch %s: %v", dir, err)
		}
		o.watches[int32(wd)] = dir
	}
	return o
}

// traces returns what runs since the last call left: requests to the
// recorder, opened credential files, host lookups in stderr, tools run.
func (o *observed) traces(stderr string) []string {
	o.t.Helper()
	var out []string
	o.mu.Lock()
	for _, r := range o.requests {
		out = append(out, "network request: "+r)
	}
	o.requests = nil
	o.mu.Unlock()
	buf := make([]byte, 64*1024)
	for {
		n, err := unix.Read(o.inotify, buf)
		if err != nil || n <= 0 {
			break // EAGAIN: no more events
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+nameLen]), "\x00")
			out = append(out, "credentials read: "+filepath.Join(o.watches[wd], name))
			off += unix.SizeofInotifyEvent + nameLen
		}
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "hostLookupOrder(") {
			out = append(out, "DNS lookup: "+line)
		}
	}
	if b, err := os.ReadFile(o.toolLog); err == nil && len(b) > 0 {
		out = append(out, "tool run: "+strings.TrimSpace(string(b)))
		_ = os.Remove(o.toolLog)
	}
	return out
}

// run runs the binary in the observed environment.
func (o *observed) run(dir string, args ...string) runResult {
	o.t.Helper()
	return runBinary(o.t, dir, o.env, args...)
}
