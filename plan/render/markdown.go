package render

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/plan"
)

// GitHubCommentLimit is the most characters GitHub accepts in a pull
// request comment.
const GitHubCommentLimit = 65536

// MarkdownMaxBytes is the most bytes Markdown writes. A byte count bounds
// the character count GitHub enforces, and the difference to
// GitHubCommentLimit leaves room for what a pipeline wraps around the
// summary (a marker to find its own comment again, a link to the job).
const MarkdownMaxBytes = 60000

// Markdown writes p as a compact summary for a pull-request comment:
//
//   - a one-line fleet total first;
//   - per region with changes or drift, a heading with its counts, a
//     warning block naming stateful resources that would be destroyed, the
//     replacements and destroys listed before the creates and updates, the
//     drift and the attribute changes in collapsible <details> blocks
//     (```diff), and the driver's notes;
//   - one line naming the regions without changes.
//
// The output never exceeds MarkdownMaxBytes: when the whole plan does not
// fit, the attribute details go first, then the longest lists are cut, each
// cut marked with what was left out, and a note at the top says so. The
// headings, counts and stateful warnings are kept.
func Markdown(w io.Writer, p *plan.Plan) error {
	return markdown(w, p, MarkdownMaxBytes)
}

// markdown is Markdown with a byte limit, so tests can exercise the cuts.
func markdown(w io.Writer, p *plan.Plan, limit int) error {
	if p == nil {
		return errors.New("render plan as Markdown: no plan")
	}
	doc := buildMarkdown(p)
	if _, err := io.WriteString(w, doc.assemble(limit)); err != nil {
		return fmt.Errorf("render plan as Markdown: %w", err)
	}
	return nil
}

// Expansion tiers of the Markdown sections: when the plan does not fit,
// lower tiers get the space first.
const (
	tierAlways   = iota // headings: always written whole
	tierStateful        // the stateful resources a plan destroys
	tierRisky           // replacements, destroys, regions without changes
	tierBenign          // creates and updates
	tierDrift           // drift details
	tierDetails         // attribute changes
	tierNotes           // the drivers' notes
)

// mdSection is one part of the Markdown document: a head, items of which
// the first k are shown, and a foot. When no item fits it collapses to a
// short line that says what is missing.
type mdSection struct {
	tier  int
	head  string
	items []string
	foot  string
	// more returns the line standing for n items left out; it is written
	// before foot.
	more func(n int) string
	// collapsed is written instead of the whole section when no item is
	// shown (and the section has items).
	collapsed func(n int) string

	prefix []int // prefix[k]: bytes of the first k items
	shown  int
}

func (s *mdSection) init() {
	s.prefix = make([]int, len(s.items)+1)
	for i, it := range s.items {
		s.prefix[i+1] = s.prefix[i] + len(it)
	}
}

// size is how many bytes the section takes with its first k items shown.
func (s *mdSection) size(k int) int {
	n := len(s.items)
	switch {
	case n == 0:
		return len(s.head) + len(s.foot)
	case k == 0:
		return len(s.collapsed(n))
	case k < n:
		return len(s.head) + s.prefix[k] + len(s.more(n-k)) + len(s.foot)
	}
	return len(s.head) + s.prefix[n] + len(s.foot)
}

func (s *mdSection) write(b *strings.Builder) {
	n := len(s.items)
	if n > 0 && s.shown == 0 {
		b.WriteString(s.collapsed(n))
		return
	}
	b.WriteString(s.head)
	for _, it := range s.items[:s.shown] {
		b.WriteString(it)
	}
	if s.shown < n {
		b.WriteString(s.more(n - s.shown))
	}
	b.WriteString(s.foot)
}

type mdDoc struct {
	top      string
	sections []*mdSection
}

// truncatedNote is written after the top line when something was left out.
var truncatedNote = fmt.Sprintf("> [!NOTE]\n> Shortened to fit in a GitHub comment (%s characters at most): each … marks what was left out. "+
	"The job log has the whole plan, as does `regionctl show PLANFILE`.\n\n", "65,536")

