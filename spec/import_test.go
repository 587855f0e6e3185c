package spec

import (
	"strings"
	"testing"
)

// importYAML is a valid region with import blocks; the tests break one
// line of it at a time.
const importYAML = `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: prod}
spec:
  provider: aws
  location: us-east-1
  network: {cidr: 10.0.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}
  loadBalancers:
    - {name: web, scheme: external, ports: [{port: 443}], selector: {app: web}}
  import:
    - {to: network, id: vpc-0abc}
    - {to: cluster.nodePools.system, id: system-1234}
    - {to: prod/aws_eip.lb-web-a, id: eipalloc-1}
    - {to: aws_iam_role.node, id: regionctl-prod-node}
    - {to: loadBalancers.web.address, id: eipalloc-2}
`

func TestImportBlocks(t *testing.T) {
	rs, ds := LoadBytes("r.yaml", []byte(importYAML), LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("valid import blocks refused:\n%s", ds)
	}
	if got := rs[0].Spec.Import; len(got) != 5 || got[1].To != "cluster.nodePools.system" || got[1].ID != "system-1234" {
		t.Fatalf("decoded %+v", got)
	}

	tests := []struct {
		name, old, new string
		wantLine       int
		wantPath, want string
		wantFix        string
	}{
		{"unknown element", "to: cluster.nodePools.system", "to: cluster.nodePools.sytem", 16, "spec.import[1].to",
			`"cluster.nodePools.sytem" is not an element of region prod`, `did you mean "cluster.nodePools.system"?`},
		{"other region", "to: prod/aws_eip", "to: staging/aws_eip", 17, "spec.import[2].to", `is in region "staging", not "prod"`, `write "aws_eip.lb-web-a"`},
		{"not an address", "to: aws_iam_role.node", "to: my role", 18, "spec.import[3].to", "neither a spec element nor a resource address", "TYPE.NAME"},
		{"empty id", "id: eipalloc-1}", `id: ""}`, 17, "spec.import[2].id", "must not be empty", "cloud's ID"},
		{"padded id", "id: eipalloc-1}", `id: " eipalloc-1"}`, 17, "spec.import[2].id", "leading or trailing spaces", `write "eipalloc-1"`},
		{"element with a region", "to: aws_iam_role.node", "to: prod/network", 18, "spec.import[3].to", "neither a spec element nor a resource address", ""},
		{"same element twice", "to: loadBalancers.web.address", "to: network", 19, "spec.import[4].to", `"network" is already imported to by spec.import[0] (r.yaml:15:`, "remove one"},
		{"same id twice", "id: eipalloc-2", "id: eipalloc-1", 19, "spec.import[4].id", `id "eipalloc-1" is already imported by spec.import[2] (r.yaml:17:`, ""},
		{"missing id", ", id: eipalloc-2}", "}", 19, "spec.import[4].id", `missing required field "id"`, ""},
		{"unknown field", "{to: network, id: vpc-0abc}", "{to: network, id: vpc-0abc, ID: x}", 15, "spec.import[0].ID", `unknown field "ID"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Count(importYAML, tt.old) != 1 {
				t.Fatalf("%q is not in the spec once", tt.old)
			}
			_, ds := LoadBytes("r.yaml", []byte(strings.Replace(importYAML, tt.old, tt.new, 1)), LoadOptions{})
			if len(ds) != 1 {
				t.Fatalf("want one diagnostic, got:\n%s", ds)
			}
			d := ds[0]
			if d.Path != tt.wantPath || !strings.Contains(d.Summary, tt.want) || !strings.Contains(d.Fix, tt.wantFix) {
				t.Errorf("got %s\nwant path %s, summary with %q, fix with %q", d, tt.wantPath, tt.want, tt.wantFix)
			}
			if d.Pos.File != "r.yaml" || d.Pos.Line != tt.wantLine {
				t.Errorf("position %v, want r.yaml:%d", d.Pos, tt.wantLine)
			}
		})
	}
}
