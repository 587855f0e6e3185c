package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"
)

// Jsonnet is a full programming language: a dozen bytes can recurse
// exponentially or build a gigabyte string, and no limit on steps or memory
// can be set on go-jsonnet. So the fuzzer evaluates Jsonnet only for small
// inputs that make no calls and no comprehensions (no "(" and no "for"),
// with imports disabled; every other Jsonnet input is only parsed. YAML and
// JSON are fuzzed without restriction (the loader bounds alias expansion).
//
// Run it with a bounded minimization time, or the fuzzer spends up to a
// minute minimizing each new large input and reports 0 execs/sec meanwhile:
//
//	go test ./spec -run XXX -fuzz FuzzLoadBytes -fuzztime 60s -fuzzminimizetime 20x
const fuzzJsonnetMax = 128

func FuzzLoadBytes(f *testing.F) {
	for _, dir := range []string{"../examples", "testdata/invalid", "testdata/invalid/dup-region"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".golden") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(e.Name(), data)
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		exts := []string{".yaml", ".json", ".jsonnet", ".libsonnet", ".txt"}
		ext := strings.ToLower(filepath.Ext(name))
		known := false
		for _, e := range exts {
			known = known || e == ext
		}
		if !known {
			ext = exts[len(name)%len(exts)]
		}
		file := "fuzz" + ext
		if ext == ".jsonnet" && !safeJsonnet(data) {
			// Parse only: the parser runs in the loader outside go-jsonnet's
			// own panic recovery.
			_, _ = jsonnet.SnippetToAST(file, string(data))
			return
		}
		regions, ds := LoadBytes(file, data, LoadOptions{ExtStr: map[string]string{"env": "fuzz"}, importer: noImporter{}})
		_ = ds.String()
		for _, r := range regions {
			if r.Source == nil {
				t.Fatalf("region without a source map")
			}
			// Defaults are idempotent and validation must not panic on
			// whatever was decoded.
			r.Default()
			Validate([]*Region{r})
		}
	})
}

// safeJsonnet reports whether the fuzzer may evaluate data; see
// fuzzJsonnetMax.
func safeJsonnet(data []byte) bool {
	return len(data) <= fuzzJsonnetMax && !bytes.Contains(data, []byte("(")) && !bytes.Contains(data, []byte("for"))
}
