package spec

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const rolloutRegions = `
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: canary-use1, labels: {tier: canary}}
spec:
  provider: aws
  location: us-east-1
  network: {cidr: 10.1.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools: [{name: general, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 3, upgrade: {maxUnavailable: 1}}]
---
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: prod-use1, labels: {tier: prod}}
spec:
  provider: aws
  location: us-east-1
  network: {cidr: 10.2.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools: [{name: general, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 3}]
---
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: prod-euw1, labels: {tier: prod}}
spec:
  provider: aws
  location: eu-west-1
  network: {cidr: 10.3.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools: [{name: general, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 3}]
`

func TestRollout(t *testing.T) {
	tests := []struct {
		name    string
		rollout string
		want    []ResolvedWave
		wantErr string
	}{
		{name: "selector then rest", rollout: `{name: canary, selector: {tier: canary}}, {name: rest}`,
			want: []ResolvedWave{{"canary", []string{"canary-use1"}}, {"rest", []string{"prod-use1", "prod-euw1"}}}},
		{name: "names", rollout: `{name: one, regions: [prod-euw1]}, {name: two, regions: [canary-use1, prod-use1]}`,
			want: []ResolvedWave{{"one", []string{"prod-euw1"}}, {"two", []string{"canary-use1", "prod-use1"}}}},
		{name: "first wave wins over a later selector", rollout: `{name: a, regions: [prod-use1]}, {name: b, selector: {tier: prod}}, {name: c}`,
			want: []ResolvedWave{{"a", []string{"prod-use1"}}, {"b", []string{"prod-euw1"}}, {"c", []string{"canary-use1"}}}},
		{name: "typo", rollout: `{name: a, regions: [prod-use2]}, {name: b}`, wantErr: `spec.waves[0].regions[0]: no region "prod-use2" in the loaded specs`},
		{name: "typo suggests", rollout: `{name: a, regions: [prod-use2]}, {name: b}`, wantErr: `did you mean "prod-use1"?`},
		{name: "region twice", rollout: `{name: a, regions: [prod-use1]}, {name: b, regions: [prod-use1]}, {name: c}`, wantErr: `region "prod-use1" is already in wave "a"`},
		{name: "region in no wave", rollout: `{name: a, selector: {tier: prod}}`, wantErr: `region "canary-use1" is in no wave of rollout "fleet"`},
		{name: "rest not last", rollout: `{name: a}, {name: b, regions: [prod-use1]}`, wantErr: `wave "a" takes every region not in an earlier wave, but waves follow it`},
		{name: "empty wave", rollout: `{name: a, selector: {tier: gone}}, {name: b}`, wantErr: `wave "a" takes no region`},
		{name: "duplicate wave", rollout: `{name: a, regions: [prod-use1]}, {name: a}`, wantErr: `wave name "a" is already used`},
		{name: "unknown wave field", rollout: `{name: a, region: [prod-use1]}`, wantErr: `unknown field "region"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := rolloutRegions + "---\napiVersion: regionctl.dev/v1alpha1\nkind: Rollout\nmetadata: {name: fleet}\nspec:\n  waves: [" + tt.rollout + "]\n"
			f, ds := loadFleetBytes(t, doc)
			if tt.wantErr != "" {
				if !strings.Contains(ds.String(), tt.wantErr) {
					t.Fatalf("diagnostics %q, want %q", ds, tt.wantErr)
				}
				return
			}
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			if f.Rollout == nil {
				t.Fatal("no rollout loaded")
			}
			got, ds := f.Rollout.Resolve(f.Regions)
			if ds.HasErrors() || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("waves %v (%v), want %v", got, ds, tt.want)
			}
		})
	}
}

func TestRolloutDurationsAndDuplicates(t *testing.T) {
	base := rolloutRegions + "---\napiVersion: regionctl.dev/v1alpha1\nkind: Rollout\nmetadata: {name: fleet}\nspec:\n  waves: [{name: all}]\n"
	f, ds := loadFleetBytes(t, base+"  pauseBetween: 90s\n  healthGate: {timeout: 2m}\n")
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if f.Rollout.PauseBetweenWaves() != 90*time.Second || f.Rollout.GateTimeout() != 2*time.Minute {
		t.Errorf("pause %s, gate %s", f.Rollout.PauseBetweenWaves(), f.Rollout.GateTimeout())
	}
	f, _ = loadFleetBytes(t, base)
	if f.Rollout.PauseBetweenWaves() != 0 || f.Rollout.GateTimeout() != DefaultGateTimeout {
		t.Errorf("defaults: pause %s, gate %s", f.Rollout.PauseBetweenWaves(), f.Rollout.GateTimeout())
	}
	for _, tc := range []struct{ extra, want string }{
		{"  pauseBetween: soon\n", `spec.pauseBetween: "soon" is not a duration`},
		{"  healthGate: {timeout: 0s}\n", `spec.healthGate.timeout: "0s" is not a positive duration`},
		{"---\napiVersion: regionctl.dev/v1alpha1\nkind: Rollout\nmetadata: {name: other}\nspec: {waves: [{name: all}]}\n", "a second Rollout document"},
	} {
		_, ds := loadFleetBytes(t, base+tc.extra)
		if !strings.Contains(ds.String(), tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.extra, ds, tc.want)
		}
	}
}

func TestPoolUpgradeValidation(t *testing.T) {
	for _, tc := range []struct{ upgrade, want string }{
		{"{maxSurge: 0, maxUnavailable: 0}", "maxSurge and maxUnavailable are both 0"},
		{"{maxSurge: -1}", "upgrade.maxSurge: maxSurge is -1"},
		{"{maxUnavailable: 101}", "upgrade.maxUnavailable: maxUnavailable is 101"},
		{"{maxSurge: 2, maxUnavail: 1}", `unknown field "maxUnavail"`},
	} {
		doc := strings.Replace(rolloutRegions, "upgrade: {maxUnavailable: 1}", "upgrade: "+tc.upgrade, 1)
		_, ds := loadFleetBytes(t, doc)
		if !strings.Contains(ds.String(), tc.want) {
			t.Errorf("%s: diagnostics %q, want %q", tc.upgrade, ds, tc.want)
		}
	}
	rs, ds := LoadBytes("r.yaml", []byte(rolloutRegions), LoadOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	u := rs[0].Spec.Cluster.NodePools[0].Upgrade
	if u == nil || u.MaxSurge != nil || u.MaxUnavailable == nil || *u.MaxUnavailable != 1 {
		t.Errorf("upgrade decoded as %+v", u)
	}
	if rs[1].Spec.Cluster.NodePools[0].Upgrade != nil {
		t.Error("a pool without upgrade got one")
	}
}

func TestSchemaAcceptsRollout(t *testing.T) {
	sch := compileSchema(t)
	good := "apiVersion: regionctl.dev/v1alpha1\nkind: Rollout\nmetadata: {name: fleet}\nspec: {waves: [{name: canary, regions: [a]}, {name: rest}], pauseBetween: 10m, healthGate: {timeout: 5m}}\n"
	if err := sch.Validate(instance(t, []byte(good))); err != nil {
		t.Errorf("rollout does not validate: %v", err)
	}
	bad := strings.Replace(good, "pauseBetween", "pauseBetwen", 1)
	if err := sch.Validate(instance(t, []byte(bad))); err == nil {
		t.Error("a rollout with an unknown field validates")
	}
}

// loadFleetBytes loads doc through LoadFleet from a file, as the CLI does.
func loadFleetBytes(t *testing.T, doc string) (*Fleet, interface {
	String() string
	HasErrors() bool
}) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	f, ds := LoadFleet(context.Background(), []string{p}, LoadOptions{})
	return f, ds
}
