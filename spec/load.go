package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"
	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/diag"
)

// LoadOptions configure loading.
type LoadOptions struct {
	// ExtStr are Jsonnet external string variables (jsonnet --ext-str),
	// read in a program with std.extVar("name").
	ExtStr map[string]string
	// TLAStr are Jsonnet top-level string arguments (jsonnet --tla-str),
	// passed when a program returns a function; parameters not given here
	// take the function's defaults.
	TLAStr map[string]string
	// MaxJsonnetMemory bounds the heap a Jsonnet program may take while
	// it is evaluated, in bytes; 0 means DefaultJsonnetMemory.
	MaxJsonnetMemory uint64

	// Stdin is read for the path "-" (StdinPath): YAML or JSON regions.
	Stdin io.Reader

	// importer replaces the file importer for Jsonnet imports (fuzzing).
	importer jsonnet.Importer
}

// Extensions Load reads from a folder. A .libsonnet file is only ever
// imported by a .jsonnet program.
var Extensions = []string{".yaml", ".yml", ".json", ".jsonnet"}

// Load reads regions from paths. Each path is a file or a folder; a folder
// contributes every *.yaml, *.yml, *.json and *.jsonnet file directly in it
// (not in sub-folders), in name order, skipping names that start with a dot.
// A file named twice (say, a folder and a file in it) is read once.
// Every region is decoded strictly, defaulted (see Region.Default) and then
// all regions are validated together (see Validate), so a region name used
// in two files is caught.
//
// Regions are returned even when there are errors, for tools that want to
// show what they could read; callers must check diags.HasErrors(). The
// diagnostics are sorted.
//
// Jsonnet evaluation cannot be interrupted: when ctx ends during one, Load
// returns at once and the evaluation finishes in the background.
func Load(ctx context.Context, paths []string, opts LoadOptions) ([]*Region, diag.Diagnostics) {
	var regions []*Region
	var ds diag.Diagnostics
	loaded := map[string]bool{}
	for _, p := range paths {
		if p == StdinPath {
			rs, d := loadStdin(opts.Stdin)
			regions = append(regions, rs...)
			ds = append(ds, d...)
			continue
		}
		files, d := expandPath(p)
		ds = append(ds, d...)
		for _, f := range files {
			if loaded[filepath.Clean(f)] {
				continue // named twice, e.g. a folder and a file in it
			}
			loaded[filepath.Clean(f)] = true
			if err := ctx.Err(); err != nil {
				ds = ds.Errorf(diag.Pos{File: f}, "", "loading stopped: %v", err)
				ds.Sort()
				return regions, ds
			}
			data, err := os.ReadFile(f)
			if err != nil {
				ds = ds.Errorf(diag.Pos{File: f}, "", "cannot read file: %v", err)
				continue
			}
			rs, d := decodeBytes(ctx, f, data, opts)
			regions = append(regions, rs...)
			ds = append(ds, d...)
		}
	}
	ds = append(ds, Validate(regions)...)
	ds.Sort()
	return regions, ds
}

// expandPath turns a file or folder into the files to load.
func expandPath(p string) ([]string, diag.Diagnostics) {
	var ds diag.Diagnostics
	st, err := os.Stat(p)
	if err != nil {
		d := diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: p}}
		if errors.Is(err, fs.ErrNotExist) {
			d.Summary = "no such file or folder"
			d.Fix = "check the path given to -f/--file"
		} else {
			d.Summary = fmt.Sprintf("cannot read: %v", err)
		}
		return nil, append(ds, d)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, ds.Errorf(diag.Pos{File: p}, "", "cannot list folder: %v", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		if hasExt(name, Extensions) {
			files = append(files, filepath.Join(p, name))
		}
	}
	if len(files) == 0 {
		ds = append(ds, diag.Diagnostic{
			Severity: diag.Error, Pos: diag.Pos{File: p},
			Summary: "folder has no region files",
			Detail:  "a folder contributes its *.yaml, *.yml, *.json and *.jsonnet files; sub-folders are not read",
		})
	}
	return files, ds
}

func hasExt(name string, exts []string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range exts {
		if ext == e {
			return true
		}
	}
	return false
}

// LoadBytes decodes the regions in data, choosing the format by filename's
// extension: .yaml or .yml (several documents separated by "---"; empty ones
// are skipped), .json, or .jsonnet (a program returning one Region object or
// an array of them, with imports relative to filename). The regions are
// defaulted and validated among themselves. The diagnostics are sorted.
func LoadBytes(filename string, data []byte, opts LoadOptions) ([]*Region, diag.Diagnostics) {
	regions, ds := decodeBytes(context.Background(), filename, data, opts)
	ds = append(ds, Validate(regions)...)
	ds.Sort()
	return regions, ds
}

