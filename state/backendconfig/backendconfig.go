// Package backendconfig chooses and opens regionctl's state backend from a
// `backend` block:
//
//	# regionctl.yaml
//	backend:
//	  type: s3          # local (default), s3, gcs or azblob
//	  bucket: acme-regionctl-state
//	  prefix: prod
//	  region: eu-west-1
//
// The block comes from, in order: a file named with --backend-config, the
// environment (REGIONCTL_BACKEND=TYPE with REGIONCTL_BACKEND_CONFIG="key=value,..."),
// regionctl.yaml in the working directory, or else the local backend in
// --state-dir. Decoding is strict: an unknown type or field, a missing
// required field or a value of the wrong kind is an error naming the file,
// line and column and the fix.
//
// The backends are registered in one explicit map, Types.
package backendconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/azblob"
	"github.com/regionctl/regionctl/state/gcs"
	"github.com/regionctl/regionctl/state/local"
	"github.com/regionctl/regionctl/state/s3"
)

// FileName is the project file read from the working directory.
const FileName = "regionctl.yaml"

// OtherBlocks are the other top-level blocks of regionctl.yaml, which this
// package skips: rateBudgets (the rate budgets the drivers pace their API
// calls with, read by the CLI).
var OtherBlocks = []string{"rateBudgets"}

// Environment variables that select a backend without a file.
const (
	EnvType   = "REGIONCTL_BACKEND"
	EnvConfig = "REGIONCTL_BACKEND_CONFIG"
)

// Config is a decoded backend block. Only the fields of its Type are set.
type Config struct {
	Type string
	// Fields holds the block's settings by name (bucket, prefix, ...).
	Fields map[string]string
	// Source says where the block came from ("regionctl.yaml:2:3",
	// "$REGIONCTL_BACKEND", "default"), for messages.
	Source string
}

// Get returns a field's value, "" when unset.
func (c Config) Get(name string) string { return c.Fields[name] }

// Type describes one backend type: its fields and how to open it.
type Type struct {
	// Fields lists the settings the block may have, required ones first.
	Fields []Field
	// Open builds the backend. getenv reads the environment.
	Open func(ctx context.Context, c Config, getenv func(string) string) (state.Backend, error)
}

// Field is one setting of a backend block.
type Field struct {
	Name     string
	Required bool
	Bool     bool // true/false rather than a string
	Help     string
}

// Types is the registry of backend types, by the name used in `type:`.
var Types = map[string]Type{
	"local": {
		Fields: []Field{{Name: "dir", Help: "directory of the state files (default .regionctl/state, or --state-dir)"}},
		Open: func(_ context.Context, c Config, _ func(string) string) (state.Backend, error) {
			return local.New(c.Get("dir")), nil
		},
	},
	"s3": {
		Fields: []Field{
			{Name: "bucket", Required: true, Help: "S3 bucket"},
			{Name: "prefix", Help: "folder of the objects"},
			{Name: "region", Help: "the bucket's AWS region (default: AWS_REGION or the profile's)"},
			{Name: "endpoint", Help: "URL of an S3-compatible server"},
			{Name: "kmsKeyId", Help: "KMS key for SSE-KMS encryption of every object written"},
			{Name: "pathStyle", Bool: true, Help: "address the bucket in the URL path (S3-compatible servers)"},
		},
		Open: func(ctx context.Context, c Config, _ func(string) string) (state.Backend, error) {
			return s3.New(ctx, s3.Config{
				Bucket: c.Get("bucket"), Prefix: c.Get("prefix"), Region: c.Get("region"),
				Endpoint: c.Get("endpoint"), KMSKeyID: c.Get("kmsKeyId"), PathStyle: c.Get("pathStyle") == "true",
			})
		},
	},
	"gcs": {
		Fields: []Field{
			{Name: "bucket", Required: true, Help: "GCS bucket"},
			{Name: "prefix", Help: "folder of the objects"},
		},
		Open: func(ctx context.Context, c Config, _ func(string) string) (state.Backend, error) {
			return gcs.New(ctx, gcs.Config{Bucket: c.Get("bucket"), Prefix: c.Get("prefix")})
		},
	},
	"azblob": {
		Fields: []Field{
			{Name: "container", Required: true, Help: "blob container"},
			{Name: "account", Help: "storage account (required unless AZURE_STORAGE_CONNECTION_STRING is set)"},
			{Name: "prefix", Help: "folder of the blobs"},
			{Name: "endpoint", Help: "blob service URL (default https://ACCOUNT.blob.core.windows.net)"},
		},
		Open: func(ctx context.Context, c Config, getenv func(string) string) (state.Backend, error) {
			return azblob.New(ctx, azblob.Config{
				Account: c.Get("account"), Container: c.Get("container"), Prefix: c.Get("prefix"), Endpoint: c.Get("endpoint"),
			}, getenv)
		},
	},
}

