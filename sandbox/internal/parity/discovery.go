package parity

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Discovery is one of Google's discovery documents (the description every
// discovery-based client and gcloud's generated clients are built from):
// each method's HTTP binding and response schema, each schema's properties
// with their types, formats and enums.
type Discovery struct {
	Name        string                `json:"name"` // "compute"
	Version     string                `json:"version"`
	Revision    string                `json:"revision"`
	ServicePath string                `json:"servicePath"` // "compute/v1/"
	Schemas     map[string]*gSchema   `json:"schemas"`
	Resources   map[string]*gResource `json:"resources"`

	methods []*gMethod
}

type gResource struct {
	Methods   map[string]*gMethod   `json:"methods"`
	Resources map[string]*gResource `json:"resources"`
}

type gMethod struct {
	ID         string `json:"id"`
	HTTPMethod string `json:"httpMethod"`
	Path       string `json:"path"`
	FlatPath   string `json:"flatPath"`
	Response   *struct {
		Ref string `json:"$ref"`
	} `json:"response"`

	re  *regexp.Regexp
	lit int
}

type gSchema struct {
	Ref                  string              `json:"$ref"`
	Type                 string              `json:"type"`
	Format               string              `json:"format"`
	Properties           map[string]*gSchema `json:"properties"`
	AdditionalProperties *gSchema            `json:"additionalProperties"`
	Items                *gSchema            `json:"items"`
	Enum                 []string            `json:"enum"`
	ReadOnly             bool                `json:"readOnly"`
}

var (
	apiModOnce sync.Once
	apiModDir  string
	apiModErr  error
)

