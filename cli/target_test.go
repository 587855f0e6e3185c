package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
)

// accountDriver is the fake cloud's driver naming an account.
type accountDriver struct {
	*memcloud.Driver
	account string
}

func (d accountDriver) Identity(context.Context, providers.IdentityRequest) (providers.IdentityResponse, error) {
	return providers.IdentityResponse{Identity: providers.Identity{Kind: "mem account", ID: d.account, Principal: "role/" + d.account}}, nil
}

// An apply against a real cloud names the account it is about to change
// before changing anything; a saved plan applied with credentials for
// another account is refused (exit 9) and changes nothing.
func TestApplyNamesTheAccountAndRefusesAnother(t *testing.T) {
	e := newEnv(t)
	run := func(account string, args ...string) result {
		var out, errb strings.Builder
		reg := providers.Registry{"mem": func(context.Context, providers.Options) (providers.Driver, error) {
			return accountDriver{memcloud.NewDriver(e.cloud), account}, nil
		}}
		code := Main(append([]string{"--state-dir", filepath.Join(e.dir, "state")}, args...), Config{Registry: reg, Stdin: strings.NewReader(""),
			Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, IsTerminal: func(any) bool { return false }})
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}
	r := run("111", "apply", "-f", e.specPath(), "--auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "Target: REAL infrastructure, in:\n  test-east (mem): the real cloud, mem account 111 as role/111") {
		t.Fatalf("apply does not name the account it changes (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	e.editSpec("min: 3, max: 6", "min: 3, max: 7")
	planFile := filepath.Join(e.dir, "p.plan")
	if r := run("111", "plan", "-f", e.specPath(), "--out", planFile); r.code != 0 {
		t.Fatalf("plan: %d\n%s", r.code, r.stderr)
	}
	before := len(e.cloud.Objects())
	r = run("222", "apply", planFile)
	if r.code != ExitTarget || !strings.Contains(r.stderr, "use credentials for mem account 111") {
		t.Errorf("a plan for account 111 applied with account 222's credentials: exit %d\n%s", r.code, r.stderr)
	}
	if r := run("222", "plan", "-f", e.specPath()); r.code != ExitTarget {
		t.Errorf("planning account 111's state with account 222's credentials: exit %d\n%s", r.code, r.stderr)
	}
	if len(e.cloud.Objects()) != before {
		t.Error("a refused apply changed the cloud")
	}
	if r := run("111", "apply", planFile); r.code != 0 {
		t.Errorf("the plan applied with its own account: exit %d\n%s", r.code, r.stderr)
	}
}

// With --sandbox, a remote backend named with --backend-config is refused
// (sandbox state never goes to a real cloud's storage), and the project's
// regionctl.yaml is not used.
func TestSandboxRefusesARemoteBackend(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(e.dir, "remote.yaml")
	if err := os.WriteFile(file, []byte("backend:\n  type: s3\n  bucket: real-state\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("--sandbox", "--sandbox-dir", filepath.Join(e.dir, "sb"), "--backend-config", file, "state", "list")
	if r.code != ExitState || !strings.Contains(r.stderr, "would send sandbox state to a real cloud") {
		t.Errorf("--sandbox with an s3 backend: exit %d\n%s", r.code, r.stderr)
	}
}
