package drivertest

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/regionctl/regionctl/providers"
)

// The schema rules: a driver that publishes resource schemas
// (Capabilities.Resources) must keep its resources to them, because the
// engine takes replacement rules, reasons and schema versions from them and
// a plugin boundary sends them as they are.

var attrType = regexp.MustCompile(`^((list|map)\()*(string|bool|integer|number|any|object)\)*$`)

// schemaProblems checks the schemas themselves.
func schemaProblems(schemas []providers.ResourceSchema) []string {
	var out []string
	types := map[string]bool{}
	for _, s := range schemas {
		if s.Type == "" {
			out = append(out, "a resource schema has no Type")
		}
		if types[s.Type] {
			out = append(out, fmt.Sprintf("resource type %q has two schemas", s.Type))
		}
		types[s.Type] = true
		if s.Version < 0 {
			out = append(out, fmt.Sprintf("%s: schema version %d is negative", s.Type, s.Version))
		}
		out = append(out, attributeProblems(s.Type+" input", s.Inputs, true)...)
		out = append(out, attributeProblems(s.Type+" output", s.Outputs, false)...)
	}
	return out
}

func attributeProblems(where string, attrs []providers.Attribute, inputs bool) []string {
	var out []string
	names := map[string]bool{}
	for _, a := range attrs {
		switch {
		case a.Name == "":
			out = append(out, where+": an attribute has no name")
		case names[a.Name]:
			out = append(out, fmt.Sprintf("%s %s is declared twice", where, a.Name))
		case !attrType.MatchString(a.Type):
			out = append(out, fmt.Sprintf("%s %s has type %q; want string, bool, integer, number, any, object, list(T) or map(T)", where, a.Name, a.Type))
		case inputs && a.Sensitive:
			out = append(out, fmt.Sprintf("%s %s is sensitive, but inputs are stored in state and plans", where, a.Name))
		case !inputs && a.RequiresReplace:
			out = append(out, fmt.Sprintf("%s %s requires replacement, but only inputs can", where, a.Name))
		}
		names[a.Name] = true
		out = append(out, attributeProblems(where+" "+a.Name, a.Attributes, inputs)...)
	}
	return out
}

// resourceSchemaProblems checks an expanded resource against its schema:
// the type has one, every input is declared, and ForceNew holds exactly
// the inputs the schema says require a replacement (else the plan and the
// driver disagree about what replaces the resource).
func resourceSchemaProblems(caps providers.Capabilities, r providers.Resource) []string {
	s, ok := caps.Schema(r.Type)
	if !ok {
		return []string{fmt.Sprintf("%s has type %s, for which Capabilities.Resources has no schema", r.Address, r.Type)}
	}
	var out []string
	for k := range r.Inputs {
		if _, ok := s.Input(k); !ok {
			out = append(out, fmt.Sprintf("%s has input %q, which the %s schema does not declare", r.Address, k, r.Type))
		}
	}
	for _, k := range s.ReplaceKeys(r.Inputs) {
		if !slices.Contains(r.ForceNew, k) {
			out = append(out, fmt.Sprintf("%s: the %s schema says %q requires replacement, but ForceNew leaves it out", r.Address, r.Type, k))
		}
	}
	for _, k := range r.ForceNew {
		if a, ok := s.Input(k); ok && !a.RequiresReplace {
			out = append(out, fmt.Sprintf("%s: ForceNew has %q, which the %s schema says changes in place", r.Address, k, r.Type))
		}
	}
	slices.Sort(out)
	return out
}

// outputSchemaProblems checks what Create or Read reported: only declared
// outputs, and never a sensitive one.
func outputSchemaProblems(caps providers.Capabilities, r providers.Resource, outputs providers.Values) []string {
	s, ok := caps.Schema(r.Type)
	if !ok {
		return nil
	}
	var out []string
	for k := range outputs {
		i := slices.IndexFunc(s.Outputs, func(a providers.Attribute) bool { return a.Name == k })
		switch {
		case i < 0:
			out = append(out, fmt.Sprintf("%s reports output %q, which the %s schema does not declare", r.Address, k, r.Type))
		case s.Outputs[i].Sensitive:
			out = append(out, fmt.Sprintf("%s reports the sensitive output %q: it would be stored in state", r.Address, k))
		}
	}
	slices.Sort(out)
	return out
}