func typeNames() []string {
	names := make([]string, 0, len(Types))
	for n := range Types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Options say where Resolve looks.
type Options struct {
	// File is --backend-config ("" when not given).
	File string
	// Dir is where regionctl.yaml is looked for ("" means the working
	// directory).
	Dir string
	// StateDir is --state-dir, the local backend's directory when the
	// block does not set dir.
	StateDir string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Resolve finds the backend block: --backend-config, then the environment,
// then regionctl.yaml, then the local backend in StateDir.
func Resolve(o Options) (Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var c Config
	var err error
	switch {
	case o.File != "":
		data, rerr := os.ReadFile(o.File)
		if rerr != nil {
			return Config{}, fmt.Errorf("--backend-config: %w", rerr)
		}
		c, err = ParseFile(o.File, data)
		if err == nil && c.Type == "" {
			err = fmt.Errorf("%s: no backend block: add `backend: {type: s3, bucket: ...}`", o.File)
		}
	case getenv(EnvType) != "":
		c, err = ParseEnv(getenv(EnvType), getenv(EnvConfig))
	case getenv(EnvConfig) != "":
		err = fmt.Errorf("$%s is set but $%s is not: set %s to one of %s", EnvConfig, EnvType, EnvType, strings.Join(typeNames(), ", "))
	default:
		path := FileName
		if o.Dir != "" {
			path = o.Dir + string(os.PathSeparator) + FileName
		}
		data, rerr := os.ReadFile(path)
		switch {
		case errors.Is(rerr, fs.ErrNotExist):
		case rerr != nil:
			return Config{}, fmt.Errorf("read %s: %w", path, rerr)
		default:
			c, err = ParseFile(path, data)
		}
	}
	if err != nil {
		return Config{}, err
	}
	if c.Type == "" {
		c = Config{Type: "local", Fields: map[string]string{}, Source: "default"}
	}
	if c.Type == "local" && c.Get("dir") == "" {
		c.Fields["dir"] = o.StateDir
	}
	return c, nil
}

// Open builds the backend c describes.
func Open(ctx context.Context, c Config, getenv func(string) string) (state.Backend, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	t, ok := Types[c.Type]
	if !ok {
		return nil, fmt.Errorf("%s: unknown backend type %q (have %s)", c.Source, c.Type, strings.Join(typeNames(), ", "))
	}
	b, err := t.Open(ctx, c, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Source, err)
	}
	return b, nil
}

// ParseFile decodes a regionctl.yaml (or --backend-config file) holding a
// top-level `backend` block. A file without one gives a Config with no Type.
func ParseFile(path string, data []byte) (Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, nil // empty file
		}
		return Config{}, fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return Config{}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Config{}, fmt.Errorf("%s: want a mapping with a `backend` key, got %s", at(path, root), kindName(root))
	}
	var block *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if slices.Contains(OtherBlocks, k.Value) {
			continue // read by their own packages
		}
		if k.Value != "backend" {
			msg := fmt.Sprintf("%s: unknown key %q: %s holds only a `backend` block", at(path, k), k.Value, FileName)
			if s, ok := spec.DidYouMean(k.Value, append([]string{"backend"}, OtherBlocks...)); ok {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			msg += " and the rate budgets (`rateBudgets`)"
			return Config{}, errors.New(msg)
		}
		block = v
	}
	if block == nil {
		return Config{}, nil
	}
	return parseBlock(path, block)
}

