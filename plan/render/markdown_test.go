package render

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
)

// hugePlan is a first apply of a 40-region fleet with a stateful destroy
// and a replacement in every region: far more than one comment holds.
func hugePlan() *plan.Plan {
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Created: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	for i := range 40 {
		region := fmt.Sprintf("prod-%02d", i)
		rp := plan.RegionPlan{Region: region, Provider: "aws", Serial: uint64(i)}
		for j := range 30 {
			rp.Changes = append(rp.Changes, plan.Change{
				Address: providers.Address(region, "aws_subnet", fmt.Sprintf("s%02d", j)),
				Type:    "aws_subnet", Action: plan.Create,
				After: map[string]any{
					"cidr":              fmt.Sprintf("10.%d.%d.0/24", i, j),
					"availability_zone": "us-east-1a",
					"vpc_id":            providers.Ref(providers.Address(region, "aws_vpc", "main"), "id"),
					"tags":              map[string]any{"Name": fmt.Sprintf("%s-subnet-%02d", region, j), "team": "platform"},
				},
			})
		}
		rp.Changes = append(rp.Changes,
			plan.Change{Address: providers.Address(region, "aws_ebs_volume", "data"), Type: "aws_ebs_volume",
				Action: plan.Delete, Stateful: true, Before: map[string]any{"size": 100}},
			plan.Change{Address: providers.Address(region, "aws_eks_nodegroup", "apps"), Type: "aws_eks_nodegroup",
				Action: plan.CreateThenDelete, ReplacePaths: []string{"instance_types"},
				Before: map[string]any{"instance_types": []any{"m7i.large"}},
				After:  map[string]any{"instance_types": []any{"m7i.xlarge"}}},
		)
		p.Regions = append(p.Regions, rp)
	}
	return p
}

func TestMarkdownGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		plan *plan.Plan
	}{
		{"full", fullPlan()},
		{"empty", emptyPlan()},
		{"huge", hugePlan()},
		{"rollout", rolloutPlan()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Markdown(&buf, tt.plan); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".md.golden", buf.Bytes())
			if buf.Len() > MarkdownMaxBytes {
				t.Errorf("%d bytes; want at most %d", buf.Len(), MarkdownMaxBytes)
			}
			if strings.Contains(buf.String(), "\x1b") || strings.Contains(buf.String(), "$ref") {
				t.Errorf("markdown holds an escape sequence or a raw reference")
			}
			if !utf8.Valid(buf.Bytes()) {
				t.Errorf("markdown is not valid UTF-8")
			}
			checkBalanced(t, buf.String())
		})
	}
}

// checkBalanced fails unless every <details> is closed and every code
// fence opened is closed.
func checkBalanced(t *testing.T, md string) {
	t.Helper()
	if o, c := strings.Count(md, "<details>"), strings.Count(md, "</details>"); o != c {
		t.Errorf("%d <details> but %d </details>", o, c)
	}
	fence := ""
	for _, l := range strings.Split(md, "\n") {
		switch {
		case fence == "" && strings.HasPrefix(l, "```"):
			fence = strings.TrimRight(l, "abcdefghijklmnopqrstuvwxyz")
		case fence != "" && l == fence:
			fence = ""
		}
	}
	if fence != "" {
		t.Errorf("code fence %s left open", fence)
	}
}

func TestMarkdownFull(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(&buf, fullPlan()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	first, _, _ := strings.Cut(out, "\n")
	if want := "**regionctl plan:** 4 to add, 1 to change, 4 to destroy (2 replacements) in 1 of 2 regions. " +
		"2 objects changed outside regionctl. ⚠️ **2 stateful resources destroyed.**"; first != want {
		t.Errorf("top line\n%s\nwant\n%s", first, want)
	}
	// Replacements and destroys come before creates and updates, the
	// stateful warning before all of them.
	order := []string{
		"### prod-us-east (aws): 4 to add, 1 to change, 4 to destroy, 2 objects changed outside regionctl",
		"> [!CAUTION]",
		"> - `prod-us-east/aws_eks_cluster.main` (replaced)",
		"**Replace** (2):",
		"- `prod-us-east/aws_eks_cluster.main` — ⚠️ **stateful** · subnet\\_ids forces replacement",
		"**Destroy** (2):",
		"**Create** (2):",
		"**Update in place** (1):",
		"<summary><b>Drift:</b> 2 objects changed outside regionctl</summary>",
		"```diff\n# ~ prod-us-east/aws_eks_nodegroup.system\n+   labels.team:     \"ops\"\n-   scaling.desired: 3\n+   scaling.desired: 4\n",
		"<summary>Attribute changes of 7 resources</summary>",
		"+   subnet_ids: [\"subnet-a\", \"subnet-b\", (known after apply)]  # forces replacement\n",
		"Notes from the aws driver:",
		"**No changes** in 1 region: prod-eu-west (gcp)\n",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("after byte %d the markdown lacks %q:\n%s", at, want, out)
		}
		at += i + len(want)
	}
	if strings.Contains(out, "aws_vpc.main") {
		t.Errorf("markdown shows a no-op change")
	}
	if strings.Contains(out, "Shortened") {
		t.Errorf("a small plan was shortened")
	}
}

