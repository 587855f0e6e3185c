package gcp

import (
	"net/http"
	"slices"
	"strings"
	"time"
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
