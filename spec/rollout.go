package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/diag"
)

// KindRollout is the kind of the fleet's rollout document.
const KindRollout = "Rollout"

// Defaults and bounds of rollouts and node pool upgrades.
const (
	// DefaultGateTimeout is how long the health gate after a wave waits
	// for the wave's clusters to be healthy.
	DefaultGateTimeout = 15 * time.Minute
	// MaxUpgradeBatch bounds maxSurge and maxUnavailable (EKS's own
	// maximum for maxUnavailable).
	MaxUpgradeBatch = 100
)

// PoolUpgrade says how a node pool's nodes are replaced when they are
// upgraded (a new Kubernetes version): at most MaxSurge nodes beyond the
// pool's size are added at once, and at most MaxUnavailable of its nodes are
// unavailable at once. An unset field takes the cloud's default (EKS: 1
// unavailable; GKE: surge 1, unavailable 0; AKS: surge 10%). Each driver
// refuses at plan time what its cloud cannot set.
type PoolUpgrade struct {
	MaxSurge       *int `json:"maxSurge,omitempty"`
	MaxUnavailable *int `json:"maxUnavailable,omitempty"`
}

// Rollout is the fleet's rollout document: the order in which an apply
// changes its regions. Regions are applied wave by wave; the next wave
// starts only when every region of the wave applied without error and
// passed the health gate, and after PauseBetween.
type Rollout struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   RolloutMetadata `json:"metadata"`
	Spec       RolloutSpec     `json:"spec"`

	// Source maps field paths to where they were written (see Region).
	Source *SourceMap `json:"-"`
}

// RolloutMetadata names a rollout.
type RolloutMetadata struct {
	Name string `json:"name"`
}

// RolloutSpec lists the waves.
type RolloutSpec struct {
	Waves []Wave `json:"waves"`
	// PauseBetween is a Go duration ("10m") waited after a wave passed its
	// health gate, before the next one starts; empty means no pause.
	PauseBetween string `json:"pauseBetween,omitempty"`
	// HealthGate configures the check after each wave.
	HealthGate HealthGate `json:"healthGate,omitempty"`
}

// HealthGate configures the check of each applied region after its wave.
type HealthGate struct {
	// Timeout is a Go duration: how long the gate polls before the wave is
	// called unhealthy; empty means DefaultGateTimeout.
	Timeout string `json:"timeout,omitempty"`
}

