package providers

import "testing"

func TestParseMinor(t *testing.T) {
	for v, want := range map[string][3]int{"1.33": {1, 33, 1}, "1.33.2": {1, 33, 1}, "1.33.4-gke.1200": {1, 33, 1}, "1": {0, 0, 0}, "x.y": {0, 0, 0}} {
		a, b, ok := ParseMinor(v)
		if a != want[0] || b != want[1] || ok != (want[2] == 1) {
			t.Errorf("ParseMinor(%q) = %d, %d, %v; want %v", v, a, b, ok, want)
		}
	}
}

func TestCheckMinorUpgrade(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"1.33", "1.33", ""},
		{"1.33", "1.34", ""},
		{"1.33", "1.35", "cannot upgrade Kubernetes 1.33 to 1.35 in one step: AKS upgrades one minor version at a time; set kubernetesVersion to 1.34, apply, then continue"},
		{"1.34", "1.33", "cannot downgrade Kubernetes 1.34 to 1.33: AKS does not downgrade; set kubernetesVersion back to 1.34"},
		{"1.34", "latest", `cannot compare Kubernetes versions "1.34" and "latest"`},
	} {
		err := CheckMinorUpgrade("AKS", tc.from, tc.to)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%s → %s: %q; want %q", tc.from, tc.to, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%s → %s: no error; want %q", tc.from, tc.to, tc.want)
		}
	}
}
