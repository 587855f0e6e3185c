package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
)

// JSONFormatVersion is the version of the document JSON writes, as
// "MAJOR.MINOR". The minor is bumped when fields or action names are
// added; the major when anything is removed, renamed or changes meaning.
// A consumer should refuse a major it does not know and ignore fields it
// does not know. See docs/json-output.md.
const JSONFormatVersion = "1.3"

// jsonPlan is the document JSON writes. Field order is the key order.
type jsonPlan struct {
	FormatVersion string `json:"format_version"`
	Created       string `json:"created,omitempty"`
	Destroy       bool   `json:"destroy"`
	// RefreshOnly, Targets and Replace are the plan's options (since 1.2).
	RefreshOnly bool         `json:"refresh_only"`
	Targets     []string     `json:"targets"`
	Replace     []string     `json:"replace"`
	HasChanges  bool         `json:"has_changes"`
	Regions     []jsonRegion `json:"regions"`
	// Rollout is the waves an apply follows (since 1.2).
	Rollout *jsonRollout `json:"rollout,omitempty"`
	Summary jsonSummary  `json:"summary"`
}

type jsonRegion struct {
	Region   string       `json:"region"`
	Provider string       `json:"provider"`
	Lineage  string       `json:"lineage"`
	Serial   uint64       `json:"serial"`
	Changes  []jsonChange `json:"changes"`
	Drift    []jsonDrift  `json:"drift"`
	Notes    []string     `json:"notes"`
	// Target is what the plan was made against (since 1.1).
	Target *jsonTarget `json:"target,omitempty"`
}

type jsonTarget struct {
	Sandbox   string `json:"sandbox,omitempty"`
	Account   string `json:"account,omitempty"`
	Principal string `json:"principal,omitempty"`
}

type jsonChange struct {
	Address      string   `json:"address"`
	Type         string   `json:"type"`
	Action       string   `json:"action"`
	DeposedID    string   `json:"deposed_id,omitempty"`
	Before       any      `json:"before"`
	After        any      `json:"after"`
	AfterUnknown []string `json:"after_unknown"`
	ReplacePaths []string `json:"replace_paths"`
	Reason       string   `json:"reason"`
	Stateful     bool     `json:"stateful"`
	// Importing is set when the change brings an object state does not
	// know under management (since 1.2).
	Importing *jsonImporting `json:"importing,omitempty"`
}

// jsonImporting is the object a change imports.
type jsonImporting struct {
	ID string `json:"id"`
	// Source is "import" (an import block or `regionctl import`),
	// "tagged" (found by the region's tags for the address) or
	// "forgotten" (the object `state rm` dropped from the address).
	Source string `json:"source"`
	// Only is true when importing is all the change does.
	Only bool `json:"only"`
}

type jsonDrift struct {
	Address string `json:"address"`
	Deleted bool   `json:"deleted"`
	Before  any    `json:"before"`
	After   any    `json:"after"`
}

type jsonSummary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Replace int `json:"replace"`
	// Import and Record are since 1.2.
	Import int `json:"import"`
	Record int `json:"record"`
}

// JSON writes p as the machine-readable document described in
// docs/json-output.md: indented, keys in a stable order (struct fields in
// declaration order, map keys sorted), every change including no-ops. A
// value not known until apply is null in "after" and its JSON Pointer is
// listed in "after_unknown".
func JSON(w io.Writer, p *plan.Plan) error {
	if p == nil {
		return errors.New("render plan as JSON: no plan")
	}
	c := p.Counts()
	doc := jsonPlan{
		FormatVersion: JSONFormatVersion,
		Destroy:       p.Destroy,
		RefreshOnly:   p.RefreshOnly,
		Targets:       append([]string{}, p.Targets...),
		Replace:       append([]string{}, p.Replace...),
		HasChanges:    p.HasChanges(),
		Regions:       make([]jsonRegion, 0, len(p.Regions)),
		Summary:       jsonSummary{Add: c.Add, Change: c.Change, Destroy: c.Destroy, Replace: c.Replace, Import: c.Import, Record: c.Record},
		Rollout:       rolloutJSON(p.Rollout),
	}
	if !p.Created.IsZero() {
		doc.Created = p.Created.UTC().Format(time.RFC3339)
	}
	for _, r := range p.Regions {
		jr := jsonRegion{
			Region:   r.Region,
			Provider: r.Provider,
			Lineage:  r.Lineage,
			Serial:   r.Serial,
			Changes:  make([]jsonChange, 0, len(r.Changes)),
			Drift:    make([]jsonDrift, 0, len(r.Drift)),
			Notes:    append([]string{}, r.Notes...),
		}
		if t := r.Target; t != nil {
			jr.Target = &jsonTarget{Sandbox: t.Sandbox, Account: t.Account, Principal: t.Principal}
		}
		for _, ch := range r.Changes {
			jc := jsonChange{
				Address:      ch.Address,
				Type:         ch.Type,
				Action:       ch.Action.String(),
				DeposedID:    ch.DeposedID,
				Before:       known(ch.Before),
				AfterUnknown: []string{},
				ReplacePaths: make([]string, 0, len(ch.ReplacePaths)),
				Reason:       ch.Reason,
				Stateful:     ch.Stateful,
			}
			if ch.After != nil {
				jc.After = withoutRefs(map[string]any(ch.After), "", &jc.AfterUnknown)
			}
			if ch.Imports() {
				jc.Importing = &jsonImporting{ID: ch.AdoptID, Source: string(ch.Adoption), Only: ch.AdoptOnly()}
			}
			for _, k := range ch.ReplacePaths {
				jc.ReplacePaths = append(jc.ReplacePaths, pointer("", k))
			}
			jr.Changes = append(jr.Changes, jc)
		}
		for _, d := range r.Drift {
			jr.Drift = append(jr.Drift, jsonDrift{Address: d.Address, Deleted: d.Deleted, Before: known(d.Before), After: known(d.After)})
		}
		doc.Regions = append(doc.Regions, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("render plan as JSON: %w", err)
	}
	return nil
}

// known converts a map of values that should hold no references (before
// values, drift); a stray reference still becomes null rather than leak
// the internal "$ref" form.
func known(m map[string]any) any {
	if m == nil {
		return nil
	}
	var ignored []string
	return withoutRefs(m, "", &ignored)
}

// withoutRefs copies v with every reference replaced by null, appending
// the JSON Pointer of each to unknown, in sorted key order.
func withoutRefs(v any, ptr string, unknown *[]string) any {
	v = plain(v)
	if _, _, ok := providers.AsRef(v); ok {
		*unknown = append(*unknown, ptr)
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range sortedKeys(t) {
			out[k] = withoutRefs(t[k], pointer(ptr, k), unknown)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = withoutRefs(e, ptr+"/"+strconv.Itoa(i), unknown)
		}
		return out
	}
	return v
}

// pointer appends a key to an RFC 6901 JSON Pointer.
func pointer(ptr, k string) string {
	k = strings.ReplaceAll(k, "~", "~0")
	k = strings.ReplaceAll(k, "/", "~1")
	return ptr + "/" + k
}
