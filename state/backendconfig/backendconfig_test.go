package backendconfig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regionctl/regionctl/state/local"
	"github.com/regionctl/regionctl/state/s3"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Config
		wantErr string
	}{
		{name: "empty file", yaml: "", want: Config{}},
		{name: "no backend block", yaml: "# nothing\n", want: Config{}},
		{
			name: "s3",
			yaml: "backend:\n  type: s3\n  bucket: acme\n  prefix: prod\n  region: eu-west-1\n  endpoint: http://127.0.0.1:9000\n  kmsKeyId: alias/state\n  pathStyle: true\n",
			want: Config{Type: "s3", Source: "r.yaml:2:3", Fields: map[string]string{
				"bucket": "acme", "prefix": "prod", "region": "eu-west-1", "endpoint": "http://127.0.0.1:9000",
				"kmsKeyId": "alias/state", "pathStyle": "true",
			}},
		},
		{
			name: "flow style gcs",
			yaml: "backend: {type: gcs, bucket: acme, prefix: p}\n",
			want: Config{Type: "gcs", Source: "r.yaml:1:10", Fields: map[string]string{"bucket": "acme", "prefix": "p"}},
		},
		{
			name: "azblob",
			yaml: "backend:\n  type: azblob\n  account: acme\n  container: state\n",
			want: Config{Type: "azblob", Source: "r.yaml:2:3", Fields: map[string]string{"account": "acme", "container": "state"}},
		},
		{
			name: "local",
			yaml: "backend:\n  type: local\n  dir: /srv/state\n",
			want: Config{Type: "local", Source: "r.yaml:2:3", Fields: map[string]string{"dir": "/srv/state"}},
		},
		{name: "typo in field", yaml: "backend:\n  type: s3\n  bucekt: acme\n", wantErr: `r.yaml:3:3: backend s3 has no setting "bucekt" (it has bucket, prefix, region, endpoint, kmsKeyId, pathStyle); did you mean "bucket"?`},
		{name: "field of another type", yaml: "backend:\n  type: gcs\n  bucket: b\n  region: x\n", wantErr: `r.yaml:4:3: backend gcs has no setting "region"`},
		{name: "unknown type", yaml: "backend:\n  type: s4\n", wantErr: `r.yaml:2:9: backend.type: unknown backend type "s4": use one of azblob, gcs, local, s3 (did you mean "s3"?)`},
		{name: "missing type", yaml: "backend:\n  bucket: b\n", wantErr: "r.yaml:2:3: backend: missing `type`"},
		{name: "missing required", yaml: "backend:\n  type: s3\n  prefix: p\n", wantErr: "r.yaml:2:3: backend s3: missing bucket (S3 bucket)"},
		{name: "bad bool", yaml: "backend:\n  type: s3\n  bucket: b\n  pathStyle: maybe\n", wantErr: `r.yaml:4:14: backend.pathStyle: want true or false, got "maybe"`},
		{name: "list value", yaml: "backend:\n  type: s3\n  bucket: [a, b]\n", wantErr: "r.yaml:3:11: backend.bucket: want a string, got a list"},
		{name: "null value", yaml: "backend:\n  type: s3\n  bucket:\n", wantErr: "backend.bucket: want a string, got nothing (null)"},
		{name: "duplicate", yaml: "backend:\n  type: s3\n  bucket: a\n  bucket: b\n", wantErr: "r.yaml:4:3: backend.bucket is set twice"},
		{name: "unknown top-level key", yaml: "backnd:\n  type: s3\n", wantErr: `r.yaml:1:1: unknown key "backnd": regionctl.yaml holds only a ` + "`backend`" + ` block (did you mean "backend"?)`},
		{name: "not a mapping", yaml: "- a\n", wantErr: "r.yaml:1:1: want a mapping with a `backend` key, got a list"},
		{name: "backend not a mapping", yaml: "backend: s3\n", wantErr: "r.yaml:1:10: backend: want a mapping like"},
		{name: "bad yaml", yaml: "backend: {type: s3\n", wantErr: "r.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile("r.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name, typ, settings string
		want                map[string]string
		wantErr             string
	}{
		{name: "s3", typ: "s3", settings: "bucket=acme, prefix=prod,pathStyle=true", want: map[string]string{"bucket": "acme", "prefix": "prod", "pathStyle": "true"}},
		{name: "local without settings", typ: "local", settings: "", want: map[string]string{}},
		{name: "unknown type", typ: "gsc", wantErr: `$REGIONCTL_BACKEND: unknown backend type "gsc": use one of azblob, gcs, local, s3 (did you mean "gcs"?)`},
		{name: "unknown key", typ: "gcs", settings: "bucket=a,prefx=b", wantErr: `$REGIONCTL_BACKEND_CONFIG: backend gcs has no setting "prefx" (it has bucket, prefix); did you mean "prefix"?`},
		{name: "not key=value", typ: "gcs", settings: "bucket", wantErr: `$REGIONCTL_BACKEND_CONFIG: "bucket": want KEY=VALUE`},
		{name: "missing required", typ: "azblob", settings: "account=a", wantErr: "$REGIONCTL_BACKEND_CONFIG: backend azblob: missing container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnv(tt.typ, tt.settings)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Fields); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(FileName, "backend: {type: gcs, bucket: from-file}\n")
	flagFile := write("other.yaml", "backend: {type: s3, bucket: from-flag}\n")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name       string
		o          Options
		wantType   string
		wantSource string
		wantErr    string
	}{
		{name: "flag wins", o: Options{File: flagFile, Dir: dir, Getenv: env(map[string]string{EnvType: "azblob", EnvConfig: "container=c"})}, wantType: "s3", wantSource: flagFile + ":1:10"},
		{name: "env over file", o: Options{Dir: dir, Getenv: env(map[string]string{EnvType: "azblob", EnvConfig: "container=c"})}, wantType: "azblob", wantSource: "$REGIONCTL_BACKEND"},
		{name: "file", o: Options{Dir: dir, Getenv: env(nil)}, wantType: "gcs", wantSource: filepath.Join(dir, FileName) + ":1:10"},
		{name: "default local", o: Options{Dir: t.TempDir(), StateDir: "sd", Getenv: env(nil)}, wantType: "local", wantSource: "default"},
		{name: "config without type", o: Options{Dir: dir, Getenv: env(map[string]string{EnvConfig: "bucket=x"})}, wantErr: "$REGIONCTL_BACKEND_CONFIG is set but $REGIONCTL_BACKEND is not"},
		{name: "missing flag file", o: Options{File: filepath.Join(dir, "nope.yaml"), Getenv: env(nil)}, wantErr: "--backend-config: open"},
		{name: "flag file without block", o: Options{File: write("empty.yaml", "# none\n"), Getenv: env(nil)}, wantErr: "no backend block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Resolve(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Type != tt.wantType || c.Source != tt.wantSource {
				t.Fatalf("Resolve = type %q source %q, want %q %q", c.Type, c.Source, tt.wantType, tt.wantSource)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	c, err := Resolve(Options{Dir: t.TempDir(), StateDir: "x/state", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lb, ok := b.(*local.Backend); !ok || lb.Dir() != "x/state" {
		t.Fatalf("default backend = %#v, want local in x/state", b)
	}
	c, err = ParseEnv("s3", "bucket=acme,prefix=/team/,region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err = Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, ok := b.(*s3.Backend)
	if !ok || sb.Bucket() != "acme" || sb.Prefix() != "team/" {
		t.Fatalf("s3 backend = %#v, want bucket acme prefix team/", b)
	}
	if _, err := Open(ctx, Config{Type: "nope", Source: "x.yaml:1:1"}, nil); err == nil || !strings.Contains(err.Error(), "x.yaml:1:1: unknown backend type") {
		t.Fatalf("Open of an unknown type: err = %v", err)
	}
}
