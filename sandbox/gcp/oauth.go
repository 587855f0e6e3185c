package gcp

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// The sandbox's Google identity. Application Default Credentials in
// sandbox mode are the service account key file served at CredentialsPath
// on the Compute endpoint (what GOOGLE_APPLICATION_CREDENTIALS would name):
// its token_uri is TokenPath on the same endpoint, which exchanges a JWT
// signed with the key for an OAuth2 access token, as
// https://oauth2.googleapis.com/token does. The clusters' API servers
// accept exactly the access tokens the emulator issued.
const (
	// CredentialsPath serves the service account key JSON (GET).
	CredentialsPath = "/_sandbox/gcp/credentials.json"
	// TokenPath is the OAuth2 token endpoint (POST, JWT bearer grant).
	TokenPath = "/token"
	// ServiceAccountEmail is the sandbox's service account.
	ServiceAccountEmail = "regionctl-sandbox@" + DefaultProject + ".iam.gserviceaccount.com"
	// AccessTokenPrefix starts every access token the emulator issues
	// (Google's access tokens start with "ya29.").
	AccessTokenPrefix = "ya29.sandbox."
	// jwtGrant is the grant type of a service account's token request.
	jwtGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// tokenLifetime is how long an access token lives, as Google's.
	tokenLifetime = time.Hour
)

// Scopes an access token must carry for GKE to accept it.
var kubeScopes = []string{"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"}

// serviceAccount is the sandbox's service account and its key.
type serviceAccount struct {
	Email    string `json:"email"`
	ClientID string `json:"clientId"`
	KeyID    string `json:"keyId"`
	// KeyPEM is the RSA private key, PKCS #8 PEM (as in a key file).
	KeyPEM string `json:"keyPem"`
}

// ensureServiceAccount makes the service account key on first use and
// reports whether it did (the state changed). Call it under e.mu.
func (e *Emulator) ensureServiceAccount() (*serviceAccount, bool, error) {
	if sa := e.st.ServiceAccount; sa != nil {
		return sa, false, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, false, fmt.Errorf("generate the service account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("encode the service account key: %w", err)
	}
	e.st.ServiceAccount = &serviceAccount{
		Email:    ServiceAccountEmail,
		ClientID: fmt.Sprintf("10%019d", newID()%10000000000000000000),
		KeyID:    randHex(40),
		KeyPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}
	e.loadTokenKey()
	return e.st.ServiceAccount, true, nil
}

// loadTokenKey derives the key that signs access tokens from the service
// account key, so tokens survive a sandbox restart. Call it under e.mu.
func (e *Emulator) loadTokenKey() {
	sa := e.st.ServiceAccount
	if sa == nil {
		e.tokenKey.Store(nil)
		return
	}
	k := sha256.Sum256([]byte("regionctl-sandbox-access-token\x00" + sa.KeyPEM))
	b := k[:]
	e.tokenKey.Store(&b)
}

func (sa *serviceAccount) privateKey() (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(sa.KeyPEM))
	if b == nil {
		return nil, errors.New("service account key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse the service account key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("service account key is not RSA")
	}
	return rk, nil
}

// isOAuth reports whether r is for the sandbox's Google identity endpoints.
func isOAuth(r *http.Request) bool {
	return r.URL.Path == TokenPath || r.URL.Path == CredentialsPath
}

// oauthOperation names the identity endpoints' requests.
func oauthOperation(r *http.Request) string {
	if r.URL.Path == TokenPath {
		return "oauth2:token"
	}
	return "sandbox:gcpServiceAccountKey"
}

// writeOAuthErr writes the token endpoint's error shape.
func writeOAuthErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// serveOAuth answers the key file and the token endpoint.
func (e *Emulator) serveOAuth(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	sa, changed, err := e.ensureServiceAccount()
	if err != nil {
		writeOAuthErr(w, http.StatusInternalServerError, "internal_failure", err.Error())
		return false
	}
	switch {
	case r.URL.Path == CredentialsPath && r.Method == http.MethodGet:
		e.writeKeyFile(w, r, sa)
	case r.URL.Path == TokenPath && r.Method == http.MethodPost:
		e.token(w, r, c, sa)
	default:
		writeOAuthErr(w, http.StatusMethodNotAllowed, "invalid_request", r.Method+" is not allowed on "+r.URL.Path)
	}
	return changed
}

// writeKeyFile serves the service account key JSON, in the format the
// console downloads and google.CredentialsFromJSON reads, with token_uri on
// the address the client reached.
func (e *Emulator) writeKeyFile(w http.ResponseWriter, r *http.Request, sa *serviceAccount) {
	base := "http://" + r.Host
	key := map[string]string{
		"type":                        "service_account",
		"project_id":                  DefaultProject,
		"private_key_id":              sa.KeyID,
		"private_key":                 sa.KeyPEM,
		"client_email":                sa.Email,
		"client_id":                   sa.ClientID,
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   base + TokenPath,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + url.PathEscape(sa.Email),
		"universe_domain":             "googleapis.com",
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(key)
}

// jwtClaims are the claims of a service account's token request.
type jwtClaims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
	Sub   string `json:"sub,omitempty"`
}

// token exchanges a JWT assertion signed with the service account key for
// an access token (RFC 7523), checking what Google's endpoint checks: the
// grant type, the RS256 signature and key id, the issuer, the audience
// (this endpoint), the times and that a scope is asked for.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request, c emu.Call, sa *serviceAccount) {
	form, err := url.ParseQuery(string(c.Body))
	if err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "Could not parse the request body.")
		return
	}
	if g := form.Get("grant_type"); g != jwtGrant {
		writeOAuthErr(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("Invalid grant_type: %s", g))
		return
	}
	claims, err := verifyAssertion(form.Get("assertion"), sa, time.Now())
	if err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	if u, err := url.Parse(claims.Aud); err != nil || u.Path != TokenPath || !loopbackOrGoogle(u.Hostname()) {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", fmt.Sprintf("Invalid JWT: audience %q is not this token endpoint", claims.Aud))
		return
	}
	if claims.Scope == "" {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	tok, err := e.issue(sa.Email, claims.Scope, time.Now().Add(tokenLifetime))
	if err != nil {
		writeOAuthErr(w, http.StatusInternalServerError, "internal_failure", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "expires_in": int(tokenLifetime/time.Second) - 1, "token_type": "Bearer",
	})
}

