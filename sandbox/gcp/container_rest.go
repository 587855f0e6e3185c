package gcp

import (
	"fmt"
	"net/http"
	"sync"
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

// containerRoutes are ClusterManager's HTTP bindings, from the proto's
// google.api.http annotations, built on first use: every regionctl start
// would otherwise pay for it, sandbox or not.
var containerRoutes = sync.OnceValue(mustContainerRoutes)

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
	for _, rt := range containerRoutes() {
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
	model := c
	ctx := emu.WithCall(r.Context(), &model)
	resp, err := rt.desc.Handler(&clusterServer{e: e}, ctx, func(v any) error {
		proto.Merge(v.(proto.Message), msg)
		return nil
	}, nil)
	if err != nil {
		writeStatusJSON(w, status.Convert(err))
		return model.Changed
	}
	data, err := protojson.Marshal(resp.(proto.Message))
	if err != nil {
		writeStatusJSON(w, status.New(codes.Internal, "encode reply: "+err.Error()))
		return model.Changed
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(data)
	return model.Changed
}
