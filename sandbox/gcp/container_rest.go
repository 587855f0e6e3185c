package gcp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// GKE over REST: container.googleapis.com/v1 JSON, what gcloud and the
// discovery-based clients (google.golang.org/api/container/v1) speak. It is
// not a second implementation: every request is transcoded, following the
// google.api.http annotations of ClusterManager's methods in Google's own
// proto (the rules Google's front end applies), into the gRPC request
// message and handed to the same gRPC method handler, whose reply or status
// goes back as protojson (lowerCamelCase) or Google's JSON error body.

// ContainerRESTKey is GKE's REST endpoint, "http://127.0.0.1:PORT": the
// same port as ContainerKey, which answers gRPC and REST as
// container.googleapis.com does.
const ContainerRESTKey = "gcp-container-rest"

// GRPCRESTKey is ContainerRESTKey.
func (e *Emulator) GRPCRESTKey() string { return ContainerRESTKey }

var _ emu.GRPCRESTServer = (*Emulator)(nil)

// restRoute is one HTTP binding of a ClusterManager method.
type restRoute struct {
	httpMethod string
	tmpl       pathTemplate
	// body is "" (no body), "*" (the whole request) or a field name.
	body   string
	method protoreflect.MethodDescriptor
	desc   grpc.MethodDesc
}

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

// containerRoutes are ClusterManager's HTTP bindings, from the proto's
// google.api.http annotations.
var containerRoutes = mustContainerRoutes()

func mustContainerRoutes() []restRoute {
	sd := containerpb.File_google_container_v1_cluster_service_proto.Services().ByName("ClusterManager")
	descs := map[string]grpc.MethodDesc{}
	for _, m := range containerpb.ClusterManager_ServiceDesc.Methods {
		descs[m.MethodName] = m
	}
	var out []restRoute
	for i := 0; i < sd.Methods().Len(); i++ {
		md := sd.Methods().Get(i)
		rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
		if rule == nil {
			continue
		}
		for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
			var verb, path string
			switch p := r.GetPattern().(type) {
			case *annotations.HttpRule_Get:
				verb, path = http.MethodGet, p.Get
			case *annotations.HttpRule_Post:
				verb, path = http.MethodPost, p.Post
			case *annotations.HttpRule_Put:
				verb, path = http.MethodPut, p.Put
			case *annotations.HttpRule_Delete:
				verb, path = http.MethodDelete, p.Delete
			case *annotations.HttpRule_Patch:
				verb, path = http.MethodPatch, p.Patch
			default:
				continue
			}
			pt, err := parseTemplate(path)
			if err != nil {
				panic(fmt.Sprintf("container REST rule of %s: %v", md.Name(), err)) // Google's own proto; a failure is a programmer error
			}
			out = append(out, restRoute{httpMethod: verb, tmpl: pt, body: r.GetBody(), method: md, desc: descs[string(md.Name())]})
		}
	}
	return out
}

// undeclaredRoutes are REST methods of container/v1 that the proto's
// ClusterManager service does not declare (GKE serves them beside it); the
// sandbox answers them UNIMPLEMENTED rather than as unknown paths.
var undeclaredRoutes = map[string]pathTemplate{
	"GetOpenIDConfig": mustTemplate("/v1/{parent=projects/*/locations/*/clusters/*}/.well-known/openid-configuration"),
}

func mustTemplate(t string) pathTemplate {
	pt, err := parseTemplate(t)
	if err != nil {
		panic(err) // a constant above
	}
	return pt
}

// undeclaredMethod names the undeclared method r calls, or "".
func undeclaredMethod(r *http.Request) string {
	for name, pt := range undeclaredRoutes {
		if _, ok := pt.match(r.URL.EscapedPath()); ok && r.Method == http.MethodGet {
			return name
		}
	}
	return ""
}

// isContainerREST reports whether r came to GKE's endpoint (REST).
func isContainerREST(r *http.Request) bool {
	return emu.EndpointFrom(r.Context()) == ContainerKey
}

// findContainerRoute finds the binding of a request; vars are the path's.
func findContainerRoute(r *http.Request) (restRoute, map[string]string, bool) {
	for _, rt := range containerRoutes {
		if rt.httpMethod != r.Method {
			continue
		}
		if vars, ok := rt.tmpl.match(r.URL.EscapedPath()); ok {
			return rt, vars, true
		}
	}
	return restRoute{}, nil, false
}

// containerRESTOperation names a REST call like its gRPC twin
// ("container:ListClusters").
func containerRESTOperation(r *http.Request) string {
	if rt, _, ok := findContainerRoute(r); ok {
		return "container:" + string(rt.method.Name())
	}
	if m := undeclaredMethod(r); m != "" {
		return "container:" + m
	}
	return "container:Unknown"
}

// systemParams are query parameters every Google API takes, not request
// fields.
var systemParams = map[string]bool{
	"alt": true, "prettyPrint": true, "fields": true, "key": true, "access_token": true, "quotaUser": true,
	"userIp": true, "callback": true, "upload_protocol": true, "uploadType": true, "$.xgafv": true, "oauth_token": true,
}

// serveContainerREST answers one GKE REST call.
func (e *Emulator) serveContainerREST(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	rt, vars, ok := findContainerRoute(r)
	name := undeclaredMethod(r)
	switch {
	case ok:
		name = string(rt.method.Name())
	case name == "":
		writeStatusJSON(w, status.New(codes.NotFound, fmt.Sprintf("Requested entity was not found: %s %s is not a method of container.googleapis.com/v1.", r.Method, r.URL.Path)))
		return false
	}
	call := apiCall{service: "container.googleapis.com", method: "google.container.v1.ClusterManager." + name, scopes: containerScopes}
	if f := e.authorize(requestAuthorization(r), call, time.Now()); f != nil {
		writeAuthFailure(w, f, call, false)
		return false
	}
	if !ok {
		writeStatusJSON(w, status.Newf(codes.Unimplemented, "The sandbox does not emulate %s.", name))
		return false
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(rt.method.Input().FullName())
	if err != nil {
		writeStatusJSON(w, status.New(codes.Internal, err.Error()))
		return false
	}
	msg := mt.New().Interface()
	if err := bindRequest(msg, rt, vars, r.URL.Query(), c.Body); err != nil {
		writeStatusJSON(w, status.New(codes.InvalidArgument, err.Error()))
		return false
	}
	if err := e.checkRequestProject(msg); err != nil {
		writeStatusJSON(w, status.Convert(err))
		return false
	}
	// Hand the request to the gRPC method, with the sandbox's Call so the
	// model sees the same operation name, fault and change flag.
	call2 := c
	ctx := emu.WithCall(r.Context(), &call2)
	resp, err := rt.desc.Handler(&clusterServer{e: e}, ctx, func(v any) error {
		proto.Merge(v.(proto.Message), msg)
		return nil
	}, nil)
	if err != nil {
		writeStatusJSON(w, status.Convert(err))
		return call2.Changed
	}
	data, err := protojson.Marshal(resp.(proto.Message))
	if err != nil {
		writeStatusJSON(w, status.New(codes.Internal, "encode reply: "+err.Error()))
		return call2.Changed
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(data)
	return call2.Changed
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

// authorizeGRPC checks a gRPC call's "authorization" metadata.
func (e *Emulator) authorizeGRPC(ctx context.Context, fullMethod string) error {
	method := strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", ".")
	call := apiCall{service: "container.googleapis.com", method: method, scopes: containerScopes}
	f := e.authorize(grpcAuthorization(ctx), call, time.Now())
	if f == nil {
		return nil
	}
	return f.grpcStatus(call).Err()
}
