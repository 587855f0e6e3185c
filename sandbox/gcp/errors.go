package gcp

import (
	"context"
	"encoding/json"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Google's JSON error body, as every googleapis.com REST API sends it:
// {"error": {"code", "message", "errors": [{"message", "domain", "reason"}],
// "status", "details": [{"@type", ...}]}}; googleapi.CheckResponse and
// gcloud read it.

type errItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

type errBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Errors  []errItem         `json:"errors,omitempty"`
	Status  string            `json:"status,omitempty"`
	Details []json.RawMessage `json:"details,omitempty"`
}

func writeErrBody(w http.ResponseWriter, b errBody) {
	data, _ := json.Marshal(map[string]errBody{"error": b}) // plain structs always marshal
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(b.Code)
	_, _ = w.Write(data)
}

// httpStatus maps a google.rpc.Code to its HTTP status, as Google's REST
// front ends do (google/rpc/code.proto).
var httpStatus = map[codes.Code]int{
	codes.OK: 200, codes.Canceled: 499, codes.Unknown: 500, codes.InvalidArgument: 400,
	codes.DeadlineExceeded: 504, codes.NotFound: 404, codes.AlreadyExists: 409,
	codes.PermissionDenied: 403, codes.Unauthenticated: 401, codes.ResourceExhausted: 429,
	codes.FailedPrecondition: 400, codes.Aborted: 409, codes.OutOfRange: 400,
	codes.Unimplemented: 501, codes.Internal: 500, codes.Unavailable: 503, codes.DataLoss: 500,
}

// legacyReason is the reason of the "errors" list for a status code.
var legacyReason = map[codes.Code]string{
	codes.InvalidArgument: "badRequest", codes.FailedPrecondition: "failedPrecondition", codes.OutOfRange: "badRequest",
	codes.NotFound: "notFound", codes.AlreadyExists: "alreadyExists", codes.Aborted: "aborted",
	codes.PermissionDenied: "forbidden", codes.Unauthenticated: "unauthorized", codes.ResourceExhausted: "rateLimitExceeded",
	codes.Unimplemented: "notImplemented", codes.Internal: "backendError", codes.Unavailable: "backendError",
	codes.Unknown: "backendError", codes.DeadlineExceeded: "deadlineExceeded", codes.Canceled: "cancelled", codes.DataLoss: "backendError",
}

// writeStatusJSON writes a gRPC status as the REST error its method gets.
func writeStatusJSON(w http.ResponseWriter, st *status.Status) {
	b := errBody{
		Code:    httpStatus[st.Code()],
		Message: st.Message(),
		Status:  code.Code(st.Code()).String(),
		Errors:  []errItem{{Message: st.Message(), Domain: "global", Reason: legacyReason[st.Code()]}},
	}
	for _, d := range st.Proto().GetDetails() {
		if raw, err := protojson.Marshal(d); err == nil {
			b.Details = append(b.Details, raw)
		}
	}
	writeErrBody(w, b)
}

// writeAuthFailure writes a refused call's 401/403 with its challenge.
// Compute, an older API, also lists the failure in "errors".
func writeAuthFailure(w http.ResponseWriter, f *authFailure, call apiCall, legacyErrors bool) {
	info, _ := json.Marshal(f.errorInfo(call)) // plain maps always marshal
	b := errBody{Code: f.httpCode, Message: f.msg, Status: f.status, Details: []json.RawMessage{info}}
	if legacyErrors {
		b.Errors = []errItem{{Message: f.msg, Domain: "global", Reason: f.legacyReason, Location: "Authorization", LocationType: "header"}}
	}
	w.Header().Set("WWW-Authenticate", f.challenge)
	writeErrBody(w, b)
}

// grpcStatus is a refused call over gRPC: UNAUTHENTICATED or
// PERMISSION_DENIED with the ErrorInfo detail.
func (f *authFailure) grpcStatus(call apiCall) *status.Status {
	c := codes.Unauthenticated
	if f.httpCode == http.StatusForbidden {
		c = codes.PermissionDenied
	}
	st, err := status.New(c, f.msg).WithDetails(&errdetails.ErrorInfo{
		Reason: f.reason, Domain: "googleapis.com",
		Metadata: map[string]string{"method": call.method, "service": call.service},
	})
	if err != nil {
		return status.New(c, f.msg)
	}
	return st
}

// grpcAuthorization is a gRPC call's "authorization" metadata.
func grpcAuthorization(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// authorizedServiceDesc is desc with every method checking the caller's
// credentials and the request's project first — after the server's interceptor (the sandbox's request
// log and faults), before the method.
func (e *Emulator) authorizedServiceDesc(desc grpc.ServiceDesc) *grpc.ServiceDesc {
	out := desc
	out.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		h := m.Handler
		m.Handler = func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			return h(srv, ctx, dec, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
				authed := func(ctx context.Context, req any) (any, error) {
					if err := e.authorizeGRPC(ctx, info.FullMethod); err != nil {
						return nil, err
					}
					if err := e.checkRequestProject(req.(proto.Message)); err != nil {
						return nil, err
					}
					return next(ctx, req)
				}
				if ic == nil {
					return authed(ctx, req)
				}
				return ic(ctx, req, info, authed)
			})
		}
		out.Methods[i] = m
	}
	return &out
}
