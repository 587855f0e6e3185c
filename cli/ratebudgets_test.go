package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
)

// TestRateBudgetsReachTheDrivers: regionctl.yaml's rateBudgets block and
// --rate-budget flags (which win) reach every driver in its Options;
// values that do not parse, or name a bucket the cloud does not have, are
// refused naming the flag, or the file, line and column.
func TestRateBudgetsReachTheDrivers(t *testing.T) {
	e := newEnv(t)
	t.Chdir(e.dir)
	var got budget.Overrides
	run := func(args ...string) result {
		t.Helper()
		var out, errb bytes.Buffer
		code := Main(append([]string{"--state-dir", filepath.Join(e.dir, "state")}, args...), Config{
			Registry: providers.Registry{"mem": func(_ context.Context, opts providers.Options) (providers.Driver, error) {
				got = opts.RateBudgets
				return memcloud.NewDriver(e.cloud), nil
			}},
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(string) string { return "" }, IsTerminal: func(any) bool { return false },
		})
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(e.dir, "regionctl.yaml"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	write("rateBudgets:\n  aws:ec2/write: 5/s,200\n  azure:arm/read: 20/s,250\n")
	if r := run("plan", "-f", e.specPath(), "--rate-budget", "aws:ec2/write=2.5/s,40"); r.code != 2 && r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	want := budget.Overrides{"aws:ec2/write": {Burst: 40, Rate: 2.5}, "azure:arm/read": {Burst: 250, Rate: 20}}
	if len(got) != len(want) || got["aws:ec2/write"] != want["aws:ec2/write"] || got["azure:arm/read"] != want["azure:arm/read"] {
		t.Errorf("driver options' RateBudgets = %v, want %v (the flag over the file)", got, want)
	}

	for _, tt := range []struct {
		file string
		args []string
		want string
	}{
		{"", []string{"--rate-budget", "aws:ec2/wirte=5/s,200"}, "--rate-budget \"aws:ec2/wirte=5/s,200\": aws has no budget \"ec2/wirte\""},
		{"", []string{"--rate-budget", "aws:ec2/write=fast"}, "want RATE/s,BURST"},
		{"rateBudgets:\n  gcp:container: 0/s,10\n", nil, "regionctl.yaml:2:3: rateBudgets:"},
		{"rateBudgets: [aws]\n", nil, "regionctl.yaml:1:14: rateBudgets: want a mapping"},
	} {
		write(tt.file)
		r := run(append([]string{"plan", "-f", e.specPath()}, tt.args...)...)
		if r.code == 0 || r.code == 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q %v: exit %d, want an error saying %q:\n%s", tt.file, tt.args, r.code, tt.want, r.stderr)
		}
	}
}
