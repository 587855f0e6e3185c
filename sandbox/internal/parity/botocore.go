package parity

import (
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Botocore holds botocore's JSON service models (botocore/data/SERVICE/
// VERSION/service-2.json[.gz]): the descriptions AWS publishes for its SDKs
// and CLI, with every operation's HTTP binding, input, output and errors,
// and every shape's members, required members, enumerations and limits.
type Botocore struct {
	Version  string               // botocore's version, for reports
	Services map[string]*AWSModel // by endpoint prefix: "ec2", "iam", "sts", "eks"
}

// AWSModel is one service's model.
type AWSModel struct {
	Metadata struct {
		APIVersion     string `json:"apiVersion"`
		EndpointPrefix string `json:"endpointPrefix"`
		Protocol       string `json:"protocol"` // "ec2", "query", "rest-json", "json"
	} `json:"metadata"`
	Operations map[string]*awsOperation `json:"operations"`
	Shapes     map[string]*awsShape     `json:"shapes"`
}

type awsOperation struct {
	Name string `json:"name"`
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Output *struct {
		Shape         string `json:"shape"`
		ResultWrapper string `json:"resultWrapper"`
	} `json:"output"`
	Errors []struct {
		Shape string `json:"shape"`
	} `json:"errors"`
}

type awsShape struct {
	Type      string                `json:"type"`
	Members   map[string]*awsMember `json:"members"`
	Required  []string              `json:"required"`
	Member    *awsMember            `json:"member"`
	Key       *awsMember            `json:"key"`
	Value     *awsMember            `json:"value"`
	Enum      []string              `json:"enum"`
	Min       *float64              `json:"min"`
	Max       *float64              `json:"max"`
	Flattened bool                  `json:"flattened"`
	Format    string                `json:"timestampFormat"`
	Error     *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
	} `json:"error"`
	Exception bool `json:"exception"`
}

type awsMember struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
	Location     string `json:"location"`
	Flattened    bool   `json:"flattened"`
	Format       string `json:"timestampFormat"`
}

// LoadBotocore reads the newest model of each service from botocore's data
// directory.
func LoadBotocore(dataDir, version string, services ...string) (*Botocore, error) {
	b := &Botocore{Version: version, Services: map[string]*AWSModel{}}
	for _, svc := range services {
		versions, err := filepath.Glob(filepath.Join(dataDir, svc, "*", "service-2.json*"))
		if err != nil || len(versions) == 0 {
			return nil, fmt.Errorf("botocore %s: no model of %s under %s", version, svc, dataDir)
		}
		sort.Strings(versions)
		m, err := readAWSModel(versions[len(versions)-1])
		if err != nil {
			return nil, fmt.Errorf("botocore %s: %w", version, err)
		}
		b.Services[svc] = m
	}
	return b, nil
}

func readAWSModel(path string) (*AWSModel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = gz
	}
	var m AWSModel
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, op := range m.Operations {
		if op.Name == "" {
			op.Name = name
		}
	}
	return &m, nil
}

// Operations lists "service:Operation" for every operation of every
// loaded service.
func (b *Botocore) Operations() []string {
	var out []string
	for svc, m := range b.Services {
		for name := range m.Operations {
			out = append(out, svc+":"+name)
		}
	}
	sort.Strings(out)
	return out
}

// Identify names the operation of an exchange, "service:Operation", or ""
// when no loaded model has it: the form's Action and Version for the query
// protocols, else the method and path matched against the rest-json
// services' URI templates (the one with the most literal text wins).
func (b *Botocore) Identify(method, rawURL string, reqBody []byte) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	if form, err := url.ParseQuery(string(reqBody)); err == nil && form.Get("Action") != "" {
		for svc, m := range b.Services {
			if m.Metadata.APIVersion == form.Get("Version") && m.Operations[form.Get("Action")] != nil {
				return svc + ":" + form.Get("Action")
			}
		}
		return ""
	}
	best, bestLit := "", -1
	for svc, m := range b.Services {
		if m.Metadata.Protocol != "rest-json" {
			continue
		}
		for name, op := range m.Operations {
			if op.HTTP.Method != method {
				continue
			}
			re, lit := uriTemplate(op.HTTP.RequestURI)
			if re.MatchString(u.EscapedPath()) && lit > bestLit {
				best, bestLit = svc+":"+name, lit
			}
		}
	}
	return best
}

