// Package render turns a *plan.Plan into what a user reads: a
// Terraform-like human rendering (Human), a documented, versioned JSON
// document for machines (JSON, see docs/json-output.md), a compact summary
// for pull-request comments (Markdown), and the one-line summary (Summary).
//
// Renderers only read the plan; they never decide anything apply does.
package render

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/regionctl/regionctl/plan"
)

// HumanOptions configure Human.
type HumanOptions struct {
	// Color adds ANSI colours. The CLI sets it only when stdout is a
	// terminal and --no-color is not given.
	Color bool
}

// ANSI escape sequences.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiLoud   = "\x1b[1;31m"
)

// Indentation: change symbols are right-aligned in three columns ("  +",
// "-/+"), attributes start under the address.
const attrIndent = "      "

// changeSymbol is the change's action symbol, or "<=" for an import that
// changes nothing (the object is only recorded in state); an import that
// also changes the object has its action's symbol.
func changeSymbol(c plan.Change) string {
	if c.Imports() && c.AdoptOnly() {
		return "<="
	}
	return c.Action.Symbol()
}

// Summary returns the plan's last line:
//
//	Plan: 3 to add, 1 to change, 0 to destroy.
//
// with "N to import, " first when the plan imports objects, or, when
// nothing is to be done,
//
//	No changes. Your regions match the spec.
//
// A replacement counts as one add and one destroy (see plan.Counts).
func Summary(c plan.Counts) string {
	if c.Add == 0 && c.Change == 0 && c.Destroy == 0 && c.Import == 0 {
		return "No changes. Your regions match the spec."
	}
	imports := ""
	if c.Import > 0 {
		imports = fmt.Sprintf("%d to import, ", c.Import)
	}
	return fmt.Sprintf("Plan: %s%d to add, %d to change, %d to destroy.", imports, c.Add, c.Change, c.Destroy)
}

// PlanSummary is the last line of p: Summary, or for a refresh-only plan
// what its apply records.
func PlanSummary(p *plan.Plan) string {
	c := p.Counts()
	switch {
	case p.RefreshOnly && c.Record == 0:
		return "No changes. State matches what the cloud reports."
	case p.RefreshOnly:
		return fmt.Sprintf("Refresh-only plan: apply records the refreshed values of %d object(s) in state and changes nothing in the cloud.", c.Record)
	}
	return Summary(c)
}

// Headline is what a plan made with --target, --replace or --refresh-only
// says before its changes, one paragraph per line; nil for other plans.
func Headline(p *plan.Plan) []string {
	var out []string
	if len(p.Targets) > 0 {
		out = append(out, "Warning: "+plan.TargetingWarning(p.Targets))
	}
	if len(p.Replace) > 0 {
		out = append(out, "Replacing on request (--replace): "+strings.Join(p.Replace, ", ")+".")
	}
	if p.RefreshOnly {
		out = append(out, "This is a refresh-only plan: it shows what changed outside regionctl and plans no change to the cloud. "+
			"Applying it records those values in state, so later plans take them as the starting point.")
	}
	return out
}

// Human writes p for a person: for each region a header, what changed
// outside regionctl, every change other than a no-op with its attributes,
// and the driver's notes; then the summary line. NoOp changes are left out.
func Human(w io.Writer, p *plan.Plan, opts HumanOptions) error {
	if p == nil {
		return errors.New("render plan: no plan")
	}
	h := &human{w: w, color: opts.Color}
	for _, l := range Headline(p) {
		h.line(h.paint(ansiBold, l))
		h.line("")
	}
	for i, r := range p.Regions {
		if i > 0 {
			h.line("")
		}
		h.region(r)
	}
	if len(p.Regions) > 0 {
		h.line("")
	}
	h.line(h.paint(ansiBold, PlanSummary(p)))
	if h.err != nil {
		return fmt.Errorf("render plan: %w", h.err)
	}
	return nil
}

type human struct {
	w     io.Writer
	color bool
	err   error
}

func (h *human) line(s string) {
	if h.err != nil {
		return
	}
	_, h.err = io.WriteString(h.w, s+"\n")
}

