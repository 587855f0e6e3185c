package parity

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Azure holds the models of the Azure REST API specs, one set per
// package and api-version ("containerservice@2025-02-01"), as
// scripts/azure-models.js dumps them from the serialization mappers
// AutoRest generated into the @azure/arm-* npm packages (and
// scripts/azure-python-models.py from the msrest models of Debian's
// python3-azure): per model, each property's wire name (dotted when
// flattened out of "properties"), type, readOnly and required flags, closed
// enums' values and open enums' known values; and the operations.
type Azure struct {
	Specs map[string]*AzureSpec
}

// AzureSpec is one api-version's models and operations.
type AzureSpec struct {
	Package    string                 `json:"package"`
	APIVersion string                 `json:"apiVersion"`
	Models     map[string]*azureModel `json:"models"`
	Operations []*AzureOperation      `json:"operations"`

	trees map[string]*azNode
}

// AzureOperation is one operation of a spec: "managedClusters.get", its
// path template, HTTP method, and the model of its reply ("" for none).
type AzureOperation struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Method   string `json:"method"`
	Response string `json:"response"`

	re  *regexp.Regexp
	lit int
}

// Operation returns the operation a request (method, URL path) is, or
// nil; path segments match without regard to case, as in ARM, and the
// template with the most literal text wins.
func (s *AzureSpec) Operation(method, path string) *AzureOperation {
	var best *AzureOperation
	for _, o := range s.Operations {
		if o.re == nil {
			pattern, lit := templatePattern(strings.TrimSuffix(o.Path, "/"))
			o.re, o.lit = regexp.MustCompile(`(?i)^`+pattern+`/?$`), lit
		}
		if strings.EqualFold(o.Method, method) && o.re.MatchString(path) && (best == nil || o.lit > best.lit) {
			best = o
		}
	}
	return best
}

type azureModel struct {
	Properties           map[string]*azureProp `json:"properties"`
	AdditionalProperties *azureType            `json:"additionalProperties"`
}

type azureProp struct {
	SerializedName string     `json:"serializedName"`
	Type           *azureType `json:"type"`
	ReadOnly       bool       `json:"readOnly"`
	Required       bool       `json:"required"`
	Nullable       bool       `json:"nullable"`
}

type azureType struct {
	Name          string     `json:"name"`
	ClassName     string     `json:"className"`
	AllowedValues []any      `json:"allowedValues"` // strings, or numbers for numeric enums
	Known         []string   `json:"known"`
	Element       *azureType `json:"element"`
	Value         *azureType `json:"value"`
}

// azNode is one JSON object level of a model: the properties serialized
// at this level and the objects flattened properties sit in
// ("properties" for "properties.provisioningState").
type azNode struct {
	props map[string]*azureProp
	kids  map[string]*azNode
}

// LoadAzure reads every dump in dir.
func LoadAzure(dir string) (*Azure, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*@*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Azure models in %s (run %s)", dir, Script)
	}
	a := &Azure{Specs: map[string]*AzureSpec{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var s AzureSpec
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		s.trees = map[string]*azNode{}
		a.Specs[strings.TrimSuffix(filepath.Base(f), ".json")] = &s
	}
	return a, nil
}

// AzureModels loads the Azure models Script provides.
func AzureModels(t testing.TB) *Azure {
	t.Helper()
	a, err := LoadAzure(Sources(t)[EnvAzureModels])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Spec returns the models of package ("network") at apiVersion, or nil.
func (a *Azure) Spec(pkg, apiVersion string) *AzureSpec { return a.Specs[pkg+"@"+apiVersion] }

// Keys lists the loaded package@api-version keys, sorted.
func (a *Azure) Keys() []string {
	var out []string
	for k := range a.Specs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var unescapedDot = regexp.MustCompile(`(^|[^\\])\.`)

// splitWire splits a serialized name at its unescaped dots
// ("properties.provisioningState"; `\.` is a literal dot).
func splitWire(name string) []string {
	marked := unescapedDot.ReplaceAllString(name, "$1\x00")
	parts := strings.Split(marked, "\x00")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, `\.`, ".")
	}
	return parts
}

func (s *AzureSpec) tree(class string) *azNode {
	if t, ok := s.trees[class]; ok {
		return t
	}
	m := s.Models[class]
	if m == nil {
		return nil
	}
	root := &azNode{props: map[string]*azureProp{}, kids: map[string]*azNode{}}
	for _, p := range m.Properties {
		parts := splitWire(p.SerializedName)
		n := root
		for _, part := range parts[:len(parts)-1] {
			if n.kids[part] == nil {
				n.kids[part] = &azNode{props: map[string]*azureProp{}, kids: map[string]*azNode{}}
			}
			n = n.kids[part]
		}
		n.props[parts[len(parts)-1]] = p
	}
	s.trees[class] = root
	return root
}

