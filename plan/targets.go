package plan

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// patterns are the --target or --replace arguments of one Plan, and which
// of them matched a resource in some region.
type patterns struct {
	list []string

	mu      sync.Mutex
	matched map[string]bool
	// seen are the addresses the patterns were matched against, for
	// suggestions.
	seen []string
}

func newPatterns(list []string) *patterns {
	return &patterns{list: list, matched: map[string]bool{}}
}

// match returns the addresses of the region the patterns name: an address
// "REGION/TYPE.NAME" or "TYPE.NAME" of a desired resource or of an object
// in state, or a spec element of desired resources.
func (p *patterns) match(region string, desired []*providers.Resource, st *state.State) map[string]bool {
	if len(p.list) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, d := range desired {
		known[d.Address] = true
	}
	if st != nil {
		for _, r := range st.Resources {
			known[r.Address] = true
		}
	}
	out := map[string]bool{}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pat := range p.list {
		addrs, err := resolveTo(region, pat, desired)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if known[a] {
				out[a] = true
				p.matched[pat] = true
			}
		}
	}
	for a := range known {
		p.seen = append(p.seen, a)
	}
	return out
}

// unmatched returns an error for every pattern that matched nothing in any
// region: a typo must not silently plan nothing (or, for --replace,
// replace nothing).
func (p *patterns) unmatched(flag string) diag.Diagnostics {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ds diag.Diagnostics
	slices.Sort(p.seen)
	seen := slices.Compact(p.seen)
	for _, pat := range p.list {
		if p.matched[pat] {
			continue
		}
		d := diag.Diagnostic{Severity: diag.Error, Source: diag.SourceSpec,
			Summary: fmt.Sprintf("%s %s matches no resource of the regions planned", flag, pat),
			Fix:     "name a resource as `regionctl plan` or `regionctl state list` shows it (REGION/TYPE.NAME), or a spec element (" + strings.Join([]string{spec.ElementNetwork, spec.ElementCluster, spec.NodePoolElement("NAME"), spec.LoadBalancerElement("NAME")}, ", ") + ")"}
		if sug, near := spec.DidYouMean(pat, seen); near {
			d.Fix = fmt.Sprintf("did you mean %q?", sug)
		}
		ds = append(ds, d)
	}
	return ds
}

// unmatched checks the plan's --target and --replace patterns.
func (sh *planShared) unmatched(opts PlanOptions) diag.Diagnostics {
	return append(sh.targets.unmatched("--target"), sh.replace.unmatched("--replace")...)
}

// checkOptions refuses combinations of plan options that have no meaning.
func checkOptions(opts PlanOptions) diag.Diagnostics {
	var ds diag.Diagnostics
	bad := func(format string, args ...any) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf(format, args...)})
	}
	if opts.RefreshOnly && opts.Destroy {
		bad("--refresh-only and destroy cannot be combined: a refresh-only plan changes nothing")
	}
	if opts.RefreshOnly && (len(opts.Targets) > 0 || len(opts.Replace) > 0) {
		bad("--refresh-only records every drifted resource and changes nothing: it takes no --target or --replace")
	}
	if opts.RefreshOnly && opts.SkipRefresh {
		bad("--refresh-only with --refresh=false would record nothing: drop --refresh=false")
	}
	if opts.Destroy && len(opts.Replace) > 0 {
		bad("--replace has no meaning in a destroy: everything is deleted")
	}
	return ds
}

// targetChanges keeps the changes of the targeted resources and of what
// they need: for a resource the plan keeps, every resource it depends on
// in the desired graph; for one it deletes (not desired), every object in
// state depending on it, which must go first. Deposed objects at a kept
// address are kept.
func targetChanges(changes []Change, desired []*providers.Resource, st *state.State, targets map[string]bool) []Change {
	desiredBy := map[string]*providers.Resource{}
	for _, d := range desired {
		desiredBy[d.Address] = d
	}
	keep := map[string]bool{}
	var add func(a string)
	add = func(a string) {
		if keep[a] {
			return
		}
		keep[a] = true
		if d := desiredBy[a]; d != nil {
			for _, dep := range resourceDeps(d) {
				add(dep)
			}
		}
	}
	for a := range targets {
		add(a)
	}
	if st != nil {
		for grew := true; grew; {
			grew = false
			for _, r := range st.Resources {
				if keep[r.Address] || desiredBy[r.Address] != nil {
					continue
				}
				for _, dep := range r.Dependencies {
					if keep[dep] && desiredBy[dep] == nil {
						keep[r.Address], grew = true, true
						break
					}
				}
			}
		}
	}
	return slices.DeleteFunc(changes, func(c Change) bool { return !keep[c.Address] })
}

// replaceWarnings warns about --replace of a resource the plan creates
// anyway (there is nothing to replace yet).
func replaceWarnings(in regionInput, changes []Change, replace map[string]bool) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, c := range changes {
		if replace[c.Address] && c.Action == Create {
			d := regionDiag(in, "", "--replace %s: it does not exist yet, so the plan creates it (there is nothing to replace)", c.Address)
			d.Severity = diag.Warning
			ds = append(ds, d)
		}
	}
	return ds
}

// TargetingWarning is what a plan made with --target says, in every
// rendering and again at apply: targeting is for exceptional cases.
func TargetingWarning(targets []string) string {
	return fmt.Sprintf("Resource targeting is in effect (--target %s): this plan holds only those resources and what they depend on, so it may not be all the spec asks for. "+
		"Use --target only to recover from a mistake or a failed apply, or when an error message suggests it; run a plan without it afterwards to bring everything in line.",
		strings.Join(targets, ", --target "))
}