func TestMarkdownHugeIsShortened(t *testing.T) {
	var full strings.Builder
	p := hugePlan()
	full.WriteString(buildMarkdown(p).assemble(1 << 30))
	if full.Len() <= GitHubCommentLimit {
		t.Fatalf("the huge plan renders to %d bytes in full: not huge enough to test the cut", full.Len())
	}
	var buf bytes.Buffer
	if err := Markdown(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if buf.Len() > MarkdownMaxBytes || utf8.RuneCountInString(out) > GitHubCommentLimit {
		t.Fatalf("%d bytes; want at most %d", buf.Len(), MarkdownMaxBytes)
	}
	if !strings.Contains(out, "> [!NOTE]\n> Shortened") {
		t.Errorf("a shortened summary does not say so")
	}
	// What must survive any cut: every region's heading and stateful
	// warning, every replacement and destroy.
	for i := range 40 {
		region := fmt.Sprintf("prod-%02d", i)
		for _, want := range []string{
			"### " + region + " (aws): 31 to add, 0 to change, 2 to destroy",
			"> - `" + region + "/aws_ebs_volume.data` (destroyed)",
			"- `" + region + "/aws_eks_nodegroup.apps` — instance\\_types forces replacement",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("shortened summary lacks %q", want)
			}
		}
	}
	if !strings.Contains(out, "# … ") && !strings.Contains(out, "not shown (") {
		t.Errorf("no cut is marked with …")
	}
}

// TestMarkdownLimits cuts the full plan at every size and checks each
// result fits, stays balanced and keeps the headings while they fit.
func TestMarkdownLimits(t *testing.T) {
	full := buildMarkdown(fullPlan()).assemble(1 << 30)
	for limit := 0; limit <= len(full)+len(truncatedNote); limit += 37 {
		out := buildMarkdown(fullPlan()).assemble(limit)
		if len(out) > limit {
			t.Fatalf("limit %d: wrote %d bytes", limit, len(out))
		}
		if !utf8.ValidString(out) {
			t.Fatalf("limit %d: invalid UTF-8", limit)
		}
		checkBalanced(t, out)
		if limit >= 2000 && !strings.Contains(out, "> [!CAUTION]") {
			t.Errorf("limit %d: the stateful warning was cut:\n%s", limit, out)
		}
	}
	if got := buildMarkdown(fullPlan()).assemble(len(full) + len(truncatedNote)); got != full {
		t.Errorf("with room for everything the output differs from the full rendering")
	}
}

func TestMarkdownEscapes(t *testing.T) {
	p := &plan.Plan{Regions: []plan.RegionPlan{{
		Region: "r", Provider: "x",
		Notes: []string{"<script>alert(1)</script> *bold* [link](http://x)\nsecond line"},
		Changes: []plan.Change{{
			Address: "r/x_thing.a`b", Type: "x_thing", Action: plan.Update, Reason: "because <b>|</b>",
			Before: map[string]any{"v": "```"},
			After:  map[string]any{"v": "````\n# injected"},
		}},
	}}}
	var buf bytes.Buffer
	if err := Markdown(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"`````diff\n",           // longer than any backtick run in the values
		"`` r/x_thing.a`b ``",   // code span that the backtick cannot close
		"&lt;script&gt;",        // no HTML from a note
		"\\*bold\\* \\[link\\]", // no Markdown from a note
		"because &lt;b&gt;\\|&lt;/b&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n# injected") {
		t.Errorf("a newline in a value started a line of its own:\n%s", out)
	}
	checkBalanced(t, out)
}

func TestMarkdownErrors(t *testing.T) {
	if err := Markdown(&bytes.Buffer{}, nil); err == nil {
		t.Errorf("Markdown(nil) succeeded")
	}
	if err := Markdown(failWriter{}, fullPlan()); !errors.Is(err, errWrite) {
		t.Errorf("Markdown to a failing writer: %v; want %v", err, errWrite)
	}
}

func TestMarkdownDestroyPlan(t *testing.T) {
	p := fullPlan()
	p.Destroy = true
	var buf bytes.Buffer
	if err := Markdown(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "**regionctl destroy plan:**") {
		t.Errorf("destroy plan not named as such:\n%s", buf.String())
	}
}

func TestMarkdownTopLine(t *testing.T) {
	driftOnly := emptyPlan()
	driftOnly.Regions[0].Drift = []plan.Drift{{Address: "prod-us-east/aws_eip.nat", Deleted: true}}
	for _, tt := range []struct {
		name string
		plan *plan.Plan
		want []string
	}{
		{"no regions", &plan.Plan{}, []string{"**regionctl plan:** no changes in 0 regions. Your regions match the spec.\n"}},
		{"empty", emptyPlan(), []string{"**regionctl plan:** no changes in 1 region. Your regions match the spec.\n", "**No changes** in 1 region: prod-us-east (aws)\n"}},
		{"drift only", driftOnly, []string{
			"**regionctl plan:** no changes in 1 region. Your regions match the spec. 1 object changed outside regionctl.\n",
			"### prod-us-east (aws): no changes, 1 object changed outside regionctl\n",
			"# - prod-us-east/aws_eip.nat (deleted outside regionctl)\n",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Markdown(&buf, tt.plan); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("markdown lacks %q:\n%s", w, buf.String())
				}
			}
			checkBalanced(t, buf.String())
		})
	}
}
