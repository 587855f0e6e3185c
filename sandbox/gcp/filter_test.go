package gcp

import "testing"

// TestFilter: the Compute list filter grammar on one object.
func TestFilter(t *testing.T) {
	obj := map[string]any{
		"name": "nodes-a", "mtu": float64(1460), "autoCreateSubnetworks": false,
		"labels":            map[string]any{"env": "prod", "team": "infra"},
		"creationTimestamp": "2026-11-26T12:00:00.000-07:00",
		"secondaryIpRanges": []any{map[string]any{"rangeName": "pods"}, map[string]any{"rangeName": "services"}},
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{`name = "nodes-a"`, true},
		{`name = nodes-b`, false},
		{`name != nodes-b`, true},
		{`name = "nodes-*"`, true},
		{`name eq nodes-.*`, true},
		{`name eq 'nodes'`, false}, // the regexp matches the whole value
		{`name ne "x.*"`, true},
		{`labels.env = prod`, true},
		{`labels.owner:*`, false},
		{`labels.team:*`, true},
		{`mtu > 1400`, true},
		{`mtu >= 1461`, false},
		{`mtu < 1500`, true},
		{`autoCreateSubnetworks = false`, true},
		{`creationTimestamp > "2026-01-01"`, true},
		{`secondaryIpRanges.rangeName = services`, true},
		{`secondaryIpRanges.rangeName != services`, false},
		{`(name = "nodes-a") (labels.env = staging)`, false},
		{`(name = "nodes-a") AND (labels.env = prod)`, true},
		{`(labels.env = staging) OR (labels.env = prod)`, true},
		{`name = x OR name = nodes-a`, true},
		{`NOT name = x`, true},
		{`name = x OR labels.env = prod AND mtu = 1`, false}, // OR binds tighter than AND
	}
	for _, tc := range tests {
		f, err := parseFilter(tc.filter)
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if got := f.match(obj); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{``, `name`, `name =`, `name ~ a`, `(name = a`, `name = a)`, `name eq "("`, `"name" = a`, `name ! a`, `name = 'a`} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("%q parsed; want an error", bad)
		}
	}
}
