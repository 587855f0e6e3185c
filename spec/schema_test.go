package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// instance turns YAML or JSON text into a value the validator accepts.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestSchemaAcceptsExamples(t *testing.T) {
	sch := compileSchema(t)
	for _, f := range []string{"../examples/aws.yaml", "../examples/gcp.yaml", "../examples/azure.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(instance(t, data)); err != nil {
			t.Errorf("%s does not validate: %v", f, err)
		}
	}
	data, err := os.ReadFile("../examples/fleet.jsonnet")
	if err != nil {
		t.Fatal(err)
	}
	out, ds := evalJsonnet(context.Background(), "../examples/fleet.jsonnet", data, LoadOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	var regions []json.RawMessage
	if err := json.Unmarshal([]byte(out), &regions); err != nil || len(regions) != 6 {
		t.Fatalf("fleet renders %d regions: %v", len(regions), err)
	}
	for i, r := range regions {
		if err := sch.Validate(instance(t, r)); err != nil {
			t.Errorf("fleet.jsonnet[%d] does not validate: %v", i, err)
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	base, err := os.ReadFile("../examples/aws.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to string }{
		{"unknown field", "  zones: 3\n", "  zones: 3\n  zonez: 3\n"},
		{"bad enum", "tier: ssd", "tier: nvme"},
		{"bad apiVersion", "regionctl.dev/v1alpha1", "regionctl.dev/v2"},
		{"missing required", "  location: us-east-1\n", ""},
		{"bad name", "name: prod-us-east", "name: Prod_US"},
		{"patch version", `kubernetesVersion: "1.33"`, `kubernetesVersion: "1.33.1"`},
		{"number for string", `kubernetesVersion: "1.33"`, `kubernetesVersion: 1.33`},
		{"zones too many", "zones: 3", "zones: 7"},
		{"bad taint", "workload=ingest:NoSchedule", "workload=ingest"},
		{"bad label value", "team: platform", "team: plat form"},
		{"port range", "port: 443", "port: 70000"},
		{"empty selector", "      selector:\n        app: gateway\n", "      selector: {}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(string(base), tt.from, tt.to, 1)
			if doc == string(base) {
				t.Fatalf("%q not found in the example", tt.from)
			}
			if err := sch.Validate(instance(t, []byte(doc))); err == nil {
				t.Errorf("schema accepted a document with %s", tt.name)
			}
		})
	}
}

// TestFieldDocsComplete fails when a field of the types has no description,
// or a description names a field that no longer exists.
func TestFieldDocsComplete(t *testing.T) {
	seen := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		switch rt.Kind() {
		case reflect.Pointer:
			walk(rt.Elem())
		case reflect.Slice, reflect.Map:
			if rt != rawMessageType {
				walk(rt.Elem())
			}
		case reflect.Struct:
			if _, ok := typeDocs[rt.Name()]; !ok {
				t.Errorf("type %s has no entry in typeDocs", rt.Name())
			}
			for _, f := range fieldsOf(rt) {
				key := rt.Name() + "." + f.name
				if seen[key] {
					continue
				}
				seen[key] = true
				if d, ok := fieldDocs[key]; !ok || d.desc == "" {
					t.Errorf("field %s has no description in fieldDocs", key)
				}
				walk(rt.Field(f.index).Type)
			}
		}
	}
	walk(reflect.TypeFor[Region]())
	walk(reflect.TypeFor[Rollout]())
	for key := range fieldDocs {
		if !seen[key] {
			t.Errorf("fieldDocs has %s, which is no field of the types", key)
		}
	}
}
