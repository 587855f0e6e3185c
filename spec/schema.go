package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// SchemaID is the $id of the JSON Schema of a Region document.
const SchemaID = "https://regionctl.dev/schemas/v1alpha1/region.json"

// JSONSchema returns a JSON Schema (draft 2020-12) of one Region document,
// for editors and CI linters. It is derived from the Go types by reflection
// on their json tags (so every field is in it), with descriptions, enums,
// patterns and bounds from one table that validation shares. Fields without
// omitempty are required; unknown fields are refused. The schema checks
// shape only: cross-field rules (unique names, min ≤ max, host bits of the
// CIDR) are Validate's.
//
// A document is a Region or the fleet's Rollout (told apart by kind).
func JSONSchema() ([]byte, error) {
	defs := map[string]any{}
	root, err := typeSchema(reflect.TypeFor[Region](), defs)
	if err != nil {
		return nil, err
	}
	rollout, err := typeSchema(reflect.TypeFor[Rollout](), defs)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         SchemaID,
		"title":       "regionctl Region or Rollout",
		"description": typeDocs["Region"] + " Or the fleet's Rollout: " + typeDocs["Rollout"],
		"oneOf":       []any{map[string]any{"$ref": root["$ref"]}, map[string]any{"$ref": rollout["$ref"]}},
		"$defs":       defs,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode JSON Schema: %w", err)
	}
	return append(b, '\n'), nil
}

// typeSchema returns the schema of Go type t, adding struct definitions to
// defs.
func typeSchema(t reflect.Type, defs map[string]any) (map[string]any, error) {
	if t == rawMessageType {
		return map[string]any{}, nil
	}
	switch t.Kind() {
	case reflect.Pointer: // optional; absence is the field's omitempty
		return typeSchema(t.Elem(), defs)
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Int:
		return map[string]any{"type": "integer"}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Slice:
		items, err := typeSchema(t.Elem(), defs)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("spec: JSON Schema: map key type %s", t.Key())
		}
		vals, err := typeSchema(t.Elem(), defs)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "object", "additionalProperties": vals}, nil
	case reflect.Struct:
		ref := map[string]any{"$ref": "#/$defs/" + t.Name()}
		if _, done := defs[t.Name()]; done {
			return ref, nil
		}
		defs[t.Name()] = nil // reserve, in case of recursion
		def, err := structSchema(t, defs)
		if err != nil {
			return nil, err
		}
		defs[t.Name()] = def
		return ref, nil
	}
	return nil, fmt.Errorf("spec: JSON Schema: unsupported type %s", t)
}

func structSchema(t reflect.Type, defs map[string]any) (map[string]any, error) {
	props := map[string]any{}
	required := []string{}
	for _, f := range fieldsOf(t) {
		key := t.Name() + "." + f.name
		doc, ok := fieldDocs[key]
		if !ok || doc.desc == "" {
			return nil, fmt.Errorf("spec: JSON Schema: field %s has no entry in fieldDocs", key)
		}
		s, err := typeSchema(t.Field(f.index).Type, defs)
		if err != nil {
			return nil, err
		}
		applyDoc(s, doc)
		props[f.name] = s
		if !f.omitempty {
			required = append(required, f.name)
		}
	}
	def := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if d := typeDocs[t.Name()]; d != "" {
		def["description"] = d
	}
	if len(required) > 0 {
		def["required"] = required
	}
	return def, nil
}

// applyDoc adds a field's description and constraints to its schema.
func applyDoc(s map[string]any, d fieldDoc) {
	s["description"] = d.desc
	if d.constant != "" {
		s["const"] = d.constant
	}
	if len(d.enum) > 0 {
		s["enum"] = d.enum
	}
	if d.pattern != "" {
		s["pattern"] = d.pattern
	}
	if d.minLength > 0 {
		s["minLength"] = d.minLength
	}
	if d.maxLength > 0 {
		s["maxLength"] = d.maxLength
	}
	if d.minimum != nil {
		s["minimum"] = *d.minimum
	}
	if d.maximum != nil {
		s["maximum"] = *d.maximum
	}
	if d.def != nil {
		s["default"] = d.def
	}
	if d.minItems > 0 {
		if s["type"] == "object" {
			s["minProperties"] = d.minItems
		} else {
			s["minItems"] = d.minItems
		}
	}
	if d.keyPattern != "" {
		s["propertyNames"] = map[string]any{"pattern": d.keyPattern}
	}
	if d.valuePattern != "" {
		if vals, ok := s["additionalProperties"].(map[string]any); ok {
			vals["pattern"] = d.valuePattern
			vals["maxLength"] = MaxLabelLen
		}
	}
	if d.itemPattern != "" {
		if items, ok := s["items"].(map[string]any); ok {
			items["pattern"] = d.itemPattern
		}
	}
}
