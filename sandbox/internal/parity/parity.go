// Package parity checks the sandbox's replies against the clouds' own
// published service descriptions — botocore's JSON service models (AWS),
// Google's discovery documents (GCP) and the models generated from the Azure
// REST API specs (Azure) — so that no expectation is the emulators' own.
//
// A test drives the emulator through real requests, records the exchanges
// (Recorder), checks each reply against the description of its operation
// (Botocore.Check, Discovery.Check, AzureSpec.Check; writes also with
// read-only probes: ProbeReadOnly, CheckWrites, EchoedProbes) and hands
// every mismatch to a Report, whose Verify fails the test for each one that
// is not a known, documented gap (Gap) and for each gap that no longer
// occurs. Report.Missing, given the operations a probe found served, names
// those no reply was checked for.
package parity

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Kind classifies a mismatch.
type Kind string

// The kinds of mismatch the checkers report.
const (
	Unknown  Kind = "unknown member"   // a member the description does not have
	Missing  Kind = "missing required" // a required member absent
	Enum     Kind = "enum"             // a value the enumeration does not list
	Type     Kind = "type"             // a value of the wrong type or format
	ReadOnly Kind = "read-only"        // a read-only member taken from the request
	Writable Kind = "writable"         // a writable member the request set, absent from the reply
	Error    Kind = "error"            // an error code the operation does not model
	Unmodel  Kind = "no model"         // an operation or schema the description does not have
)

// Mismatch is one difference between a reply and its description.
type Mismatch struct {
	Op     string // the operation: "ec2:DescribeVpcs", "container:GetCluster", "managedClusters.get@2025-02-01"
	Path   string // where in the reply: "Vpcs[0].State"
	Kind   Kind
	Detail string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", m.Op, m.Path, m.Kind, m.Detail)
}

// findings collects the mismatches of one reply of op; the checkers embed
// it.
type findings struct {
	op    string
	found []Mismatch
}

func (f *findings) add(path string, k Kind, format string, args ...any) {
	f.found = append(f.found, Mismatch{Op: f.op, Path: path, Kind: k, Detail: fmt.Sprintf(format, args...)})
}

// Gap is a known difference, allowed with a reason. Op and Path are
// patterns in which `*` matches any run of characters and list indexes
// are written `[]`; an empty pattern matches everything.
type Gap struct {
	Op, Path string
	Kind     Kind
	Reason   string
}

func (g Gap) matches(m Mismatch) bool {
	return (g.Kind == "" || g.Kind == m.Kind) && wildcard(g.Op, m.Op) && wildcard(g.Path, normPath(m.Path))
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// normPath writes every list index as [] so one gap (and one report line)
// covers every element.
func normPath(p string) string { return indexRE.ReplaceAllString(p, "[]") }

// wildcard matches s against pattern with `*` for any run of characters.
func wildcard(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Report collects the operations checked and the mismatches found, for one
// source (a service description and its version). It is safe for
// concurrent use.
type Report struct {
	Source string // "botocore 1.43.11"

	mu      sync.Mutex
	checked map[string]int // replies checked per operation
	found   []Mismatch
}

// NewReport returns an empty report for source.
func NewReport(source string) *Report { return &Report{Source: source, checked: map[string]int{}} }

// Add records that one reply of op was checked, with what was found.
func (r *Report) Add(op string, ms []Mismatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked[op]++
	r.found = append(r.found, ms...)
}

// Checked lists the operations with at least one reply checked, sorted.
func (r *Report) Checked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := make([]string, 0, len(r.checked))
	for op := range r.checked {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Mismatches returns what was found, deduplicated by operation, path
// (indexes folded) and kind, sorted.
func (r *Report) Mismatches() []Mismatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []Mismatch
	for _, m := range r.found {
		m.Path = normPath(m.Path)
		k := m.Op + "\x00" + m.Path + "\x00" + string(m.Kind)
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Verify fails t for every mismatch no gap allows and for every gap that
// allowed nothing (a gap that was fixed must leave the list), and logs a
// summary: operations and replies checked, and the known gaps seen.
func (r *Report) Verify(t testing.TB, gaps []Gap) {
	t.Helper()
	used := make([]int, len(gaps))
	for _, m := range r.Mismatches() {
		allowed := false
		for i, g := range gaps {
			if g.matches(m) {
				used[i]++
				allowed = true
				break
			}
		}
		if !allowed {
			t.Errorf("%s: %s", r.Source, m)
		}
	}
	for i, g := range gaps {
		if used[i] == 0 {
			t.Errorf("%s: known gap {%s %s %s} (%s) no longer occurs: remove it from the list and from docs/sandbox.md", r.Source, g.Op, g.Path, g.Kind, g.Reason)
		}
	}
	r.mu.Lock()
	replies := 0
	for _, n := range r.checked {
		replies += n
	}
	ops := len(r.checked)
	r.mu.Unlock()
	t.Logf("parity against %s: %d replies of %d operations checked, %d known gaps", r.Source, replies, ops, len(gaps))
}

// Missing lists the operations of want without a reply checked.
func (r *Report) Missing(want []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, op := range want {
		if r.checked[op] == 0 {
			out = append(out, op)
		}
	}
	sort.Strings(out)
	return out
}