func (h *human) paint(code, s string) string {
	if !h.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// symbol colours a change symbol: + green, ~ yellow, - red, each character
// of -/+ and +/- on its own.
func (h *human) symbol(sym string) string {
	if !h.color {
		return sym
	}
	var b strings.Builder
	for _, r := range sym {
		switch r {
		case '+':
			b.WriteString(h.paint(ansiGreen, "+"))
		case '-':
			b.WriteString(h.paint(ansiRed, "-"))
		case '~':
			b.WriteString(h.paint(ansiYellow, "~"))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sym3 right-aligns a change symbol in three columns.
func (h *human) sym3(sym string) string {
	return strings.Repeat(" ", max(0, 3-len(sym))) + h.symbol(sym)
}

func (h *human) region(r plan.RegionPlan) {
	h.line(h.paint(ansiBold, fmt.Sprintf("Region %s (%s)", r.Region, r.Provider)))

	var changes []plan.Change
	for _, c := range r.Changes {
		if c.Action != plan.NoOp {
			changes = append(changes, c)
		}
	}
	if len(r.Drift) > 0 {
		h.line("")
		h.line("Objects changed outside regionctl:")
		for _, d := range r.Drift {
			h.line("")
			h.drift(d)
		}
	}
	if r.RefreshOnly {
		if len(r.Drift) > 0 {
			h.line("")
			h.line("Applying this plan records these values in state; nothing in the cloud changes.")
		}
		return
	}
	if len(changes) == 0 {
		h.line("")
		h.line("  No changes.")
		return
	}
	if len(r.Drift) > 0 {
		h.line("")
		h.line("regionctl will make these changes:")
	}
	for _, c := range changes {
		h.line("")
		h.change(c)
	}
	if len(r.Notes) > 0 {
		h.line("")
		h.line(fmt.Sprintf("Notes from the %s driver:", r.Provider))
		for _, n := range r.Notes {
			h.line("  - " + strings.ReplaceAll(n, "\n", "\n    "))
		}
	}
}

func (h *human) drift(d plan.Drift) {
	if d.Deleted {
		h.line(h.sym3("-") + " " + d.Address + " (deleted outside regionctl)")
		return
	}
	h.line(h.sym3("~") + " " + d.Address)
	h.diffLines(diffValues(d.Before, d.After), nil)
}

func (h *human) change(c plan.Change) {
	head := h.sym3(changeSymbol(c)) + " " + c.Address
	switch {
	case c.Action.IsReplace():
		head += " (replace: " + replaceReason(c) + ")"
	case c.DeposedID != "" && c.Reason != "":
		head += " (deposed object " + c.DeposedID + ": " + c.Reason + ")"
	case c.DeposedID != "":
		head += " (deposed object " + c.DeposedID + ")"
	case c.Reason != "":
		head += " (" + c.Reason + ")"
	}
	h.line(head)
	if c.Stateful && (c.Action == plan.Delete || c.Action.IsReplace()) {
		h.line(attrIndent + h.paint(ansiLoud, "# WARNING: destroys stateful resource"))
	}
	switch c.Action {
	case plan.Create:
		h.createLines(c.After)
	case plan.Update:
		h.diffLines(diffValues(c.Before, c.After), nil)
	case plan.DeleteThenCreate, plan.CreateThenDelete:
		h.diffLines(diffValues(c.Before, c.After), c.ReplacePaths)
	}
}

// replaceReason is the change's Reason, or one made from its ReplacePaths.
func replaceReason(c plan.Change) string {
	switch {
	case c.Reason != "":
		return c.Reason
	case len(c.ReplacePaths) == 1:
		return c.ReplacePaths[0] + " forces replacement"
	case len(c.ReplacePaths) > 1:
		return strings.Join(c.ReplacePaths, ", ") + " force replacement"
	}
	return "forced replacement"
}

// createLines lists every attribute of a new resource, keys aligned.
func (h *human) createLines(after map[string]any) {
	keys := sortedKeys(after)
	width := 0
	for _, k := range keys {
		width = max(width, len(key(k)))
	}
	for _, k := range keys {
		label := fmt.Sprintf("%-*s", width+1, key(k)+":")
		h.line(attrIndent + h.symbol("+") + " " + label + " " + block(after[k], attrIndent+"  "))
	}
}

// diffLines lists changed leaves: "~ path: before → after", "+ path: v"
// for an added one, "- path: v" for a removed one; paths under a
// replace key are marked "# forces replacement".
func (h *human) diffLines(diffs []attrDiff, replace []string) {
	width := 0
	for _, d := range diffs {
		width = max(width, len(d.path))
	}
	for _, d := range diffs {
		label := fmt.Sprintf("%-*s", width+1, d.path+":")
		var s string
		switch {
		case !d.hasB:
			s = h.symbol("+") + " " + label + " " + inline(d.after)
		case !d.hasA:
			s = h.symbol("-") + " " + label + " " + inline(d.before)
		default:
			s = h.symbol("~") + " " + label + " " + inline(d.before) + " → " + inline(d.after)
		}
		for _, r := range replace {
			if r == d.top {
				s += "  " + h.paint(ansiRed, "# forces replacement")
				break
			}
		}
		h.line(attrIndent + s)
	}
}