func parseBlock(path string, block *yaml.Node) (Config, error) {
	if block.Kind != yaml.MappingNode {
		return Config{}, fmt.Errorf("%s: backend: want a mapping like `{type: s3, bucket: ...}`, got %s", at(path, block), kindName(block))
	}
	raw := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(block.Content); i += 2 {
		k, v := block.Content[i], block.Content[i+1]
		if _, dup := raw[k.Value]; dup {
			return Config{}, fmt.Errorf("%s: backend.%s is set twice", at(path, k), k.Value)
		}
		raw[k.Value], keys[k.Value] = v, k
		order = append(order, k.Value)
	}
	tnode, ok := raw["type"]
	if !ok {
		return Config{}, fmt.Errorf("%s: backend: missing `type` (one of %s)", at(path, block), strings.Join(typeNames(), ", "))
	}
	if tnode.Kind != yaml.ScalarNode {
		return Config{}, fmt.Errorf("%s: backend.type: want a name (one of %s)", at(path, tnode), strings.Join(typeNames(), ", "))
	}
	c := Config{Type: tnode.Value, Fields: map[string]string{}, Source: at(path, block)}
	t, ok := Types[c.Type]
	if !ok {
		return Config{}, unknownType(at(path, tnode)+": backend.type", c.Type)
	}
	for _, name := range order {
		if name == "type" {
			continue
		}
		f, ok := field(t, name)
		v := raw[name]
		if !ok {
			return Config{}, unknownField(at(path, keys[name]), c.Type, name, t)
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return Config{}, fmt.Errorf("%s: backend.%s: want a %s, got %s", at(path, v), name, want(f), kindName(v))
		}
		val, err := scalar(f, v.Value)
		if err != nil {
			return Config{}, fmt.Errorf("%s: backend.%s: %v", at(path, v), name, err)
		}
		c.Fields[name] = val
	}
	if err := checkRequired(c, t); err != nil {
		return Config{}, fmt.Errorf("%s: %w", at(path, block), err)
	}
	return c, nil
}

// ParseEnv decodes REGIONCTL_BACKEND and REGIONCTL_BACKEND_CONFIG
// ("bucket=acme,prefix=prod").
func ParseEnv(typ, settings string) (Config, error) {
	src := "$" + EnvType
	t, ok := Types[typ]
	if !ok {
		return Config{}, unknownType(src, typ)
	}
	c := Config{Type: typ, Fields: map[string]string{}, Source: src}
	for _, kv := range strings.Split(settings, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return Config{}, fmt.Errorf("$%s: %q: want KEY=VALUE pairs separated by commas", EnvConfig, kv)
		}
		f, ok := field(t, name)
		if !ok {
			return Config{}, unknownField("$"+EnvConfig, typ, name, t)
		}
		if _, dup := c.Fields[name]; dup {
			return Config{}, fmt.Errorf("$%s: %s is set twice", EnvConfig, name)
		}
		v, err := scalar(f, val)
		if err != nil {
			return Config{}, fmt.Errorf("$%s: %s: %v", EnvConfig, name, err)
		}
		c.Fields[name] = v
	}
	if err := checkRequired(c, t); err != nil {
		return Config{}, fmt.Errorf("$%s: %w", EnvConfig, err)
	}
	return c, nil
}

func field(t Type, name string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func scalar(f Field, v string) (string, error) {
	if !f.Bool {
		if v == "" {
			return "", errors.New("empty value: remove the setting or give a value")
		}
		return v, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return "", fmt.Errorf("want true or false, got %q", v)
	}
	return strconv.FormatBool(b), nil
}

func checkRequired(c Config, t Type) error {
	for _, f := range t.Fields {
		if f.Required && c.Get(f.Name) == "" {
			return fmt.Errorf("backend %s: missing %s (%s)", c.Type, f.Name, f.Help)
		}
	}
	return nil
}

func unknownType(where, typ string) error {
	msg := fmt.Sprintf("%s: unknown backend type %q: use one of %s", where, typ, strings.Join(typeNames(), ", "))
	if s, ok := spec.DidYouMean(typ, typeNames()); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return errors.New(msg)
}

func unknownField(where, typ, name string, t Type) error {
	names := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		names[i] = f.Name
	}
	msg := fmt.Sprintf("%s: backend %s has no setting %q (it has %s)", where, typ, name, strings.Join(names, ", "))
	if s, ok := spec.DidYouMean(name, names); ok {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return errors.New(msg)
}

func want(f Field) string {
	if f.Bool {
		return "true or false"
	}
	return "string"
}

func at(path string, n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", path, n.Line, n.Column) }

func kindName(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "nothing (null)"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
