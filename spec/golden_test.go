package spec

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestInvalidGolden loads each file (or folder) under testdata/invalid and
// compares the rendered diagnostics with its .golden file.
func TestInvalidGolden(t *testing.T) {
	entries, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata/invalid", name)
			_, ds := Load(context.Background(), []string{path}, LoadOptions{})
			if !ds.HasErrors() {
				t.Fatalf("%s loaded without errors; every file under testdata/invalid must fail", path)
			}
			got := ds.String() + "\n"
			golden := filepath.Join("testdata/invalid", strings.TrimSuffix(name, filepath.Ext(name))+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./spec -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics for %s differ from %s (run go test ./spec -update if intended)\n--- got\n%s\n--- want\n%s", path, golden, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no inputs under testdata/invalid")
	}
}