// assemble writes the document within limit bytes: every section starts
// collapsed; tier by tier, in document order, items are added while they
// fit, and the first one that does not stops the expansion.
func (d *mdDoc) assemble(limit int) string {
	cost := len(d.top) + len(truncatedNote)
	for _, s := range d.sections {
		s.init()
		cost += s.size(0)
	}
	order := slices.Clone(d.sections)
	slices.SortStableFunc(order, func(a, b *mdSection) int { return a.tier - b.tier })
	complete := true
expand:
	for _, s := range order {
		for k := 1; k <= len(s.items); k++ {
			next := cost - s.size(k-1) + s.size(k)
			if next > limit {
				complete = false
				break expand
			}
			cost = next
			s.shown = k
		}
	}
	var b strings.Builder
	b.WriteString(d.top)
	if !complete {
		b.WriteString(truncatedNote)
	}
	for _, s := range d.sections {
		s.write(&b)
	}
	out := b.String()
	if len(out) <= limit {
		return out
	}
	// Even the collapsed sections do not fit (thousands of regions): cut at
	// a line boundary. Collapsed sections hold no fences or HTML blocks to
	// leave open.
	const cut = "\n*… cut here: the plan is too large for one comment.*\n"
	end := strings.LastIndexByte(out[:max(0, limit-len(cut))], '\n')
	if end < 0 {
		return ""
	}
	return out[:end] + cut
}

// buildMarkdown lays out the whole plan as sections.
func buildMarkdown(p *plan.Plan) *mdDoc {
	d := &mdDoc{top: topLine(p)}
	var unchanged []string
	for _, r := range p.Regions {
		if !regionHasChanges(r) && len(r.Drift) == 0 {
			unchanged = append(unchanged, r.Region+" ("+r.Provider+")")
			continue
		}
		d.sections = append(d.sections, regionSections(r)...)
	}
	if len(unchanged) > 0 {
		s := &mdSection{
			tier: tierRisky,
			head: fmt.Sprintf("**No changes** in %s:", plural(len(unchanged), "region", "regions")),
			foot: "\n",
			more: func(n int) string { return fmt.Sprintf(" … and %d more", n) },
		}
		s.collapsed = func(n int) string { return s.head + " … not listed" + s.foot }
		for i, u := range unchanged {
			sep := " "
			if i > 0 {
				sep = ", "
			}
			s.items = append(s.items, sep+mdEscape(u))
		}
		d.sections = append(d.sections, s)
	}
	return d
}

