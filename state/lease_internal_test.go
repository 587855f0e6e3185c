package state

import (
	"strings"
	"testing"
	"time"
)

func TestCIJobURL(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"none", nil, ""},
		{"github", map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/infra", "GITHUB_RUN_ID": "42", "BUILD_URL": "x"},
			"https://github.com/acme/infra/actions/runs/42"},
		{"github incomplete falls through", map[string]string{"GITHUB_SERVER_URL": "https://github.com", "CI_JOB_URL": "https://gitlab.example/acme/infra/-/jobs/9"},
			"https://gitlab.example/acme/infra/-/jobs/9"},
		{"gitlab", map[string]string{"CI_JOB_URL": "https://gitlab.example/acme/infra/-/jobs/9", "BUILD_URL": "x"}, "https://gitlab.example/acme/infra/-/jobs/9"},
		{"generic", map[string]string{"BUILD_URL": "https://jenkins.example/job/7/"}, "https://jenkins.example/job/7/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ciJobURL(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Fatalf("ciJobURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWhoamiFallsBack(t *testing.T) {
	env := map[string]string{"USER": "ci-runner"}
	got := whoami(func(k string) string { return env[k] })
	if got == "" || got[0] == '@' || got[len(got)-1] == '@' {
		t.Fatalf("whoami = %q, want user@host", got)
	}
}

func TestJitterBounds(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 3, MinLockBackoff, MaxLockBackoff} {
		lo := d / 2
		if d <= 1 {
			lo = d
		}
		seen := map[time.Duration]bool{}
		for range 200 {
			j := jitter(d)
			if j < lo || j > d {
				t.Fatalf("jitter(%v) = %v, want within [%v, %v]", d, j, lo, d)
			}
			seen[j] = true
		}
		if d >= MinLockBackoff && len(seen) < 10 {
			t.Errorf("jitter(%v) gave only %d distinct values in 200 draws", d, len(seen))
		}
	}
}

func TestValidateRegionName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"eu-west-1", ""},
		{"prod.eu", ""},
		{"a", ""},
		{"", "empty"},
		{"Prod", "upper-case"},
		{"a_b", "not allowed"},
		{"-a", "starts or ends with '-'"},
		{"a-", "starts or ends with '-'"},
		{"a..b", "empty label"},
		{".a", "empty label"},
		{"../x", "empty label"},
		{"a/b", "not allowed"},
		{"é", "not allowed"},
		{"a\x00b", "not allowed"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer than 63"},
	}
	for _, tt := range tests {
		err := ValidateRegionName(tt.name)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateRegionName(%q) = %v, want nil", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateRegionName(%q) = %v, want an error saying %q", tt.name, err, tt.wantErr)
		}
	}
}