// ErrorModel names the model of ARM's error reply ({"error": {"code",
// "message", …}}) in this spec: CloudError, or an ErrorResponse of that
// shape; "" when the spec has neither (msrest packages keep CloudError in
// azure-core, not among the models).
func (s *AzureSpec) ErrorModel() string {
	for _, name := range []string{"CloudError", "ErrorResponse"} {
		if t := s.tree(name); t != nil && t.props["error"] != nil {
			return name
		}
	}
	return ""
}

// Check checks a JSON reply of op against model class of this spec.
func (s *AzureSpec) Check(op, class string, body []byte) []Mismatch {
	c := &azChecker{findings: findings{op: op}, s: s}
	v, err := decodeJSON(body)
	if err != nil {
		c.add("", Type, "reply is not JSON: %v", err)
		return c.found
	}
	c.model(class, v, class)
	return c.found
}

type azChecker struct {
	findings
	s *AzureSpec
}

func (c *azChecker) model(path string, v any, class string) {
	t := c.s.tree(class)
	if t == nil {
		c.add(path, Unmodel, "%s %s has no model %s", c.s.Package, c.s.APIVersion, class)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.add(path, Type, "%s, want an object (%s)", jsonKind(v), class)
		return
	}
	c.node(path, obj, t, class)
}

