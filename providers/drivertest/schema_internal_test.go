package drivertest

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
)

func TestSchemaRules(t *testing.T) {
	disk := providers.ResourceSchema{Type: "x_disk",
		Inputs:  []providers.Attribute{{Name: "zone", Type: "string", RequiresReplace: true}, {Name: "size", Type: "integer"}},
		Outputs: []providers.Attribute{{Name: "id", Type: "string"}, {Name: "token", Type: "string", Sensitive: true}},
	}
	caps := providers.Capabilities{Resources: []providers.ResourceSchema{disk}}
	res := func(forceNew []string, in providers.Values) providers.Resource {
		return providers.Resource{Address: "r/x_disk.a", Type: "x_disk", Inputs: in, ForceNew: forceNew}
	}
	for _, tc := range []struct {
		name string
		got  []string
		want string // "" for none
	}{
		{"valid schemas", schemaProblems(caps.Resources), ""},
		{"type twice", schemaProblems([]providers.ResourceSchema{disk, disk}), `resource type "x_disk" has two schemas`},
		{"sensitive input", schemaProblems([]providers.ResourceSchema{{Type: "y", Inputs: []providers.Attribute{{Name: "pw", Type: "string", Sensitive: true}}}}), "y input pw is sensitive"},
		{"bad type", schemaProblems([]providers.ResourceSchema{{Type: "y", Inputs: []providers.Attribute{{Name: "n", Type: "int"}}}}), `y input n has type "int"`},
		{"nested list type", schemaProblems([]providers.ResourceSchema{{Type: "y", Inputs: []providers.Attribute{{Name: "n", Type: "map(list(object))"}}}}), ""},
		{"matching resource", resourceSchemaProblems(caps, res([]string{"zone"}, providers.Values{"zone": "a", "size": 1})), ""},
		{"ForceNew leaves out a replace input", resourceSchemaProblems(caps, res(nil, providers.Values{"zone": "a"})), `the x_disk schema says "zone" requires replacement, but ForceNew leaves it out`},
		{"ForceNew has an in-place input", resourceSchemaProblems(caps, res([]string{"zone", "size"}, providers.Values{"zone": "a", "size": 1})), `ForceNew has "size", which the x_disk schema says changes in place`},
		{"undeclared input", resourceSchemaProblems(caps, res([]string{"zone"}, providers.Values{"zone": "a", "color": "red"})), `has input "color", which the x_disk schema does not declare`},
		{"unknown type", resourceSchemaProblems(caps, providers.Resource{Address: "r/x_vm.a", Type: "x_vm"}), "no schema"},
		{"declared outputs", outputSchemaProblems(caps, res(nil, nil), providers.Values{"id": "d-1"}), ""},
		{"sensitive output", outputSchemaProblems(caps, res(nil, nil), providers.Values{"token": "s3cret"}), `reports the sensitive output "token"`},
		{"undeclared output", outputSchemaProblems(caps, res(nil, nil), providers.Values{"ip": "1.2.3.4"}), `reports output "ip", which the x_disk schema does not declare`},
	} {
		joined := strings.Join(tc.got, "\n")
		if tc.want == "" && joined != "" || tc.want != "" && !strings.Contains(joined, tc.want) {
			t.Errorf("%s: problems %q; want %q", tc.name, tc.got, tc.want)
		}
	}
}