// StdinPath, given to Load as a path ("-f -"), reads YAML or JSON regions
// from LoadOptions.Stdin; diagnostics name it StdinName.
const (
	StdinPath = "-"
	StdinName = "<stdin>"
)

// loadStdin decodes the regions piped in on stdin (YAML or JSON).
func loadStdin(r io.Reader) ([]*Region, diag.Diagnostics) {
	pos := diag.Pos{File: StdinName}
	if r == nil {
		return nil, diag.Diagnostics{}.Errorf(pos, "", "-f - reads regions from stdin, but none is available")
	}
	data, err := io.ReadAll(io.LimitReader(r, maxStdinBytes+1))
	if err != nil {
		return nil, diag.Diagnostics{}.Errorf(pos, "", "cannot read stdin: %v", err)
	}
	if len(data) > maxStdinBytes {
		return nil, diag.Diagnostics{}.Errorf(pos, "", "more than %d MiB on stdin: pass large fleets as files", maxStdinBytes>>20)
	}
	return requireRegions(StdinName)(decodeYAML(StdinName, data))
}

// maxStdinBytes bounds what -f - reads.
const maxStdinBytes = 64 << 20

// requireRegions turns a file that decoded cleanly into no region at all
// (an empty file, only comments, an empty list) into an error naming it:
// planning nothing from it would report "No changes" for a typo.
func requireRegions(file string) func([]*Region, diag.Diagnostics) ([]*Region, diag.Diagnostics) {
	return func(rs []*Region, ds diag.Diagnostics) ([]*Region, diag.Diagnostics) {
		if len(rs) == 0 && len(ds) == 0 {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: file},
				Summary: "no Region documents in this file",
				Fix:     "a region file holds one or more documents with apiVersion, kind: Region, metadata and spec (see docs/spec.md)"})
		}
		return rs, ds
	}
}

// decodeBytes decodes and defaults, without validation. A file without any
// region is an error.
func decodeBytes(ctx context.Context, filename string, data []byte, opts LoadOptions) ([]*Region, diag.Diagnostics) {
	return requireRegions(filename)(decodeFile(ctx, filename, data, opts))
}

func decodeFile(ctx context.Context, filename string, data []byte, opts LoadOptions) ([]*Region, diag.Diagnostics) {
	switch ext := strings.ToLower(filepath.Ext(filename)); ext {
	case ".yaml", ".yml", ".json":
		return decodeYAML(filename, data)
	case ".jsonnet":
		out, ds := evalJsonnet(ctx, filename, data, opts)
		if ds.HasErrors() {
			return nil, ds
		}
		rs, d := decodeRendered(filename, out)
		return rs, append(ds, d...)
	case ".libsonnet":
		return nil, diag.Diagnostics{{
			Severity: diag.Error, Pos: diag.Pos{File: filename},
			Summary: "a .libsonnet file is a library and is not loaded on its own",
			Fix:     "import it from a .jsonnet file that returns the regions",
		}}
	default:
		return nil, diag.Diagnostics{{
			Severity: diag.Error, Pos: diag.Pos{File: filename},
			Summary: fmt.Sprintf("unsupported file type %q", ext),
			Fix:     "name region files *.yaml, *.yml, *.json or *.jsonnet",
		}}
	}
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML decodes every document of a YAML (or JSON) stream. A document
// is one Region mapping or a list of them.
func decodeYAML(file string, data []byte) ([]*Region, diag.Diagnostics) {
	var regions []*Region
	var ds diag.Diagnostics
	budget, exhausted := maxNodes, false
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ds = append(ds, yamlError(file, err))
			break
		}
		root := &doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue // an empty document
		}
		var items []*yaml.Node
		if root.Kind == yaml.SequenceNode {
			items = root.Content
		} else {
			items = []*yaml.Node{root}
		}
		for _, item := range items {
			if exhausted {
				break
			}
			d := newDecoder(file, &budget, &exhausted)
			node, done, ok := d.resolve(item, "")
			if !ok {
				ds = append(ds, d.diags...)
				continue
			}
			if node.Kind != yaml.MappingNode {
				done()
				ds = append(ds, diag.Diagnostic{
					Severity: diag.Error, Pos: d.pos(item),
					Summary: fmt.Sprintf("a region must be a mapping with apiVersion, kind, metadata and spec; got %s", describe(node)),
				})
				continue
			}
			r := &Region{}
			d.decode(node, reflect.ValueOf(r).Elem(), "")
			done()
			r.Source = &SourceMap{File: file, Positions: d.positions, Invalid: d.invalid}
			r.Default()
			regions = append(regions, r)
			ds = append(ds, d.diags...)
		}
	}
	return regions, ds
}

