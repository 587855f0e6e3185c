package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/regionctl/regionctl/plan"
)

// waveLine describes one wave of a plan's rollout: its number, name and
// regions with how many changes each has.
func waveLine(p *plan.Plan, i int, w plan.Wave) string {
	changes := map[string]int{}
	for _, r := range p.Regions {
		for _, c := range r.Changes {
			if c.Action != plan.NoOp {
				changes[r.Region]++
			}
		}
	}
	var parts []string
	for _, name := range w.Regions {
		n := changes[name]
		if n == 0 {
			parts = append(parts, name+" (no changes)")
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s)", name, plural(n, "change", "changes")))
		}
	}
	return fmt.Sprintf("wave %d %s: %s", i+1, w.Name, strings.Join(parts, ", "))
}

// rolloutHead is the sentence that introduces a plan's rollout.
func rolloutHead(r *plan.Rollout) string {
	s := fmt.Sprintf("Rollout %s: %s, one after another; each must apply and pass the health gate (up to %s) before the next starts",
		r.Name, plural(len(r.Waves), "wave", "waves"), shortDuration(r.GateTimeout))
	if r.PauseBetween > 0 {
		s += fmt.Sprintf(", with a pause of %s between waves", shortDuration(r.PauseBetween))
	}
	return s + "."
}

// shortDuration prints 10m rather than 10m0s, and 2h rather than 2h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if d >= time.Minute && d%time.Minute == 0 {
		s = strings.TrimSuffix(s, "0s")
	}
	if d >= time.Hour && d%time.Hour == 0 {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// jsonRollout is the plan's rollout in the JSON document (since 1.2).
type jsonRollout struct {
	Name                string     `json:"name"`
	PauseBetweenSeconds float64    `json:"pause_between_seconds"`
	GateTimeoutSeconds  float64    `json:"gate_timeout_seconds"`
	Waves               []jsonWave `json:"waves"`
}

type jsonWave struct {
	Name    string   `json:"name"`
	Regions []string `json:"regions"`
}

func rolloutJSON(r *plan.Rollout) *jsonRollout {
	if r == nil {
		return nil
	}
	out := &jsonRollout{Name: r.Name, PauseBetweenSeconds: r.PauseBetween.Seconds(), GateTimeoutSeconds: r.GateTimeout.Seconds(), Waves: []jsonWave{}}
	for _, w := range r.Waves {
		out.Waves = append(out.Waves, jsonWave{Name: w.Name, Regions: append([]string{}, w.Regions...)})
	}
	return out
}
