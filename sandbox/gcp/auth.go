package gcp

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// What Google's API front end checks before any API runs, on both
// transports: a bearer access token (REST: the Authorization header; gRPC:
// the "authorization" metadata) that the sandbox's token endpoint issued,
// not expired, with a scope the API accepts. Anything else is refused as
// Google refuses it: 401 UNAUTHENTICATED with WWW-Authenticate, or 403
// PERMISSION_DENIED for a token without the scope.

// Google's messages for refused credentials.
const (
	msgCredentialsMissing = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgCredentialsInvalid = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgScopeInsufficient  = "Request had insufficient authentication scopes."
	// wwwAuthenticate is the challenge Google's front end sends with a 401.
	wwwAuthenticate = `Bearer realm="https://accounts.google.com/"`
)

// Scopes each API accepts. Compute also takes its own scope, and read-only
// scopes for reads.
var (
	scopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
	containerScopes    = []string{scopeCloudPlatform}
	computeScopes      = []string{scopeCloudPlatform, "https://www.googleapis.com/auth/compute"}
	readOnlyScopes     = []string{"https://www.googleapis.com/auth/cloud-platform.read-only", "https://www.googleapis.com/auth/compute.readonly"}
)

// authFailure is a refused call: what Google's front end answers.
type authFailure struct {
	// httpCode is 401 or 403.
	httpCode int
	// status is UNAUTHENTICATED or PERMISSION_DENIED.
	status string
	msg    string
	// reason is the google.rpc.ErrorInfo reason (CREDENTIALS_MISSING,
	// ACCESS_TOKEN_TYPE_UNSUPPORTED, ACCESS_TOKEN_EXPIRED,
	// ACCESS_TOKEN_SCOPE_INSUFFICIENT).
	reason string
	// legacyReason is the reason in the "errors" list of APIs that still
	// send one (Compute): required, authError or insufficientPermissions.
	legacyReason string
	// challenge is the WWW-Authenticate header.
	challenge string
}

// apiCall names a call for authentication and error details: service
// "container.googleapis.com", method "google.container.v1.ClusterManager.ListClusters".
type apiCall struct {
	service, method string
	// scopes the token needs one of.
	scopes []string
}

// authorize checks the Authorization value of a call (the header, or the
// gRPC metadata) against what the emulator issued.
func (e *Emulator) authorize(authz string, call apiCall, now time.Time) *authFailure {
	if authz == "" {
		return &authFailure{httpCode: http.StatusUnauthorized, status: "UNAUTHENTICATED", msg: msgCredentialsMissing,
			reason: "CREDENTIALS_MISSING", legacyReason: "required", challenge: wwwAuthenticate}
	}
	invalid := func(reason string) *authFailure {
		return &authFailure{httpCode: http.StatusUnauthorized, status: "UNAUTHENTICATED", msg: msgCredentialsInvalid,
			reason: reason, legacyReason: "authError", challenge: wwwAuthenticate + `, error="invalid_token"`}
	}
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return invalid("ACCESS_TOKEN_TYPE_UNSUPPORTED")
	}
	at, err := e.readAccessToken(token)
	if err != nil {
		return invalid("ACCESS_TOKEN_TYPE_UNSUPPORTED")
	}
	if !now.Before(time.Unix(at.Exp, 0)) {
		return invalid("ACCESS_TOKEN_EXPIRED")
	}
	if !slices.ContainsFunc(strings.Fields(at.Scope), func(s string) bool { return slices.Contains(call.scopes, s) }) {
		return &authFailure{httpCode: http.StatusForbidden, status: "PERMISSION_DENIED", msg: msgScopeInsufficient,
			reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT", legacyReason: "insufficientPermissions",
			challenge: wwwAuthenticate + `, error="insufficient_scope", scope="` + strings.Join(call.scopes, " ") + `"`}
	}
	return nil
}

// errorInfo is the google.rpc.ErrorInfo detail of a refused call.
func (f *authFailure) errorInfo(call apiCall) map[string]any {
	return map[string]any{
		"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
		"reason": f.reason,
		"domain": "googleapis.com",
		"metadata": map[string]string{
			"method":  call.method,
			"service": call.service,
		},
	}
}

// requestAuthorization is a REST request's credential: the Authorization
// header, or the access_token query parameter Google also accepts.
func requestAuthorization(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		return a
	}
	if tok := r.URL.Query().Get("access_token"); tok != "" {
		return "Bearer " + tok
	}
	return ""
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
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
