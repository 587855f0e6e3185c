package spec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/diag"
)

// YAML syntax errors name the line of the construct that is broken, for
// the parser's errors (0-based in yaml.v3) as for the scanner's.
func TestYAMLErrorLines(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(region("a"), "\n"), "\n")
	with := func(n int, line string) string { // replaces line n (1-based)
		out := append([]string{}, lines...)
		out[n-1] = line
		return strings.Join(out, "\n") + "\n"
	}
	find := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q in the test region", prefix)
		return 0
	}
	loc := find("location:")
	tests := []struct {
		name     string
		data     string
		wantLine int
		wantText string
	}{
		{"unclosed flow sequence", with(loc, "  location: [a, b"), loc, "is not closed"},
		{"unclosed flow mapping", with(loc, "  location: {a: b"), loc, "is not closed"},
		{"tab indentation (scanner)", with(loc, "\tlocation: x"), loc - 1, "indented with a tab"},
		{"bad indentation in a mapping", with(loc, "   location: x"), loc, "mapping values are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := LoadBytes("r.yaml", []byte(tt.data), LoadOptions{})
			if len(ds) != 1 || ds[0].Severity != diag.Error {
				t.Fatalf("want one error, got:\n%s", ds)
			}
			if ds[0].Pos.Line != tt.wantLine || !strings.Contains(ds[0].String(), tt.wantText) {
				t.Errorf("got %s; want line %d and %q\n%s", ds[0].Pos, tt.wantLine, tt.wantText, tt.data)
			}
		})
	}
}

// A file or folder that holds no Region document is an error naming the
// file, whatever its format; so is stdin with none.
func TestNoRegionsIsAnError(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"empty.yaml":    "",
		"comments.yaml": "# nothing here yet\n---\n",
		"list.yaml":     "[]\n",
		"empty.json":    "  \n",
		"none.jsonnet":  "[]",
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		rs, ds := Load(context.Background(), []string{path}, LoadOptions{})
		if len(rs) != 0 || !ds.HasErrors() || ds[0].Pos.File != path {
			t.Errorf("%s: regions %d, diagnostics:\n%s", name, len(rs), ds)
		}
	}
	_, ds := Load(context.Background(), []string{"-"}, LoadOptions{Stdin: strings.NewReader("# nothing\n")})
	if !ds.HasErrors() || ds[0].Pos.File != StdinName {
		t.Errorf("empty stdin: %s", ds)
	}
}

// -f - reads YAML or JSON from stdin, alongside files.
func TestLoadStdin(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(file, []byte(region("b")), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, ds := Load(context.Background(), []string{"-", file}, LoadOptions{Stdin: strings.NewReader(region("a"))})
	if ds.HasErrors() || len(rs) != 2 || rs[0].Metadata.Name != "a" || rs[1].Metadata.Name != "b" {
		t.Fatalf("regions %d, diagnostics:\n%s", len(rs), ds)
	}
	if rs[0].Source == nil || rs[0].Source.File != StdinName {
		t.Errorf("a region from stdin has source %+v, want %s", rs[0].Source, StdinName)
	}
	_, ds = Load(context.Background(), []string{"-"}, LoadOptions{Stdin: strings.NewReader(strings.Replace(region("a"), "min: 1", "min: -1", 1))})
	if !ds.HasErrors() || ds[0].Pos.File != StdinName || ds[0].Pos.Line == 0 {
		t.Errorf("an error in stdin names %s and its line: %s", StdinName, ds)
	}
}