// topLine is the one-line fleet total.
func topLine(p *plan.Plan) string {
	what := "regionctl plan"
	if p.Destroy {
		what = "regionctl destroy plan"
	}
	changed, drifted := 0, 0
	for _, r := range p.Regions {
		if regionHasChanges(r) {
			changed++
		}
		drifted += len(r.Drift)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s:** ", what)
	c := p.Counts()
	switch {
	case p.RefreshOnly:
		fmt.Fprintf(&b, "refresh-only: records the refreshed values of %s in state, changes nothing in the cloud.", plural(c.Record, "object", "objects"))
	case changed == 0:
		fmt.Fprintf(&b, "no changes in %s. Your regions match the spec.", plural(len(p.Regions), "region", "regions"))
	default:
		if c.Import > 0 {
			fmt.Fprintf(&b, "%d to import, ", c.Import)
		}
		fmt.Fprintf(&b, "%d to add, %d to change, %d to destroy", c.Add, c.Change, c.Destroy)
		if c.Replace > 0 {
			fmt.Fprintf(&b, " (%s)", plural(c.Replace, "replacement", "replacements"))
		}
		fmt.Fprintf(&b, " in %d of %s.", changed, plural(len(p.Regions), "region", "regions"))
	}
	if drifted > 0 {
		fmt.Fprintf(&b, " %s changed outside regionctl.", plural(drifted, "object", "objects"))
	}
	if n := len(statefulLosses(p.Regions...)); n > 0 {
		fmt.Fprintf(&b, " ⚠️ **%s destroyed.**", plural(n, "stateful resource", "stateful resources"))
	}
	b.WriteString("\n\n")
	for _, l := range Headline(p) {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s\n\n", mdEscape(strings.TrimPrefix(l, "Warning: ")))
	}
	return b.String()
}

func regionHasChanges(r plan.RegionPlan) bool { return r.HasChanges() }

// statefulLosses are the changes that destroy a stateful resource.
func statefulLosses(rs ...plan.RegionPlan) []plan.Change {
	var out []plan.Change
	for _, r := range rs {
		for _, c := range r.Changes {
			if c.Stateful && (c.Action == plan.Delete || c.Action.IsReplace()) {
				out = append(out, c)
			}
		}
	}
	return out
}

// regionSections lays out one region with changes or drift.
func regionSections(r plan.RegionPlan) []*mdSection {
	one := &plan.Plan{Regions: []plan.RegionPlan{r}}
	c := one.Counts()
	heading := fmt.Sprintf("### %s (%s): ", mdEscape(r.Region), mdEscape(r.Provider))
	switch {
	case r.RefreshOnly && regionHasChanges(r):
		heading += fmt.Sprintf("%s to record", plural(c.Record, "object", "objects"))
	case regionHasChanges(r):
		if c.Import > 0 {
			heading += fmt.Sprintf("%d to import, ", c.Import)
		}
		heading += fmt.Sprintf("%d to add, %d to change, %d to destroy", c.Add, c.Change, c.Destroy)
	default:
		heading += "no changes"
	}
	if len(r.Drift) > 0 {
		heading += ", " + plural(len(r.Drift), "object", "objects") + " changed outside regionctl"
	}
	out := []*mdSection{{tier: tierAlways, head: heading + "\n\n"}}

	if losses := statefulLosses(r); len(losses) > 0 {
		s := &mdSection{
			tier: tierStateful,
			head: fmt.Sprintf("> [!CAUTION]\n> **Destroys %s:**\n",
				plural(len(losses), "stateful resource; its data is lost", "stateful resources; their data is lost")),
			foot: "\n",
			more: func(n int) string { return fmt.Sprintf("> - … and %d more\n", n) },
		}
		s.collapsed = func(n int) string { return s.head + fmt.Sprintf("> - … %d not listed\n", n) + s.foot }
		for _, ch := range losses {
			what := "destroyed"
			if ch.Action.IsReplace() {
				what = "replaced"
			}
			s.items = append(s.items, fmt.Sprintf("> - %s (%s)\n", codeSpan(ch.Address), what))
		}
		out = append(out, s)
	}

	var imports, replace, destroy, create, update []string
	for _, ch := range r.Changes {
		item := "- " + codeSpan(ch.Address)
		var why []string
		if ch.Stateful && (ch.Action == plan.Delete || ch.Action.IsReplace()) {
			why = append(why, "⚠️ **stateful**")
		}
		switch {
		case ch.Action.IsReplace():
			why = append(why, mdEscape(replaceReason(ch)))
		case ch.DeposedID != "":
			why = append(why, "deposed object "+codeSpan(ch.DeposedID))
			if ch.Reason != "" {
				why = append(why, mdEscape(ch.Reason))
			}
		case ch.Reason != "":
			why = append(why, mdEscape(ch.Reason))
		}
		if len(why) > 0 {
			item += " — " + strings.Join(why, " · ")
		}
		item += "\n"
		switch {
		case ch.Imports() && ch.AdoptOnly():
			imports = append(imports, item)
		case ch.Action.IsReplace():
			replace = append(replace, item)
		case ch.Action == plan.Delete:
			destroy = append(destroy, item)
		case ch.Action == plan.Create:
			create = append(create, item)
		case ch.Action == plan.Update:
			update = append(update, item)
		}
	}
	for _, l := range []struct {
		title string
		tier  int
		items []string
	}{
		{"Replace", tierRisky, replace},
		{"Destroy", tierRisky, destroy},
		{"Create", tierBenign, create},
		{"Update in place", tierBenign, update},
		{"Import", tierBenign, imports},
	} {
		if len(l.items) == 0 {
			continue
		}
		s := &mdSection{
			tier:  l.tier,
			head:  fmt.Sprintf("**%s** (%d):\n", l.title, len(l.items)),
			items: l.items,
			foot:  "\n",
			more:  func(n int) string { return fmt.Sprintf("- … and %d more\n", n) },
		}
		s.collapsed = func(n int) string { return s.head + fmt.Sprintf("- … %d not listed\n", n) + s.foot }
		out = append(out, s)
	}

	if len(r.Drift) > 0 {
		var items []string
		for _, dr := range r.Drift {
			items = append(items, driftChunk(dr))
		}
		out = append(out, detailsSection(tierDrift,
			fmt.Sprintf("<b>Drift:</b> %s changed outside regionctl", plural(len(r.Drift), "object", "objects")),
			items))
	}

	var chunks []string
	for _, ch := range r.Changes {
		if ch.Action != plan.NoOp {
			chunks = append(chunks, changeChunk(ch))
		}
	}
	if len(chunks) > 0 {
		out = append(out, detailsSection(tierDetails,
			fmt.Sprintf("Attribute changes of %s", plural(len(chunks), "resource", "resources")),
			chunks))
	}

	if len(r.Notes) > 0 {
		s := &mdSection{
			tier: tierNotes,
			head: fmt.Sprintf("Notes from the %s driver:\n", mdEscape(r.Provider)),
			foot: "\n",
			more: func(n int) string { return fmt.Sprintf("- … and %d more\n", n) },
		}
		s.collapsed = func(n int) string {
			return fmt.Sprintf("*Notes from the %s driver: … %d not shown.*\n\n", mdEscape(r.Provider), n)
		}
		for _, n := range r.Notes {
			s.items = append(s.items, "- "+mdEscape(strings.Join(strings.Fields(n), " "))+"\n")
		}
		out = append(out, s)
	}
	return out
}

// detailsSection is a collapsible block holding one ```diff fence whose
// items are chunks of lines. The fence is longer than any backtick run in
// the chunks, so no value can close it.
func detailsSection(tier int, summary string, chunks []string) *mdSection {
	for i := 1; i < len(chunks); i++ {
		chunks[i] = "\n" + chunks[i]
	}
	fence := strings.Repeat("`", max(3, longestRun(strings.Join(chunks, ""), '`')+1))
	s := &mdSection{
		tier:  tier,
		head:  fmt.Sprintf("<details><summary>%s</summary>\n\n%sdiff\n", summary, fence),
		items: chunks,
		foot:  fence + "\n\n</details>\n\n",
		more: func(n int) string {
			return fmt.Sprintf("\n# … %d more not shown\n", n)
		},
	}
	s.collapsed = func(n int) string {
		return fmt.Sprintf("*%s: … not shown.*\n\n", stripTags(summary))
	}
	return s
}

// stripTags removes the <b></b> a summary may hold.
func stripTags(s string) string {
	return strings.NewReplacer("<b>", "", "</b>", "").Replace(s)
}

// changeChunk renders one change as diff lines: a "#" header with the
// action symbol and address, then "+"/"-" attribute lines.
func changeChunk(c plan.Change) string {
	var b strings.Builder
	head := "# " + changeSymbol(c) + " " + c.Address
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
	b.WriteString(oneLine(head) + "\n")
	if c.Stateful && (c.Action == plan.Delete || c.Action.IsReplace()) {
		b.WriteString("# WARNING: destroys stateful resource\n")
	}
	switch c.Action {
	case plan.Create:
		keys := sortedKeys(c.After)
		width := 0
		for _, k := range keys {
			width = max(width, len(key(k)))
		}
		for _, k := range keys {
			fmt.Fprintf(&b, "+   %-*s %s\n", width+1, key(k)+":", inline(c.After[k]))
		}
	case plan.Update, plan.DeleteThenCreate, plan.CreateThenDelete:
		diffChunkLines(&b, diffValues(c.Before, c.After), c.ReplacePaths)
	}
	return b.String()
}

// driftChunk renders one drifted object as diff lines: what state had
// ("-") and what the cloud has now ("+").
func driftChunk(d plan.Drift) string {
	if d.Deleted {
		return oneLine("# - "+d.Address+" (deleted outside regionctl)") + "\n"
	}
	var b strings.Builder
	b.WriteString(oneLine("# ~ "+d.Address) + "\n")
	diffChunkLines(&b, diffValues(d.Before, d.After), nil)
	return b.String()
}

// diffChunkLines writes each changed leaf as a "-" line with the old
// value and a "+" line with the new one; a leaf under a key that forces
// replacement is marked on its last line.
func diffChunkLines(b *strings.Builder, diffs []attrDiff, replace []string) {
	width := 0
	for _, d := range diffs {
		width = max(width, len(d.path))
	}
	for _, d := range diffs {
		label := fmt.Sprintf("%-*s", width+1, d.path+":")
		var lines []string
		if d.hasB {
			lines = append(lines, "-   "+label+" "+inline(d.before))
		}
		if d.hasA {
			lines = append(lines, "+   "+label+" "+inline(d.after))
		}
		if slices.Contains(replace, d.top) {
			lines[len(lines)-1] += "  # forces replacement"
		}
		for _, l := range lines {
			b.WriteString(oneLine(l) + "\n")
		}
	}
}

// oneLine keeps a line a line: a newline inside a value would otherwise
// start a diff line of its own.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// codeSpan puts s in a Markdown code span that no backtick in s can close.
func codeSpan(s string) string {
	s = oneLine(s)
	n := longestRun(s, '`')
	if n == 0 {
		return "`" + s + "`"
	}
	ticks := strings.Repeat("`", n+1)
	return ticks + " " + s + " " + ticks
}

// mdEscape makes text from a driver or a spec safe in Markdown and in the
// HTML GitHub allows: it is shown as written, on one line.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case strings.ContainsRune("\\`*_[]|~#!", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plural formats n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