// yamlParserProblems are the problems yaml.v3's parser (not its scanner)
// reports. For those, yaml.v3 prints a 0-based line (its scanner errors
// are 1-based), so "an unclosed [ on line 8" came out as line 7; the line
// is where the construct that is not closed starts. Hints say what to look
// for.
var yamlParserProblems = map[string]string{
	"did not find expected <stream-start>":   "",
	"did not find expected <document start>": "",
	"found undefined tag handle":             "",
	"did not find expected node content":     "",
	"did not find expected '-' indicator":    "the list that starts here has an item that is not indented like the others",
	"did not find expected key":              "the mapping that starts here has a line that is not a key: value at its indentation",
	"did not find expected ',' or ']'":       "the [ list that starts here is not closed",
	"did not find expected ',' or '}'":       "the { mapping that starts here is not closed",
	"found duplicate %YAML directive":        "",
	"found incompatible YAML document":       "",
	"found duplicate %TAG directive":         "",
}

// yamlError turns a yaml.v3 parse error into a diagnostic with its line.
func yamlError(file string, err error) diag.Diagnostic {
	d := diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: file}}
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		d.Pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if hint, parser := yamlParserProblems[msg]; parser {
		if d.Pos.Line > 0 {
			d.Pos.Line++
		}
		d.Detail = hint
	}
	if msg == "found a tab character that violates indentation" {
		d.Detail = "the value that starts on this line continues on a line indented with a tab; indent YAML with spaces"
	}
	d.Summary = "invalid YAML: " + msg
	return d
}

// decodeRendered decodes the JSON a Jsonnet program rendered. Each region is
// re-indented on its own, so a position "fleet.jsonnet[2] (rendered):14:7"
// is a line of `jsonnet -e '(import "fleet.jsonnet")[2]'`.
func decodeRendered(file string, out string) ([]*Region, diag.Diagnostics) {
	trimmed := strings.TrimSpace(out)
	if strings.HasPrefix(trimmed, "{") {
		return decodeYAML(file+" (rendered)", []byte(trimmed))
	}
	if !strings.HasPrefix(trimmed, "[") {
		return nil, diag.Diagnostics{{
			Severity: diag.Error, Pos: diag.Pos{File: file},
			Summary: fmt.Sprintf("the Jsonnet program must return a Region object or an array of them, got %s", truncate(trimmed, 40)),
		}}
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &items); err != nil {
		return nil, diag.Diagnostics{}.Errorf(diag.Pos{File: file}, "", "cannot read rendered JSON: %v", err)
	}
	var regions []*Region
	var ds diag.Diagnostics
	if len(items) == 0 {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: file}, Summary: "the Jsonnet program returned no regions",
			Fix: "return a Region object or a non-empty array of them"})
	}
	for i, item := range items {
		if !bytes.HasPrefix(bytes.TrimSpace(item), []byte("{")) {
			ds = ds.Errorf(diag.Pos{File: file}, fmt.Sprintf("[%d]", i),
				"array element is %s, not a Region object", truncate(string(item), 40))
			continue
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, item, "", "   "); err != nil {
			ds = ds.Errorf(diag.Pos{File: file}, fmt.Sprintf("[%d]", i), "cannot read rendered JSON: %v", err)
			continue
		}
		rs, d := decodeYAML(fmt.Sprintf("%s[%d] (rendered)", file, i), buf.Bytes())
		regions = append(regions, rs...)
		ds = append(ds, d...)
	}
	return regions, ds
}

// evalJsonnet runs a Jsonnet program and returns its JSON output. The
// program and every file it imports must pass checkNesting; evaluation is
// bounded by MaxJsonnetStack and MaxJsonnetMemory (see jsonnetlimits.go).
func evalJsonnet(ctx context.Context, file string, data []byte, opts LoadOptions) (string, diag.Diagnostics) {
	if d := checkNesting(file, data); d != nil {
		return "", diag.Diagnostics{*d}
	}
	vm := jsonnet.MakeVM()
	vm.MaxStack = MaxJsonnetStack
	for k, v := range opts.ExtStr {
		vm.ExtVar(k, v)
	}
	for k, v := range opts.TLAStr {
		vm.TLAVar(k, v)
	}
	var next jsonnet.Importer = &jsonnet.FileImporter{}
	if opts.importer != nil {
		next = opts.importer
	}
	vm.Importer(&sourceImporter{file: file, data: jsonnet.MakeContentsRaw(data), next: next})
	capture := &captureFormatter{}
	vm.ErrorFormatter = capture

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			// A panic here would take the whole process down; nothing a
			// user writes may do that.
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("the Jsonnet interpreter crashed: %v", p)}
			}
		}()
		out, err := vm.EvaluateFile(file)
		if err != nil && capture.err != nil {
			err = capture.err
		}
		done <- result{out, err}
	}()
	limit := opts.MaxJsonnetMemory
	if limit == 0 {
		limit = DefaultJsonnetMemory
	}
	overMemory := watchHeap(limit)
	defer overMemory.stop()
	select {
	case <-ctx.Done():
		return "", diag.Diagnostics{}.Errorf(diag.Pos{File: file}, "", "Jsonnet evaluation stopped: %v", ctx.Err())
	case <-overMemory.exceeded:
		return "", diag.Diagnostics{{
			Severity: diag.Error, Pos: diag.Pos{File: file},
			Summary: fmt.Sprintf("the Jsonnet program used more than %d MiB of memory while being evaluated; regionctl stopped waiting for it", limit>>20),
			Fix:     "look for a computation that builds a huge value (std.range or std.repeat over millions of items, a function that doubles a string); if the program really renders that many regions, raise --jsonnet-max-memory",
		}}
	case r := <-done:
		if r.err != nil {
			return "", diag.Diagnostics{jsonnetDiag(file, r.err)}
		}
		return r.out, nil
	}
}

