package cli

import (
	"strings"
	"testing"
)

// TestKubeconfigErrors: kubeconfig and kube-token say what is missing — a
// region without state, or a driver that cannot reach its clusters — and
// print nothing on stdout then.
func TestKubeconfigErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		setup func()
		args  []string
		want  string
	}{
		{name: "no state", args: []string{"kubeconfig", "nope"}, want: "region nope has no state"},
		{name: "no state, token", args: []string{"kube-token", "nope"}, want: "apply it first"},
		{name: "driver without cluster access", setup: func() { e.must(0, "apply", "-f", e.specPath(), "--auto-approve") },
			args: []string{"kubeconfig", "test-east"}, want: "cannot reach its clusters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			r := e.run(tt.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("regionctl %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(tt.args, " "), r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}
