package gcp

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// HTTP/JSON to gRPC transcoding as Google's API front ends do it, by a
// method's google.api.http rule (google/api/http.proto): the path template
// binds fields, then the body ("*" or one field) or the query string the
// rest; protojson reads the JSON (lowerCamelCase or proto names).

// pathTemplate is a parsed http rule path: one entry per path segment, a
// literal or "*", with the variables that bind segment ranges to fields.
type pathTemplate struct {
	segs []string
	vars []pathVar
	verb string
}

type pathVar struct {
	field      string
	start, end int // segs[start:end]
}

// parseTemplate parses "/v1/{name=projects/*/locations/*}/clusters:verb".
func parseTemplate(t string) (pathTemplate, error) {
	var pt pathTemplate
	t = strings.TrimPrefix(t, "/")
	// The verb follows the last ':' outside braces.
	if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "}") {
		t, pt.verb = t[:i], t[i+1:]
	}
	for t != "" {
		if strings.HasPrefix(t, "{") {
			end := strings.Index(t, "}")
			if end < 0 {
				return pt, fmt.Errorf("unclosed variable in %q", t)
			}
			field, pattern, ok := strings.Cut(t[1:end], "=")
			if !ok {
				pattern = "*"
			}
			v := pathVar{field: field, start: len(pt.segs)}
			pt.segs = append(pt.segs, strings.Split(pattern, "/")...)
			v.end = len(pt.segs)
			pt.vars = append(pt.vars, v)
			t = strings.TrimPrefix(t[end+1:], "/")
			continue
		}
		seg, rest, _ := strings.Cut(t, "/")
		pt.segs = append(pt.segs, seg)
		t = rest
	}
	return pt, nil
}

// match binds path to the template's fields; ok false when it does not fit.
func (pt pathTemplate) match(escapedPath string) (map[string]string, bool) {
	p := strings.TrimPrefix(escapedPath, "/")
	last := p[strings.LastIndex(p, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		if last[i+1:] != pt.verb {
			return nil, false
		}
		p = p[:len(p)-len(last)+i]
	} else if pt.verb != "" {
		return nil, false
	}
	parts := strings.Split(p, "/")
	if len(parts) != len(pt.segs) {
		return nil, false
	}
	for i, s := range pt.segs {
		u, err := url.PathUnescape(parts[i])
		if err != nil || u == "" || (s != "*" && s != u) {
			return nil, false
		}
		parts[i] = u
	}
	out := map[string]string{}
	for _, v := range pt.vars {
		out[v.field] = strings.Join(parts[v.start:v.end], "/")
	}
	return out, true
}

func mustTemplate(t string) pathTemplate {
	pt, err := parseTemplate(t)
	if err != nil {
		panic(err) // a constant above
	}
	return pt
}

// systemParams are query parameters every Google API takes, not request
// fields.
var systemParams = map[string]bool{
	"alt": true, "prettyPrint": true, "fields": true, "key": true, "access_token": true, "quotaUser": true,
	"userIp": true, "callback": true, "upload_protocol": true, "uploadType": true, "$.xgafv": true, "oauth_token": true,
}

// bindRequest fills msg from the body (as the rule says), the path
// variables and the query string, as Google's transcoding does: unknown
// body members and query parameters are refused.
func bindRequest(msg proto.Message, rt restRoute, vars map[string]string, query url.Values, body []byte) error {
	switch rt.body {
	case "":
	case "*":
		if len(body) > 0 {
			if err := protojson.Unmarshal(body, msg); err != nil {
				return fmt.Errorf("Invalid JSON payload received. %v", err)
			}
		}
	default:
		fd := msg.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(rt.body))
		if fd == nil || fd.Message() == nil {
			return fmt.Errorf("body field %q is not a message field", rt.body)
		}
		sub := msg.ProtoReflect().Mutable(fd).Message().Interface()
		if err := protojson.Unmarshal(body, sub); err != nil {
			return fmt.Errorf("Invalid JSON payload received. %v", err)
		}
	}
	fields := make([]string, 0, len(vars))
	for f := range vars {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if err := setField(msg.ProtoReflect(), strings.Split(f, "."), vars[f]); err != nil {
			return err
		}
	}
	if rt.body == "*" {
		return nil
	}
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if systemParams[k] {
			continue
		}
		for _, v := range query[k] {
			if err := setField(msg.ProtoReflect(), strings.Split(k, "."), v); err != nil {
				return fmt.Errorf("Invalid JSON payload received. Unknown name %q: Cannot bind query parameter. %v", k, err)
			}
		}
	}
	return nil
}

// setField sets the scalar field at path (proto or JSON names) from text.
func setField(m protoreflect.Message, path []string, text string) error {
	fields := m.Descriptor().Fields()
	fd := fields.ByName(protoreflect.Name(path[0]))
	if fd == nil {
		fd = fields.ByJSONName(path[0])
	}
	if fd == nil {
		return fmt.Errorf("Field '%s' could not be found in request message.", path[0])
	}
	if len(path) > 1 {
		if fd.Message() == nil || fd.IsList() || fd.IsMap() {
			return fmt.Errorf("Field '%s' is not a message.", path[0])
		}
		return setField(m.Mutable(fd).Message(), path[1:], text)
	}
	var v protoreflect.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		v = protoreflect.ValueOfString(text)
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("Field '%s': %q is not a bool.", path[0], text)
		}
		v = protoreflect.ValueOfBool(b)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return fmt.Errorf("Field '%s': %q is not an int32.", path[0], text)
		}
		v = protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("Field '%s': %q is not an int64.", path[0], text)
		}
		v = protoreflect.ValueOfInt64(n)
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByName(protoreflect.Name(text))
		if ev == nil {
			return fmt.Errorf("Field '%s': %q is not a value of %s.", path[0], text, fd.Enum().FullName())
		}
		v = protoreflect.ValueOfEnum(ev.Number())
	default:
		return fmt.Errorf("Field '%s' of kind %s cannot be given in the URL.", path[0], fd.Kind())
	}
	if fd.IsList() {
		m.Mutable(fd).List().Append(v)
		return nil
	}
	m.Set(fd, v)
	return nil
}