func loopbackOrGoogle(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost" || host == "oauth2.googleapis.com"
}

// verifyAssertion checks a JWT signed by the service account.
func verifyAssertion(assertion string, sa *serviceAccount, now time.Time) (jwtClaims, error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return jwtClaims{}, errors.New("Invalid JWT: not a signed JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return jwtClaims{}, errors.New("Invalid JWT: bad header")
	}
	if hdr.Alg != "RS256" {
		return jwtClaims{}, fmt.Errorf("Invalid JWT: unsupported algorithm %q", hdr.Alg)
	}
	if hdr.Kid != "" && hdr.Kid != sa.KeyID {
		return jwtClaims{}, errors.New("Invalid JWT Signature.") // an unknown key id, as Google words it
	}
	key, err := sa.privateKey()
	if err != nil {
		return jwtClaims{}, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return jwtClaims{}, errors.New("Invalid JWT Signature.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return jwtClaims{}, errors.New("Invalid JWT Signature.")
	}
	var cl jwtClaims
	if err := decodeSegment(parts[1], &cl); err != nil {
		return jwtClaims{}, errors.New("Invalid JWT: bad claim set")
	}
	if cl.Iss != sa.Email {
		return jwtClaims{}, fmt.Errorf("Invalid JWT: issuer %q is not the sandbox's service account", cl.Iss)
	}
	if cl.Sub != "" && cl.Sub != sa.Email {
		return jwtClaims{}, errors.New("Invalid JWT: the sandbox's service account cannot impersonate users (domain-wide delegation)")
	}
	iat, exp := time.Unix(cl.Iat, 0), time.Unix(cl.Exp, 0)
	if iat.After(now.Add(5*time.Minute)) || !exp.After(now) || exp.Sub(iat) > time.Hour+time.Minute {
		return jwtClaims{}, errors.New("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	}
	return cl, nil
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// accessToken is what an access token the emulator issues carries; it is
// signed with the emulator's token key (Google's tokens are opaque, these
// are too for every client).
type accessToken struct {
	Sub   string `json:"sub"`
	Scope string `json:"scope"`
	Exp   int64  `json:"exp"`
	Nonce string `json:"n"`
}

// issue makes an access token.
func (e *Emulator) issue(email, scope string, exp time.Time) (string, error) {
	key := e.tokenKey.Load()
	if key == nil {
		return "", errors.New("no token key")
	}
	body, err := json.Marshal(accessToken{Sub: email, Scope: scope, Exp: exp.Unix(), Nonce: randHex(16)})
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(body)
	return AccessTokenPrefix + p + "." + base64.RawURLEncoding.EncodeToString(mac(*key, p)), nil
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// readAccessToken checks that token is an access token this emulator
// issued (its signature) and returns what it carries.
func (e *Emulator) readAccessToken(token string) (accessToken, error) {
	raw, ok := strings.CutPrefix(token, AccessTokenPrefix)
	if !ok {
		return accessToken{}, errors.New("not an access token the sandbox issued")
	}
	p, sig, ok := strings.Cut(raw, ".")
	key := e.tokenKey.Load()
	if !ok || key == nil {
		return accessToken{}, errors.New("malformed access token")
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(*key, p)) {
		return accessToken{}, errors.New("access token signature does not match (not issued by this sandbox)")
	}
	var at accessToken
	if err := decodeSegment(p, &at); err != nil {
		return accessToken{}, errors.New("malformed access token")
	}
	return at, nil
}

// VerifyAccessToken checks a bearer token sent to a cluster's API server:
// an access token this emulator issued, not expired, with a scope GKE
// accepts. It returns the account it was issued to.
func (e *Emulator) VerifyAccessToken(token string, now time.Time) (string, error) {
	at, err := e.readAccessToken(token)
	if err != nil {
		return "", err
	}
	if !now.Before(time.Unix(at.Exp, 0)) {
		return "", errors.New("access token expired")
	}
	if !slices.ContainsFunc(strings.Fields(at.Scope), func(s string) bool { return slices.Contains(kubeScopes, s) }) {
		return "", fmt.Errorf("access token scopes %q include neither cloud-platform nor userinfo.email", at.Scope)
	}
	return at.Sub, nil
}

// authenticator is the clusters' token webhook check: GKE maps a Google
// access token to the account's email; the sandbox's account is a cluster
// admin (system:masters), as a project owner is.
func (e *Emulator) authenticator() emu.KubeAuthenticator {
	return func(token string) (emu.KubeUser, error) {
		email, err := e.VerifyAccessToken(token, time.Now())
		if err != nil {
			return emu.KubeUser{}, err
		}
		return emu.KubeUser{Name: email, UID: email, Groups: []string{"system:masters"}}, nil
	}
}