var labelRE = regexp.MustCompile(`\{[^}]+\}`)

// uriTemplate turns "/clusters/{name}/node-groups/{nodegroupName}" into a
// path pattern (query part dropped; {label+} spans segments) and counts
// its literal characters.
func uriTemplate(t string) (*regexp.Regexp, int) {
	pattern, lit := templatePattern(t)
	return regexp.MustCompile(`^` + pattern + `$`), lit
}

// templatePattern is uriTemplate's pattern, unanchored.
func templatePattern(t string) (string, int) {
	t, _, _ = strings.Cut(t, "?")
	lit := len(labelRE.ReplaceAllString(t, ""))
	var b strings.Builder
	last := 0
	for _, loc := range labelRE.FindAllStringIndex(t, -1) {
		b.WriteString(regexp.QuoteMeta(t[last:loc[0]]))
		if strings.HasSuffix(t[loc[0]:loc[1]], "+}") {
			b.WriteString(`.+`)
		} else {
			b.WriteString(`[^/]+`)
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(t[last:]))
	return b.String(), lit
}

// commonAWSErrors are the errors every AWS API may return and no
// operation lists: AWS's "Common Errors" (authentication, throttling,
// malformed requests), with the JSON protocols' …Exception spellings.
var commonAWSErrors = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "IncompleteSignature": true, "IncompleteSignatureException": true,
	"InternalFailure": true, "InvalidAction": true, "InvalidClientTokenId": true, "MissingAuthenticationToken": true,
	"MissingAuthenticationTokenException": true, "RequestExpired": true, "ServiceUnavailable": true, "Throttling": true,
	"ThrottlingException": true, "ValidationError": true, "SignatureDoesNotMatch": true, "UnrecognizedClientException": true,
	"InvalidSignatureException": true, "NotAuthorized": true, "MalformedQueryString": true,
}

// Check checks one exchange of operation op ("eks:DescribeCluster")
// against its model: a success reply against the output shape, an error
// reply's code against the errors the operation models (EC2 models none),
// and a rest-json error body against its error shape.
func (b *Botocore) Check(op string, ex Exchange) []Mismatch {
	svc, name, _ := strings.Cut(op, ":")
	m := b.Services[svc]
	if m == nil || m.Operations[name] == nil {
		return []Mismatch{{Op: op, Kind: Unmodel, Detail: "botocore has no such operation"}}
	}
	c := &awsChecker{findings: findings{op: op}, m: m}
	o := m.Operations[name]
	if ex.Status >= 300 {
		c.checkError(o, ex)
		return c.found
	}
	switch m.Metadata.Protocol {
	case "rest-json", "json":
		if o.Output == nil {
			if len(strings.TrimSpace(string(ex.Body))) > 2 {
				c.add("", Unknown, "a body %q for an operation without output", ex.Body)
			}
			break
		}
		v, err := decodeJSON(ex.Body)
		if err != nil {
			c.add("", Type, "reply is not JSON: %v", err)
			break
		}
		c.json("", v, &awsMember{Shape: o.Output.Shape})
	case "query", "ec2":
		root, err := parseXML(ex.Body)
		if err != nil {
			c.add("", Type, "reply is not XML: %v", err)
			break
		}
		c.queryReply(o, root)
	default:
		c.add("", Unmodel, "protocol %q is not checked", m.Metadata.Protocol)
	}
	return c.found
}

type awsChecker struct {
	findings
	m *AWSModel
}

func (c *awsChecker) shape(path, name string) *awsShape {
	s := c.m.Shapes[name]
	if s == nil {
		c.add(path, Unmodel, "shape %s is not in the model", name)
	}
	return s
}