// Wave is one step of a rollout: the regions it names, and those whose
// labels match its selector. A region belongs to the first wave that takes
// it. A wave with neither regions nor selector takes every region no
// earlier wave took ("the rest"); only the last wave may be one.
type Wave struct {
	Name     string            `json:"name"`
	Regions  []string          `json:"regions,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

// Fleet is what LoadFleet read: the regions and, when a file holds one,
// the rollout.
type Fleet struct {
	Regions []*Region
	Rollout *Rollout
}

// ResolvedWave is a wave with its regions, in load order.
type ResolvedWave struct {
	Name    string
	Regions []string
}

// docs are the documents decoded from files.
type docs struct {
	regions  []*Region
	rollouts []*Rollout
}

func (d *docs) add(o docs) {
	d.regions = append(d.regions, o.regions...)
	d.rollouts = append(d.rollouts, o.rollouts...)
}

func (d docs) fleet() *Fleet {
	f := &Fleet{Regions: d.regions}
	if len(d.rollouts) > 0 {
		f.Rollout = d.rollouts[0]
	}
	return f
}

// validateRollouts checks every rollout document, and that there is at
// most one.
func (d docs) validateRollouts() diag.Diagnostics {
	var ds diag.Diagnostics
	for i, ro := range d.rollouts {
		if i > 0 {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: ro.Pos("kind"), Path: "kind",
				Summary: fmt.Sprintf("a second Rollout document; the fleet's rollout is already defined at %s", d.rollouts[0].Pos("kind")),
				Fix:     "keep one Rollout document for the fleet"})
			continue
		}
		ds = append(ds, ro.Validate()...)
		if !ds.HasErrors() {
			_, rd := ro.Resolve(d.regions)
			ds = append(ds, rd...)
		}
	}
	return ds
}

// kindOf returns the kind a mapping node declares, or "".
func kindOf(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "kind" && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// Pos returns where path was written in the rollout's source.
func (ro *Rollout) Pos(path string) diag.Pos { return ro.Source.Pos(path) }

// PauseBetweenWaves is the parsed pauseBetween (0 when unset or invalid).
func (ro *Rollout) PauseBetweenWaves() time.Duration {
	d, _ := time.ParseDuration(ro.Spec.PauseBetween)
	return max(d, 0)
}

// GateTimeout is the parsed healthGate.timeout, DefaultGateTimeout when
// unset.
func (ro *Rollout) GateTimeout() time.Duration {
	d, err := time.ParseDuration(ro.Spec.HealthGate.Timeout)
	if err != nil || d <= 0 {
		return DefaultGateTimeout
	}
	return d
}

// Validate checks the rollout document on its own: kind and version, a
// name, at least one wave, wave names, selectors and durations.
func (ro *Rollout) Validate() diag.Diagnostics {
	v := &validator{r: &Region{Source: ro.Source}}
	if ro.APIVersion != APIVersion && !ro.Source.skip("apiVersion") {
		v.errf("apiVersion", fmt.Sprintf("write apiVersion: %s", APIVersion), "unsupported apiVersion %q", ro.APIVersion)
	}
	v.name("metadata.name", ro.Metadata.Name, "rollout")
	s := ro.Spec
	if len(s.Waves) == 0 && !ro.Source.skip("spec.waves") {
		v.errf("spec.waves", "list the waves, e.g. [{name: canary, regions: [prod-use1]}, {name: rest}]", "a rollout needs at least one wave")
	}
	names := map[string]int{}
	for i, w := range s.Waves {
		wp := joinIndex("spec.waves", i)
		v.name(wp+".name", w.Name, "wave")
		v.unique(names, wp+".name", w.Name, "wave", "spec.waves", i)
		v.labels(wp+".selector", w.Selector)
		if len(w.Regions) == 0 && len(w.Selector) == 0 && i < len(s.Waves)-1 {
			v.errf(wp, "name its regions or give it a selector; only the last wave may take the rest", "wave %q takes every region not in an earlier wave, but waves follow it", w.Name)
		}
		for j, name := range w.Regions {
			v.name(joinIndex(wp+".regions", j), name, "region")
		}
	}
	if p := s.PauseBetween; p != "" {
		if d, err := time.ParseDuration(p); err != nil || d < 0 {
			v.errf("spec.pauseBetween", `write a duration like "10m" or "30s"`, "%q is not a duration", truncate(p, 40))
		}
	}
	if t := s.HealthGate.Timeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d <= 0 {
			v.errf("spec.healthGate.timeout", `write a positive duration like "15m"`, "%q is not a positive duration", truncate(t, 40))
		}
	}
	return v.ds
}

// Resolve assigns regions to waves: each region to the first wave that
// names it or whose selector matches its labels. A name that is no region,
// a region a later wave names again, and a region in no wave are errors;
// so is a wave that takes no region at all.
func (ro *Rollout) Resolve(regions []*Region) ([]ResolvedWave, diag.Diagnostics) {
	var ds diag.Diagnostics
	errf := func(path, fix, format string, args ...any) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: ro.Pos(path), Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
	}
	byName := map[string]*Region{}
	var all []string
	for _, r := range regions {
		byName[r.Metadata.Name] = r
		all = append(all, r.Metadata.Name)
	}
	waveOf := map[string]int{}
	out := make([]ResolvedWave, len(ro.Spec.Waves))
	for i, w := range ro.Spec.Waves {
		wp := joinIndex("spec.waves", i)
		out[i].Name = w.Name
		for j, name := range w.Regions {
			if _, ok := byName[name]; !ok {
				fix := "name a region of the loaded specs (" + strings.Join(all, ", ") + ")"
				if s, ok := DidYouMean(name, all); ok {
					fix = fmt.Sprintf("did you mean %q?", s)
				}
				errf(joinIndex(wp+".regions", j), fix, "no region %q in the loaded specs", name)
				continue
			}
			if k, taken := waveOf[name]; taken {
				errf(joinIndex(wp+".regions", j), "name each region in one wave", "region %q is already in wave %q", name, ro.Spec.Waves[k].Name)
				continue
			}
			waveOf[name] = i
		}
		for _, name := range all {
			if _, taken := waveOf[name]; taken {
				continue
			}
			rest := len(w.Regions) == 0 && len(w.Selector) == 0
			if rest || len(w.Selector) > 0 && matches(w.Selector, byName[name].Metadata.Labels) {
				waveOf[name] = i
			}
		}
	}
	for _, name := range all {
		i, ok := waveOf[name]
		if !ok {
			errf("spec.waves", fmt.Sprintf("add %q to a wave, or end with a wave without regions and selector (the rest)", name), "region %q is in no wave of rollout %q", name, ro.Metadata.Name)
			continue
		}
		out[i].Regions = append(out[i].Regions, name)
	}
	for i, w := range out {
		if len(w.Regions) == 0 && !ds.HasErrors() {
			errf(joinIndex("spec.waves", i), "remove the wave, or name regions it should take", "wave %q takes no region", w.Name)
		}
	}
	return out, ds
}

// matches reports whether labels has every key and value of selector.
func matches(selector, labels map[string]string) bool {
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		if v, ok := labels[k]; !ok || v != selector[k] {
			return false
		}
	}
	return true
}

// upgrade checks a node pool's upgrade settings.
func (v *validator) upgrade(path string, u *PoolUpgrade) {
	if u == nil {
		return
	}
	check := func(field string, n *int) {
		if n != nil && (*n < 0 || *n > MaxUpgradeBatch) {
			v.errf(path+"."+field, fmt.Sprintf("use 0 to %d nodes", MaxUpgradeBatch), "%s is %d", field, *n)
		}
	}
	check("maxSurge", u.MaxSurge)
	check("maxUnavailable", u.MaxUnavailable)
	if u.MaxSurge != nil && u.MaxUnavailable != nil && *u.MaxSurge == 0 && *u.MaxUnavailable == 0 {
		v.errf(path, "allow at least one node of surge (maxSurge: 1) or of unavailability", "maxSurge and maxUnavailable are both 0: no node could ever be replaced")
	}
}