func (c *azChecker) node(path string, obj map[string]any, n *azNode, class string) {
	for k, x := range obj {
		p := path + "." + k
		switch {
		case n.props[k] != nil:
			prop := n.props[k]
			if x == nil {
				if !prop.Nullable {
					c.add(p, Type, "null; the spec does not make it nullable (%s)", class)
				}
				continue
			}
			c.value(p, x, prop.Type, class)
		case n.kids[k] != nil:
			sub, ok := x.(map[string]any)
			if !ok {
				c.add(p, Type, "%s, want an object", jsonKind(x))
				continue
			}
			c.node(p, sub, n.kids[k], class)
		case c.s.Models[class].AdditionalProperties != nil && n == c.s.tree(class):
			c.value(p, x, c.s.Models[class].AdditionalProperties, class)
		default:
			c.add(p, Unknown, "%s has no property %q", class, k)
		}
	}
	for k, prop := range n.props {
		if _, ok := obj[k]; !ok && prop.Required {
			c.add(path+"."+k, Missing, "%s requires %s", class, prop.SerializedName)
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (c *azChecker) value(path string, v any, t *azureType, class string) {
	str, isStr := v.(string)
	want := func(kind string) { c.add(path, Type, "%s, want %s (%s)", jsonKind(v), kind, class) }
	switch t.Name {
	case "Composite":
		c.model(path, v, t.ClassName)
	case "Sequence":
		l, ok := v.([]any)
		if !ok {
			want("an array")
			return
		}
		for i, x := range l {
			c.value(fmt.Sprintf("%s[%d]", path, i), x, t.Element, class)
		}
	case "Dictionary":
		m, ok := v.(map[string]any)
		if !ok {
			want("an object")
			return
		}
		for k, x := range m {
			if x != nil {
				c.value(path+"["+k+"]", x, t.Value, class)
			}
		}
	case "String", "Enum":
		num, isNum := v.(json.Number)
		if !isStr && !(isNum && t.Name == "Enum") {
			want("a string")
			return
		}
		if len(t.AllowedValues) > 0 && !slices.ContainsFunc(t.AllowedValues, func(a any) bool {
			return (isStr && a == str) || (isNum && fmt.Sprint(a) == num.String())
		}) {
			c.add(path, Enum, "%v is not one of %v", v, t.AllowedValues)
		}
		if len(t.Known) > 0 && !contains(t.Known, str) {
			c.add(path, Enum, "%q is not one of the known values %v", str, t.Known)
		}
	case "Number":
		if _, ok := v.(json.Number); !ok {
			want("a number")
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			want("a boolean")
		}
	case "DateTime", "DateTimeRfc1123", "Date", "UnixTime", "ByteArray", "Base64Url", "Uuid", "TimeSpan":
		if !isStr {
			want("a string")
			return
		}
		var problem string
		switch t.Name {
		case "DateTime":
			problem = scalarProblem("date-time", "", str)
		case "Date":
			problem = scalarProblem("date", "", str)
		case "ByteArray", "Base64Url":
			problem = scalarProblem("byte", "", str)
		case "Uuid":
			if !uuidRE.MatchString(str) {
				problem = "not a UUID"
			}
		}
		if problem != "" {
			c.add(path, Type, "%q: %s (%s)", str, problem, class)
		}
	case "Object", "any":
	default:
		c.add(path, Unmodel, "mapper type %q is not checked", t.Name)
	}
}

// ReadOnlyProbe is the value the suite writes into every read-only string
// property of a request body: ARM and Google's APIs ignore read-only
// properties in a request, so it must never come back.
const ReadOnlyProbe = "parity-read-only-probe"

// ProbeReadOnly sets every read-only string property of class in body (a
// request, decoded) to ReadOnlyProbe, recursing into the objects and
// arrays body already holds, and returns how many it set.
func (s *AzureSpec) ProbeReadOnly(class string, body map[string]any) int {
	t := s.tree(class)
	if t == nil {
		return 0
	}
	return s.probeNode(body, t)
}

func (s *AzureSpec) probeNode(obj map[string]any, n *azNode) int {
	set := 0
	for k, p := range n.props {
		switch {
		case p.ReadOnly && p.Type.Name == "String" && len(p.Type.Known) == 0:
			obj[k] = ReadOnlyProbe
			set++
		case p.Type.Name == "Composite":
			if sub, ok := obj[k].(map[string]any); ok {
				set += s.ProbeReadOnly(p.Type.ClassName, sub)
			}
		case p.Type.Name == "Sequence" && p.Type.Element.Name == "Composite":
			if l, ok := obj[k].([]any); ok {
				for _, x := range l {
					if sub, ok := x.(map[string]any); ok {
						set += s.ProbeReadOnly(p.Type.Element.ClassName, sub)
					}
				}
			}
		}
	}
	for k, kid := range n.kids {
		sub, ok := obj[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			obj[k] = sub
		}
		set += s.probeNode(sub, kid)
	}
	return set
}

// CheckWrites checks a write's reply against its request: no read-only
// property carries ReadOnlyProbe (the request's value), and every writable
// property the request set is in the reply (ARM returns what was put, with
// the service's defaults added).
func (s *AzureSpec) CheckWrites(op, class string, request, reply []byte) []Mismatch {
	c := &azChecker{findings: findings{op: op}, s: s}
	req, err1 := decodeJSON(request)
	rep, err2 := decodeJSON(reply)
	if err1 != nil || err2 != nil {
		c.add("", Type, "request or reply is not JSON: %v %v", err1, err2)
		return c.found
	}
	c.writes(class, req, rep, class)
	return c.found
}

func (c *azChecker) writes(path string, req, rep any, class string) {
	if s, ok := rep.(string); ok && s == ReadOnlyProbe {
		c.add(path, ReadOnly, "the reply returns the request's value of a read-only property")
		return
	}
	switch r := req.(type) {
	case map[string]any:
		got, _ := rep.(map[string]any)
		t := c.s.tree(class)
		if t == nil {
			return
		}
		c.writesNode(path, r, got, t, class)
	}
}

func (c *azChecker) writesNode(path string, req, rep map[string]any, n *azNode, class string) {
	for k, x := range req {
		p := path + "." + k
		var got any
		present := false
		if rep != nil {
			got, present = rep[k]
		}
		switch {
		case n.props[k] != nil:
			prop := n.props[k]
			if prop.ReadOnly {
				if s, ok := got.(string); ok && s == ReadOnlyProbe {
					c.add(p, ReadOnly, "the reply returns the request's value of a read-only property")
				}
				continue
			}
			if !present && x != nil {
				c.add(p, Writable, "the request set it; the reply leaves it out")
				continue
			}
			switch prop.Type.Name {
			case "Composite":
				c.writes(p, x, got, prop.Type.ClassName)
			case "Sequence":
				rl, _ := x.([]any)
				gl, _ := got.([]any)
				if prop.Type.Element.Name == "Composite" && len(gl) >= len(rl) {
					for i := range rl {
						c.writes(fmt.Sprintf("%s[%d]", p, i), rl[i], gl[i], prop.Type.Element.ClassName)
					}
				}
			}
		case n.kids[k] != nil:
			sub, _ := x.(map[string]any)
			gsub, _ := got.(map[string]any)
			c.writesNode(p, sub, gsub, n.kids[k], class)
		}
	}
}