// LoadDiscovery reads the discovery document of api/version from the copy
// google.golang.org/api (go.mod) ships in the module cache.
func LoadDiscovery(t testing.TB, api, version string) *Discovery {
	t.Helper()
	apiModOnce.Do(func() {
		var out []byte
		out, apiModErr = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
		apiModDir = strings.TrimSpace(string(out))
	})
	if apiModErr != nil || apiModDir == "" {
		t.Fatalf("find google.golang.org/api in the module cache: %v", apiModErr)
	}
	b, err := os.ReadFile(filepath.Join(apiModDir, api, version, api+"-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDiscovery(b)
	if err != nil {
		t.Fatalf("%s %s: %v", api, version, err)
	}
	return d
}

// ParseDiscovery reads a discovery document.
func ParseDiscovery(b []byte) (*Discovery, error) {
	var d Discovery
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	var walk func(r *gResource)
	walk = func(r *gResource) {
		for _, m := range r.Methods {
			t := m.FlatPath
			if t == "" {
				t = m.Path
			}
			m.re, m.lit = uriTemplate("/" + d.ServicePath + t)
			d.methods = append(d.methods, m)
		}
		for _, sub := range r.Resources {
			walk(sub)
		}
	}
	for _, r := range d.Resources {
		walk(r)
	}
	sort.Slice(d.methods, func(i, j int) bool { return d.methods[i].ID < d.methods[j].ID })
	return &d, nil
}

// Source names the document for reports: "compute v1 (discovery revision 20261106)".
func (d *Discovery) Source() string {
	return fmt.Sprintf("%s %s (discovery revision %s)", d.Name, d.Version, d.Revision)
}

// Methods lists every method: id, HTTP method and a path with each
// parameter replaced by fill(name).
func (d *Discovery) Methods(fill func(param string) string) [][3]string {
	var out [][3]string
	for _, m := range d.methods {
		t := m.FlatPath
		if t == "" {
			t = m.Path
		}
		path := labelRE.ReplaceAllStringFunc(t, func(s string) string { return fill(strings.Trim(s, "{}+")) })
		out = append(out, [3]string{m.ID, m.HTTPMethod, "/" + d.ServicePath + path})
	}
	return out
}

// Identify names the method of a request (HTTP method and URL path), or ""
// when the document has none; the template with the most literal text wins
// (so ".../nodePools/{id}:setSize" beats ".../nodePools/{id}").
func (d *Discovery) Identify(method, path string) string {
	best, bestLit := "", -1
	for _, m := range d.methods {
		if m.HTTPMethod == method && m.re.MatchString(path) && m.lit > bestLit {
			best, bestLit = m.ID, m.lit
		}
	}
	return best
}

// Check checks a successful reply of method id against the method's
// response schema: every member a property of the schema, of its type and
// format (int64 as a decimal string, timestamps RFC 3339, bytes base64),
// every enum value one the schema lists.
func (d *Discovery) Check(id string, body []byte) []Mismatch {
	c := &gChecker{findings: findings{op: id}, d: d}
	var m *gMethod
	for _, x := range d.methods {
		if x.ID == id {
			m = x
		}
	}
	if m == nil {
		c.add("", Unmodel, "%s has no method %s", d.Source(), id)
		return c.found
	}
	if m.Response == nil {
		if s := strings.TrimSpace(string(body)); s != "" && s != "{}" {
			c.add("", Unknown, "a body %q for a method without a response", s)
		}
		return c.found
	}
	v, err := decodeJSON(body)
	if err != nil {
		c.add("", Type, "reply is not JSON: %v", err)
		return c.found
	}
	c.check(m.Response.Ref, v, &gSchema{Ref: m.Response.Ref})
	return c.found
}

// CheckSchema checks a decoded JSON value against a named schema.
func (d *Discovery) CheckSchema(schema string, v any) []Mismatch {
	c := &gChecker{findings: findings{op: schema}, d: d}
	c.check(schema, v, &gSchema{Ref: schema})
	return c.found
}

type gChecker struct {
	findings
	d *Discovery
}

func (c *gChecker) check(path string, v any, s *gSchema) {
	for s.Ref != "" {
		ref := s.Ref
		if s = c.d.Schemas[ref]; s == nil {
			c.add(path, Unmodel, "schema %s not found", ref)
			return
		}
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			c.add(path, Type, "%s, want an object", jsonKind(v))
			return
		}
		for k, x := range m {
			switch {
			case s.Properties[k] != nil:
				c.check(path+"."+k, x, s.Properties[k])
			case s.AdditionalProperties != nil:
				c.check(path+"["+k+"]", x, s.AdditionalProperties)
			default:
				c.add(path+"."+k, Unknown, "member %q is not in the schema", k)
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			c.add(path, Type, "%s, want an array", jsonKind(v))
			return
		}
		for i, x := range l {
			c.check(fmt.Sprintf("%s[%d]", path, i), x, s.Items)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			c.add(path, Type, "%s, want a string (format %q)", jsonKind(v), s.Format)
			return
		}
		if p := scalarProblem(s.Format, "", str); p != "" {
			c.add(path, Type, "%q: %s (format %s)", str, p, s.Format)
		}
		if s.Format == "google-duration" && !durationRE.MatchString(str) {
			c.add(path, Type, "%q is not a duration like \"3.5s\"", str)
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			c.add(path, Enum, "%q is not one of %v", str, s.Enum)
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			c.add(path, Type, "%s, want a number (format %q)", jsonKind(v), s.Format)
			return
		}
		format := s.Format
		if format == "" {
			format = map[string]string{"integer": "int64", "number": "double"}[s.Type]
		}
		if p := scalarProblem(format, "", n.String()); p != "" {
			c.add(path, Type, "%s: %s (format %s)", n, p, format)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.add(path, Type, "%s, want a boolean", jsonKind(v))
		}
	case "any", "":
	default:
		c.add(path, Unmodel, "unknown schema type %q", s.Type)
	}
}

var durationRE = regexp.MustCompile(`^-?\d+(\.\d{1,9})?s$`)

// ProbeReadOnly sets every read-only ("Output only") property of schema
// that is a plain string (no format, no enum) in body — and in the
// objects and arrays body already holds — to ReadOnlyProbe, and returns
// how many it set.
func (d *Discovery) ProbeReadOnly(schema string, body map[string]any) int {
	s := d.Schemas[schema]
	if s == nil {
		return 0
	}
	set := 0
	for k, p := range s.Properties {
		switch {
		case p.ReadOnly && p.Type == "string" && p.Format == "" && len(p.Enum) == 0:
			body[k] = ReadOnlyProbe
			set++
		case p.Ref != "":
			if sub, ok := body[k].(map[string]any); ok {
				set += d.ProbeReadOnly(p.Ref, sub)
			}
		case p.Type == "array" && p.Items != nil && p.Items.Ref != "":
			if l, ok := body[k].([]any); ok {
				for _, x := range l {
					if sub, ok := x.(map[string]any); ok {
						set += d.ProbeReadOnly(p.Items.Ref, sub)
					}
				}
			}
		}
	}
	return set
}

// EchoedProbes reports every place a reply carries ReadOnlyProbe: a
// read-only property the service took from the request.
func EchoedProbes(op string, reply []byte) []Mismatch {
	f := findings{op: op}
	v, err := decodeJSON(reply)
	if err != nil {
		f.add("", Type, "reply is not JSON: %v", err)
		return f.found
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				walk(path+"."+k, y)
			}
		case []any:
			for i, y := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), y)
			}
		case string:
			if x == ReadOnlyProbe {
				f.add(path, ReadOnly, "the reply returns the request's value of a read-only property")
			}
		}
	}
	walk(op, v)
	return f.found
}