// sourceImporter serves the program being loaded from memory and everything
// it imports through next.
type sourceImporter struct {
	file string
	data jsonnet.Contents
	next jsonnet.Importer
}

func (s *sourceImporter) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	if importedFrom == "" && importedPath == s.file {
		return s.data, s.file, nil
	}
	c, foundAt, err := s.next.Import(importedFrom, importedPath)
	if err != nil {
		return c, foundAt, fmt.Errorf("import %q: %w", importedPath, err)
	}
	if d := checkNesting(foundAt, c.Data()); d != nil {
		return jsonnet.Contents{}, foundAt, fmt.Errorf("import %q: %s: %s", importedPath, d.Pos, d.Summary)
	}
	return c, foundAt, nil
}

// noImporter refuses every import.
type noImporter struct{}

func (noImporter) Import(_, importedPath string) (jsonnet.Contents, string, error) {
	return jsonnet.Contents{}, "", fmt.Errorf("imports are disabled here (%q)", importedPath)
}

// captureFormatter keeps the structured error go-jsonnet would otherwise
// flatten to text.
type captureFormatter struct{ err error }

func (c *captureFormatter) Format(err error) string {
	c.err = err
	return err.Error()
}
func (c *captureFormatter) SetMaxStackTraceSize(int)                 {}
func (c *captureFormatter) SetColorFormatter(jsonnet.ColorFormatter) {}

// jsonnetDiag turns a Jsonnet error into a diagnostic at the place the
// error points to.
func jsonnetDiag(file string, err error) diag.Diagnostic {
	d := diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: file}}
	var rt jsonnet.RuntimeError
	var located interface{ Loc() ast.LocationRange }
	switch {
	case errors.As(err, &rt):
		// Frames run from the outermost (manifesting the output, field by
		// field) to the innermost, where the error was raised.
		d.Summary = "jsonnet: " + rt.Msg
		var trace []string
		for _, f := range rt.StackTrace {
			if f.Loc.Begin.Line == 0 {
				d.Path = appendManifestPath(d.Path, f.Loc.FileName)
				continue
			}
			p := locPos(file, f.Loc)
			d.Pos = p
			trace = append(trace, strings.TrimSpace(p.String()+" "+f.Name))
		}
		// A runaway recursion manifests hundreds of nested fields.
		d.Path = truncate(d.Path, 200)
		if len(trace) > 1 {
			slices.Reverse(trace)
			d.Detail = "stack (innermost first):\n" + strings.Join(trace[:min(len(trace), 10)], "\n")
		}
	case errors.As(err, &located):
		lr := located.Loc()
		d.Pos = locPos(file, lr)
		d.Summary = "jsonnet: " + strings.TrimSpace(strings.TrimPrefix(err.Error(), lr.String()))
	default:
		d.Summary = "jsonnet: " + firstLine(err.Error())
	}
	return d
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// appendManifestPath extends the output path an error was found under with
// one manifestation frame ("Field \"spec\"", "Array element 2").
func appendManifestPath(path, frame string) string {
	if name, ok := strings.CutPrefix(frame, "Field "); ok {
		if n, err := strconv.Unquote(name); err == nil {
			return joinKey(path, n)
		}
	}
	if idx, ok := strings.CutPrefix(frame, "Array element "); ok {
		if i, err := strconv.Atoi(idx); err == nil {
			return joinIndex(path, i)
		}
	}
	return path
}

// locPos converts a Jsonnet location to a diagnostic position.
func locPos(file string, lr ast.LocationRange) diag.Pos {
	p := diag.Pos{File: file, Line: lr.Begin.Line, Column: lr.Begin.Column}
	if lr.File != nil && lr.File.DiagnosticFileName != "" {
		p.File = string(lr.File.DiagnosticFileName)
	} else if lr.FileName != "" {
		p.File = lr.FileName
	}
	return p
}