// checkError checks an error reply's code and (rest-json) body.
func (c *awsChecker) checkError(o *awsOperation, ex Exchange) {
	var code string
	var body any
	switch c.m.Metadata.Protocol {
	case "rest-json", "json":
		code, _, _ = strings.Cut(ex.Header.Get("X-Amzn-Errortype"), ":")
		v, err := decodeJSON(ex.Body)
		if err != nil {
			c.add("", Type, "error reply is not JSON: %v", err)
			return
		}
		body = v
	default:
		root, err := parseXML(ex.Body)
		if err != nil {
			c.add("", Type, "error reply is not XML: %v", err)
			return
		}
		if e := root.find("Errors", "Error", "Code"); e != nil {
			code = e.text
		} else if e := root.find("Error", "Code"); e != nil {
			code = e.text
		}
	}
	if code == "" {
		c.add("", Type, "an error reply (%d) without an error code", ex.Status)
		return
	}
	if c.m.Metadata.Protocol == "ec2" || commonAWSErrors[code] {
		return // EC2 models no errors; the common ones are on every operation
	}
	for _, e := range o.Errors {
		s := c.m.Shapes[e.Shape]
		if s == nil || (e.Shape != code && (s.Error == nil || s.Error.Code != code)) {
			continue
		}
		if s.Error != nil && s.Error.HTTPStatusCode != 0 && s.Error.HTTPStatusCode != ex.Status {
			c.add("", Type, "error %s with HTTP status %d, modelled %d", code, ex.Status, s.Error.HTTPStatusCode)
		}
		if body != nil {
			if obj, ok := body.(map[string]any); ok {
				delete(obj, "__type")
				delete(obj, "code")
				delete(obj, "Message") // the JSON protocols' error parsers read Message or message
			}
			c.json("", body, &awsMember{Shape: e.Shape})
		}
		return
	}
	c.add("", Error, "error code %s (%d) is not one the operation models", code, ex.Status)
}

// json checks a decoded JSON value against a member's shape.
func (c *awsChecker) json(path string, v any, mem *awsMember) {
	s := c.shape(path, mem.Shape)
	if s == nil {
		return
	}
	if v == nil {
		c.add(path, Type, "null (AWS leaves absent members out)")
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			c.add(path, Type, "%s, want an object (%s)", jsonKind(v), mem.Shape)
			return
		}
		byWire := map[string]string{}
		for name, m := range s.Members {
			if m.Location != "" {
				continue // header, status code: not in the body
			}
			byWire[wireName(name, m)] = name
		}
		for k, x := range obj {
			name, ok := byWire[k]
			if !ok {
				c.add(join(path, k), Unknown, "%s has no member %q", mem.Shape, k)
				continue
			}
			c.json(join(path, k), x, s.Members[name])
		}
		for _, r := range s.Required {
			if m := s.Members[r]; m != nil && m.Location == "" {
				if _, ok := obj[wireName(r, m)]; !ok {
					c.add(join(path, wireName(r, m)), Missing, "%s requires %s", mem.Shape, r)
				}
			}
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			c.add(path, Type, "%s, want an array (%s)", jsonKind(v), mem.Shape)
			return
		}
		c.count(path, s, len(l), "items")
		for i, x := range l {
			c.json(fmt.Sprintf("%s[%d]", path, i), x, s.Member)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			c.add(path, Type, "%s, want an object (map %s)", jsonKind(v), mem.Shape)
			return
		}
		for k, x := range obj {
			c.scalar(path+"{key}", k, s.Key, c.m.Shapes[s.Key.Shape])
			c.json(path+"["+k+"]", x, s.Value)
		}
	case "timestamp":
		format := firstNonEmpty(mem.Format, s.Format, "unixTimestamp")
		if format == "unixTimestamp" {
			if _, ok := v.(json.Number); !ok {
				c.add(path, Type, "%s, want a timestamp in epoch seconds", jsonKind(v))
			}
			return
		}
		c.jsonScalar(path, v, mem, s)
	default:
		c.jsonScalar(path, v, mem, s)
	}
}

