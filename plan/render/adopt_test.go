package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
)

// adoptPlan imports one object as it is, imports another and changes it,
// adopts one found by its tags, and was made with --target and --replace.
func adoptPlan() *plan.Plan {
	const r = "prod-us-east"
	a := func(typ, name string) string { return providers.Address(r, typ, name) }
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Created:       time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Targets:       []string{"cluster"},
		Replace:       []string{a("aws_eks_node_group", "system")},
		Regions: []plan.RegionPlan{{
			Region: r, Provider: "aws", Lineage: "7f1c9e2a", Serial: 4,
			Changes: []plan.Change{
				{Address: a("aws_vpc", "main"), Type: "aws_vpc", Action: plan.Update, AdoptID: "vpc-0abc", Adoption: plan.AdoptImport,
					Reason: "importing vpc-0abc",
					Before: map[string]any{"cidr": "10.20.0.0/16"}, After: map[string]any{"cidr": "10.20.0.0/16"}},
				{Address: a("aws_eks_cluster", "main"), Type: "aws_eks_cluster", Action: plan.Update, AdoptID: "prod-us-east", Adoption: plan.AdoptImport,
					Reason: "importing prod-us-east", Stateful: true,
					Before: map[string]any{"version": "1.32"}, After: map[string]any{"version": "1.33"}},
				{Address: a("aws_iam_role", "node"), Type: "aws_iam_role", Action: plan.Update, AdoptID: "regionctl-prod-us-east-node", Adoption: plan.AdoptTagged,
					Reason: "adopting regionctl-prod-us-east-node: state does not know it, but it carries this region's tags for the address",
					Before: map[string]any{"name": "regionctl-prod-us-east-node"}, After: map[string]any{"name": "regionctl-prod-us-east-node"}},
				{Address: a("aws_eks_node_group", "system"), Type: "aws_eks_node_group", Action: plan.CreateThenDelete,
					Reason: "replacement requested with --replace",
					Before: map[string]any{"min_size": 3}, After: map[string]any{"min_size": 3}},
			},
		}},
	}
}

// refreshPlan is a refresh-only plan with drift to record.
func refreshPlan() *plan.Plan {
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Created:       time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		RefreshOnly:   true,
		Regions: []plan.RegionPlan{{
			Region: "prod-us-east", Provider: "aws", Lineage: "7f1c9e2a", Serial: 5, RefreshOnly: true,
			Drift: []plan.Drift{
				{Address: "prod-us-east/aws_eks_node_group.system", Before: map[string]any{"max_size": 6}, After: map[string]any{"max_size": 9}},
				{Address: "prod-us-east/aws_eip.lb-web-a", Deleted: true},
			},
		}},
	}
}

func TestAdoptAndRefreshGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		plan *plan.Plan
	}{{"adopt", adoptPlan()}, {"refresh", refreshPlan()}} {
		t.Run(tt.name, func(t *testing.T) {
			var h, j, m bytes.Buffer
			if err := Human(&h, tt.plan, HumanOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".human.golden", h.Bytes())
			if err := JSON(&j, tt.plan); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".json.golden", j.Bytes())
			if err := Markdown(&m, tt.plan); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".md.golden", m.Bytes())
		})
	}
}

// TestImportsInEveryRendering: each rendering says what is imported and
// counts it, and warns about targeting.
func TestImportsInEveryRendering(t *testing.T) {
	p := adoptPlan()
	if c := p.Counts(); c.Import != 3 || c.Change != 1 || c.Add != 1 || c.Destroy != 1 {
		t.Fatalf("counts %+v: want 3 imports, 1 change (the cluster), 1 replacement", c)
	}
	var h, m bytes.Buffer
	_ = Human(&h, p, HumanOptions{})
	for _, want := range []string{
		" <= prod-us-east/aws_vpc.main (importing vpc-0abc)",
		"  ~ prod-us-east/aws_eks_cluster.main (importing prod-us-east)",
		"Plan: 3 to import, 1 to add, 1 to change, 1 to destroy.",
		"Warning: Resource targeting is in effect (--target cluster)",
	} {
		if !strings.Contains(h.String(), want) {
			t.Errorf("human output lacks %q:\n%s", want, h.String())
		}
	}
	_ = Markdown(&m, p)
	for _, want := range []string{"3 to import, 1 to add", "**Import** (2):", "> [!WARNING]\n> Resource targeting"} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, m.String())
		}
	}
	var j bytes.Buffer
	_ = JSON(&j, p)
	var doc struct {
		Targets []string `json:"targets"`
		Regions []struct {
			Changes []struct {
				Address   string `json:"address"`
				Importing *struct {
					ID     string `json:"id"`
					Source string `json:"source"`
					Only   bool   `json:"only"`
				} `json:"importing"`
			} `json:"changes"`
		} `json:"regions"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ch := doc.Regions[0].Changes
	if ch[0].Importing == nil || ch[0].Importing.ID != "vpc-0abc" || ch[0].Importing.Source != "import" || !ch[0].Importing.Only ||
		ch[1].Importing == nil || ch[1].Importing.Only || ch[2].Importing.Source != "tagged" || ch[3].Importing != nil {
		t.Errorf("importing fields wrong: %s", j.String())
	}
	if doc.Summary["import"] != 3 || len(doc.Targets) != 1 {
		t.Errorf("summary %v targets %v", doc.Summary, doc.Targets)
	}
}
