// Package diag carries the diagnostics regionctl reports to a user: errors and
// warnings that name the file, line, column and field they are about, say what
// is wrong, and how to fix it.
//
// Every stage (loading a spec, validating it against a driver's capabilities,
// planning) collects diagnostics rather than stopping at the first, so a user
// sees every problem in one run.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic stops the run.
type Severity int

const (
	// Error stops the command after all diagnostics are reported.
	Error Severity = iota
	// Warning is reported but does not stop the command.
	Warning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Pos is a place in a source file. Line and Column are 1-based; zero means
// unknown.
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String renders "file:line:col", leaving out the parts that are unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	return b.String()
}

// Source says which stage found a problem, so a user knows where to look
// and a pipeline can branch on the exit code (see docs/ci.md).
type Source string

const (
	// SourceSpec: the region spec (the zero value: most diagnostics are
	// about what the user wrote).
	SourceSpec Source = ""
	// SourceState: reading or writing the state backend.
	SourceState Source = "state"
	// SourceRefresh: reading the cloud to refresh what state records.
	SourceRefresh Source = "refresh"
	// SourceCloud: a cloud call or the driver's credentials.
	SourceCloud Source = "cloud"
	// SourceLock: a region's lock.
	SourceLock Source = "lock"
	// SourceTarget: a plan or state made for another target (the sandbox,
	// or another cloud account) than this run's.
	SourceTarget Source = "target"
	// SourceArgs: the command's own arguments (an address or cloud ID
	// given to `regionctl import`), not the spec.
	SourceArgs Source = "args"
)

// Describe names the source in a sentence: "in the spec", "while
// refreshing from the cloud", ...
func (s Source) Describe() string {
	switch s {
	case SourceSpec:
		return "in the spec"
	case SourceState:
		return "with the state backend"
	case SourceRefresh:
		return "while refreshing from the cloud"
	case SourceCloud:
		return "from the cloud"
	case SourceLock:
		return "with a region lock"
	case SourceTarget:
		return "about the target (sandbox or cloud account)"
	case SourceArgs:
		return "in the command's arguments"
	}
	return "from " + string(s)
}

// Diagnostic is one problem found in the user's input or while planning.
type Diagnostic struct {
	Severity Severity `json:"-"`
	// Source is the stage that found the problem; SourceSpec (empty) for
	// the spec.
	Source Source `json:"source,omitempty"`
	// Summary says what is wrong in one line.
	Summary string `json:"summary"`
	// Detail adds context; optional.
	Detail string `json:"detail,omitempty"`
	// Pos is where in the source the problem is; optional.
	Pos Pos `json:"pos,omitempty"`
	// Path is the field path, e.g. "spec.cluster.nodePools[1].min"; optional.
	Path string `json:"path,omitempty"`
	// Fix says how to fix it ("did you mean ...?"); optional.
	Fix string `json:"fix,omitempty"`
}

// String renders a diagnostic on one or more lines:
//
//	regions/prod.yaml:12:9: error: spec.zones: 7 zones requested ...
//	  fix: use at most 6 zones
func (d Diagnostic) String() string {
	var b strings.Builder
	if pos := d.Pos.String(); pos != "" {
		b.WriteString(pos)
		b.WriteString(": ")
	}
	b.WriteString(d.Severity.String())
	if d.Source != SourceSpec {
		b.WriteString(" (" + string(d.Source) + ")")
	}
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString("\n  ")
		b.WriteString(strings.ReplaceAll(d.Detail, "\n", "\n  "))
	}
	if d.Fix != "" {
		b.WriteString("\n  fix: ")
		b.WriteString(d.Fix)
	}
	return b.String()
}

// Diagnostics is a list of diagnostics. The zero value is empty and ready.
type Diagnostics []Diagnostic

// Errorf appends an error diagnostic at pos/path and returns the list.
func (ds Diagnostics) Errorf(pos Pos, path, format string, args ...any) Diagnostics {
	return append(ds, Diagnostic{Severity: Error, Pos: pos, Path: path, Summary: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// At returns the first diagnostic at field path, and whether there is one.
func (ds Diagnostics) At(path string) (Diagnostic, bool) {
	for _, d := range ds {
		if d.Path == path {
			return d, true
		}
	}
	return Diagnostic{}, false
}

// Sort orders diagnostics by file, line, column, then path, so output is stable.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		return a.Path < b.Path
	})
}

// Dedupe removes repeated diagnostics: one equal to an earlier one, and a
// warning saying exactly what an error says (drivers may report a problem
// from Validate and again from Expand). Order is kept otherwise.
func (ds Diagnostics) Dedupe() Diagnostics {
	type key struct {
		source              Source
		summary, path, file string
		line, col           int
	}
	keyOf := func(d Diagnostic) key {
		return key{d.Source, d.Summary, d.Path, d.Pos.File, d.Pos.Line, d.Pos.Column}
	}
	isError := map[key]bool{}
	for _, d := range ds {
		if d.Severity == Error {
			isError[keyOf(d)] = true
		}
	}
	seen := map[key]bool{}
	out := ds[:0:0]
	for _, d := range ds {
		k := keyOf(d)
		if seen[k] || (d.Severity == Warning && isError[k]) {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// String renders every diagnostic, one after another.
func (ds Diagnostics) String() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns the diagnostics as an error when any of them is an error, and
// nil otherwise.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return &ListError{Diagnostics: ds}
}

// ListError is an error made of diagnostics. Use errors.As to get at them.
type ListError struct {
	Diagnostics Diagnostics
}

func (e *ListError) Error() string { return e.Diagnostics.String() }
