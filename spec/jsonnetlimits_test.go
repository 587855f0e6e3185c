package spec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deep returns open repeated n times, then middle, then close n times.
func deep(open, middle, close string, n int) string {
	return strings.Repeat(open, n) + middle + strings.Repeat(close, n)
}

// TestDeepJsonnetIsRefused: programs nested far beyond any real spec are
// refused before go-jsonnet parses them (10,000 nested objects crashed the
// process with a Go stack overflow; 10,000 arrays took 1.1 GB), with a
// diagnostic naming the file and the position where the nesting passes the
// limit. Brackets in strings and comments do not count, and real programs
// load.
func TestDeepJsonnetIsRefused(t *testing.T) {
	locals := strings.Repeat("local a = 1, b = [a, 2];\n", 5000) + "[]"
	tests := []struct {
		name, src string
		wantPos   string // "" when the program must load
	}{
		{"10,000 nested arrays", deep("[", "", "]", 10000), ":1:295"},
		{"10,000 nested objects", deep("{a:", "{}", "}", 10000), ":1:790"},
		{"10,000 nested parentheses", deep("(", "1", ")", 10000), ":1:295"},
		{"10,000 nested calls", "local f(x) = x;\n" + deep("f(", "[]", ")", 10000), ":2:"},
		{"10,000 unary minus", strings.Repeat("-", 10000) + "1", ":1:5001"},
		{"a chain of 10,000 additions", strings.Repeat("1 + ", 10000) + "1", ":1:"},
		{"a chain of 10,000 if-else", deep("if true then [] else ", "[]", "", 10000), ":1:"},
		{"5,000 chained locals with two bindings each", locals, ":4981:"},
		{"brackets in strings and comments", "// " + strings.Repeat("[", 10000) + "\n/* " + strings.Repeat("{", 10000) + " */\n# " + strings.Repeat("(", 9999) +
			"\n[\"" + strings.Repeat("[", 10000) + "\", '" + strings.Repeat("(", 10000) + "', @\"" + strings.Repeat("{", 10000) + "\"\"\"]\n" +
			"+ [|||\n  " + strings.Repeat("[", 10000) + "\n|||]", ""},
		{"200 nested arrays", deep("[", "", "]", 200), ""},
		{"2,000 fields in one object", "[{" + strings.Repeat("a: if true then 1 else 2 + 3 * 4,\n", 1) + strings.Repeat("b: [1, 2, {c: 3}],\n", 2000) + "}]", ""},
		{"1,000 chained locals", strings.Repeat("local a = [1, 2, {b: 3}];\n", 1000) + "[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := LoadBytes("deep.jsonnet", []byte(tt.src), LoadOptions{})
			if tt.wantPos == "" {
				for _, d := range ds {
					if strings.Contains(d.Summary, "nests too deeply") {
						t.Fatalf("a program that nests little is refused: %s", d)
					}
				}
				return
			}
			if len(ds) != 1 || !strings.Contains(ds[0].Summary, "nests too deeply") || !strings.Contains(ds[0].Summary, "at most 5000 levels") || ds[0].Fix == "" {
				t.Fatalf("diagnostics:\n%s\nwant one saying the program nests too deeply, with a fix", ds)
			}
			if got := ds[0].Pos.String(); !strings.HasPrefix(got, "deep.jsonnet") || !strings.Contains(got, tt.wantPos) {
				t.Errorf("refused at %s, want deep.jsonnet%s…", got, tt.wantPos)
			}
		})
	}
}

// TestDeepImportIsRefused: a library nested too deeply is refused when it
// is imported, naming the library.
func TestDeepImportIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lib.libsonnet"), []byte(deep("{a:", "{}", "}", 10000)), 0o600); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "fleet.jsonnet")
	if err := os.WriteFile(main, []byte("local lib = import 'lib.libsonnet';\n[lib]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ds := Load(context.Background(), []string{main}, LoadOptions{})
	if len(ds) != 1 || !strings.Contains(ds[0].Summary, "lib.libsonnet:1:790") || !strings.Contains(ds[0].Summary, "nests too deeply") {
		t.Fatalf("diagnostics:\n%s\nwant one naming lib.libsonnet:1:790 as too deep", ds)
	}
}

// TestJsonnetMemoryIsBounded: a program that builds a huge value is
// stopped once the heap grew past LoadOptions.MaxJsonnetMemory, with an
// error naming the file; recursion too deep for MaxJsonnetStack is an error
// too, with the path it manifested cut short. (The abandoned evaluation
// runs on in the background: the value is kept small enough, about 100 MB,
// for that not to matter in this test process.)
func TestJsonnetMemoryIsBounded(t *testing.T) {
	_, ds := LoadBytes("huge.jsonnet", []byte("std.length(std.range(1, 100000000))"), LoadOptions{MaxJsonnetMemory: 16 << 20})
	if len(ds) != 1 || ds[0].Pos.File != "huge.jsonnet" || !strings.Contains(ds[0].Summary, "more than 16 MiB of memory") {
		t.Fatalf("diagnostics:\n%s\nwant one saying huge.jsonnet used more than 16 MiB", ds)
	}
	_, ds = LoadBytes("rec.jsonnet", []byte("local f(n) = if n == 0 then {} else {a: f(n - 1)}; f(100000)"), LoadOptions{})
	if len(ds) != 1 || !strings.Contains(ds[0].Summary, "max stack frames exceeded") || len(ds[0].Path) > 201+len("…") {
		t.Fatalf("diagnostics:\n%s\nwant one saying the stack was exceeded, with a short path", ds)
	}
}