func (c *awsChecker) jsonScalar(path string, v any, mem *awsMember, s *awsShape) {
	switch x := v.(type) {
	case string:
		c.scalar(path, x, mem, s)
	case json.Number:
		if s.Type == "string" || s.Type == "blob" || s.Type == "timestamp" {
			c.add(path, Type, "a number, want %s (%s)", s.Type, mem.Shape)
			return
		}
		c.scalar(path, x.String(), mem, s)
	case bool:
		if s.Type != "boolean" {
			c.add(path, Type, "a boolean, want %s (%s)", s.Type, mem.Shape)
		}
	default:
		if s.Type != "document" {
			c.add(path, Type, "%s, want %s (%s)", jsonKind(v), s.Type, mem.Shape)
		}
	}
}

// scalar checks the text of a scalar (an XML element's, a JSON string's or
// number's) against its shape.
func (c *awsChecker) scalar(path, text string, mem *awsMember, s *awsShape) {
	if s == nil {
		return
	}
	if p := scalarProblem(s.Type, firstNonEmpty(mem.Format, s.Format), text); p != "" {
		c.add(path, Type, "%q: %s (%s)", text, p, mem.Shape)
		return
	}
	if len(s.Enum) > 0 && !contains(s.Enum, text) {
		c.add(path, Enum, "%q is not one of %s's values %v", text, mem.Shape, s.Enum)
	}
	switch s.Type {
	case "string":
		c.count(path, s, len([]rune(text)), "characters")
	case "integer", "long":
		var n float64
		fmt.Sscan(text, &n)
		if (s.Min != nil && n < *s.Min) || (s.Max != nil && n > *s.Max) {
			c.add(path, Type, "%s is outside %s's range [%s, %s]", text, mem.Shape, bound(s.Min), bound(s.Max))
		}
	}
}

func (c *awsChecker) count(path string, s *awsShape, n int, what string) {
	if (s.Min != nil && float64(n) < *s.Min) || (s.Max != nil && float64(n) > *s.Max) {
		c.add(path, Type, "%d %s, outside [%s, %s]", n, what, bound(s.Min), bound(s.Max))
	}
}

func bound(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprint(*f)
}

// queryReply checks an ec2 or query (awsQuery) XML reply: EC2's
// <OpResponse> holds requestId and the output members; awsQuery's holds
// <OpResult> (the resultWrapper) and ResponseMetadata.
func (c *awsChecker) queryReply(o *awsOperation, root *xnode) {
	if root.name != o.Name+"Response" {
		c.add("", Type, "root element <%s>, want <%sResponse>", root.name, o.Name)
	}
	result := root
	var extra []string
	if c.m.Metadata.Protocol == "ec2" {
		extra = []string{"requestId"}
	} else {
		extra = []string{"ResponseMetadata"}
		if o.Output != nil && o.Output.ResultWrapper != "" {
			extra = append(extra, o.Output.ResultWrapper)
			result = root.find(o.Output.ResultWrapper)
			if result == nil {
				c.add("", Missing, "no <%s>", o.Output.ResultWrapper)
				return
			}
		}
		for _, k := range root.kids {
			if !contains(extra, k.name) {
				c.add(k.name, Unknown, "<%s> in <%s>", k.name, root.name)
			}
		}
		if root.find("ResponseMetadata", "RequestId") == nil {
			c.add("ResponseMetadata", Missing, "no RequestId")
		}
	}
	if o.Output == nil {
		for _, k := range result.kids {
			if !contains(extra, k.name) {
				c.add(k.name, Unknown, "<%s> for an operation without output", k.name)
			}
		}
		return
	}
	c.xmlStruct("", result, o.Output.Shape, extra)
}

// xmlStruct checks the children of n against structure shape name
// (skipping the element names in skip).
func (c *awsChecker) xmlStruct(path string, n *xnode, name string, skip []string) {
	s := c.shape(path, name)
	if s == nil {
		return
	}
	if s.Type != "structure" {
		c.add(path, Type, "shape %s is a %s, not a structure", name, s.Type)
		return
	}
	byWire := map[string]string{}
	for mname, m := range s.Members {
		byWire[c.xmlName(mname, m)] = mname
	}
	groups := map[string][]*xnode{}
	var order []string
	for _, k := range n.kids {
		if contains(skip, k.name) {
			continue
		}
		if _, ok := groups[k.name]; !ok {
			order = append(order, k.name)
		}
		groups[k.name] = append(groups[k.name], k)
	}
	for _, el := range order {
		p := join(path, el)
		mname, ok := byWire[el]
		if !ok {
			c.add(p, Unknown, "%s has no member serialized as <%s>", name, el)
			continue
		}
		m := s.Members[mname]
		ms := c.m.Shapes[m.Shape]
		if ms != nil && ms.Type == "list" && (ms.Flattened || m.Flattened) {
			for i, item := range groups[el] {
				c.xml(fmt.Sprintf("%s[%d]", p, i), item, ms.Member)
			}
			continue
		}
		if len(groups[el]) > 1 {
			c.add(p, Type, "<%s> appears %d times in a structure", el, len(groups[el]))
		}
		c.xml(p, groups[el][0], m)
	}
	for _, r := range s.Required {
		if m := s.Members[r]; m != nil && groups[c.xmlName(r, m)] == nil {
			c.add(join(path, c.xmlName(r, m)), Missing, "%s requires %s", name, r)
		}
	}
}

// xmlName is the element a member is serialized as: its locationName, a
// flattened list's item name, else the member name.
func (c *awsChecker) xmlName(name string, m *awsMember) string {
	if s := c.m.Shapes[m.Shape]; s != nil && s.Type == "list" && (s.Flattened || m.Flattened) && s.Member.LocationName != "" {
		return s.Member.LocationName
	}
	return wireName(name, m)
}

func (c *awsChecker) xml(path string, n *xnode, mem *awsMember) {
	s := c.shape(path, mem.Shape)
	if s == nil {
		return
	}
	switch s.Type {
	case "structure":
		c.xmlStruct(path, n, mem.Shape, nil)
	case "list":
		item := firstNonEmpty(s.Member.LocationName, "member")
		for i, k := range n.kids {
			if k.name != item {
				c.add(fmt.Sprintf("%s[%d]", path, i), Unknown, "list item <%s>, want <%s>", k.name, item)
				continue
			}
			c.xml(fmt.Sprintf("%s[%d]", path, i), k, s.Member)
		}
		c.count(path, s, len(n.kids), "items")
	case "map":
		key, value := firstNonEmpty(s.Key.LocationName, "key"), firstNonEmpty(s.Value.LocationName, "value")
		for i, e := range n.kids {
			p := fmt.Sprintf("%s[%d]", path, i)
			k, v := e.find(key), e.find(value)
			if e.name != "entry" || k == nil || v == nil {
				c.add(p, Type, "map entry <%s> without <%s> and <%s>", e.name, key, value)
				continue
			}
			c.scalar(p+"{key}", k.text, s.Key, c.m.Shapes[s.Key.Shape])
			c.xml(p, v, s.Value)
		}
	default:
		if len(n.kids) > 0 {
			c.add(path, Type, "<%s> has elements, want a %s (%s)", n.name, s.Type, mem.Shape)
			return
		}
		c.scalar(path, n.text, mem, s)
	}
}

func wireName(name string, m *awsMember) string { return firstNonEmpty(m.LocationName, name) }

func join(path, el string) string {
	if path == "" {
		return el
	}
	return path + "." + el
}

// xnode is an XML element: its local name, child elements and text.
type xnode struct {
	name string
	kids []*xnode
	text string
}

// find walks down the first child of each name.
func (n *xnode) find(names ...string) *xnode {
	for _, name := range names {
		var next *xnode
		for _, k := range n.kids {
			if k.name == name {
				next = k
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func parseXML(b []byte) (*xnode, error) {
	d := xml.NewDecoder(strings.NewReader(string(b)))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// ErrorCodeOf returns the AWS error code of an error reply, for tests that
// tell an unknown operation from a served one.
func ErrorCodeOf(ex Exchange) string {
	if code, _, _ := strings.Cut(ex.Header.Get("X-Amzn-Errortype"), ":"); code != "" {
		return code
	}
	if root, err := parseXML(ex.Body); err == nil {
		for _, p := range [][]string{{"Errors", "Error", "Code"}, {"Error", "Code"}} {
			if n := root.find(p...); n != nil {
				return n.text
			}
		}
	}
	return ""
}
