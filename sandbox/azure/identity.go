package azure

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/internal/pki"
)

// The sandbox's Microsoft Entra ID: one tenant (TenantID) holding one
// service principal (ClientID, with a client secret made on first use),
// the sandbox's analogue of `az ad sp create-for-rbac --sdk-auth`, whose
// document CredentialsPath serves. The emulator is the tenant's token
// endpoint (client-credentials grant, as MSAL, azidentity's
// ClientSecretCredential and `az login --service-principal` use it) and
// ARM verifies every bearer token against it, as Azure does: a JWT signed
// by the sandbox's key, for an ARM audience, from the sandbox's tenant,
// not expired.
const (
	// ClientID is the application (client) id of the sandbox's service
	// principal.
	ClientID = "22222222-2222-2222-2222-222222222222"
	// CredentialsPath serves the service principal's credentials in the
	// shape `az ad sp create-for-rbac --sdk-auth` prints (clientId,
	// clientSecret, tenantId, subscriptionId, the endpoints) plus
	// caCertificate, the PEM of the CA the https side is signed by (GET).
	CredentialsPath = "/_sandbox/azure/credentials.json"
	// CAPath serves the sandbox CA's certificate, PEM (GET).
	CAPath = "/_sandbox/azure/ca.pem"
	// tokenLifetime is how long an access token lives (Entra ID: 60–90
	// minutes).
	tokenLifetime = time.Hour
	// adfsTenant is the path segment of an AD FS-style authority; the az
	// CLI and MSAL skip instance discovery (a call to
	// login.microsoftonline.com) for such an authority, so `az login`
	// against the sandbox uses https://127.0.0.1:PORT/adfs.
	adfsTenant = "adfs"
)

// armAudiences are the audiences ARM accepts in an access token.
var armAudiences = []string{"https://management.core.windows.net/", "https://management.core.windows.net", "https://management.azure.com/", "https://management.azure.com"}

// identityRec is the tenant's service principal and the key the tenant
// signs tokens with.
type identityRec struct {
	ClientSecret string `json:"clientSecret"`
	ObjectID     string `json:"objectId"`
	KeyID        string `json:"keyId"`
	// KeyPEM is the RSA token-signing key, PKCS #8 PEM.
	KeyPEM string `json:"keyPem"`
}

// ensureIdentity makes the service principal and signing key on first use
// and reports whether it did. Call it under e.mu.
func (e *Emulator) ensureIdentity() (*identityRec, bool, error) {
	if id := e.st.Identity; id != nil {
		return id, false, nil
	}
	key, keyPEM, err := pki.NewRSA()
	if err != nil {
		return nil, false, fmt.Errorf("the token-signing key: %w", err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey) // an RSA public key always marshals
	var secret [30]byte
	_, _ = rand.Read(secret[:]) // crypto/rand never fails
	sum := sha256.Sum256(der)
	e.st.Identity = &identityRec{
		// Entra client secrets are 40 characters with a "~" in them.
		ClientSecret: "sbx8Q~" + strings.TrimRight(base64.RawURLEncoding.EncodeToString(secret[:]), "=")[:34],
		ObjectID:     uuid.NewString(),
		KeyID:        base64.RawURLEncoding.EncodeToString(sum[:20]),
		KeyPEM:       keyPEM,
	}
	e.signer = nil
	clear(e.verified)
	return e.st.Identity, true, nil
}

// signingKey parses (once) the tenant's token-signing key. Call it under
// e.mu.
func (e *Emulator) signingKey() (*rsa.PrivateKey, error) {
	if e.signer != nil {
		return e.signer, nil
	}
	id := e.st.Identity
	if id == nil {
		return nil, errors.New("no token-signing key")
	}
	k, err := pki.Decode(id.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("the token-signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the token-signing key is not RSA")
	}
	e.signer = rk
	return rk, nil
}

// identityPath is a parsed Entra ID path: /{tenant}/oauth2/v2.0/token,
// /{tenant}/v2.0/.well-known/openid-configuration, …
type identityPath struct {
	op     string // "entra:token", …; "" when the path is not Entra ID's
	tenant string
	v1     bool // the v1 (resource=) token endpoint, or AD FS
}

func parseIdentityPath(p string) identityPath {
	switch {
	case p == CredentialsPath:
		return identityPath{op: "sandbox:azureCredentials"}
	case p == CAPath:
		return identityPath{op: "sandbox:azureCA"}
	case strings.EqualFold(strings.Trim(p, "/"), "metadata/endpoints"): // az asks for //metadata/endpoints
		return identityPath{op: "azure:metadataEndpoints.get"}
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) < 2 {
		return identityPath{}
	}
	t := segs[0]
	if !strings.EqualFold(t, adfsTenant) && !strings.EqualFold(t, "common") && !strings.EqualFold(t, "organizations") && uuid.Validate(t) != nil {
		return identityPath{}
	}
	rest := strings.ToLower(strings.Join(segs[1:], "/"))
	ip := identityPath{tenant: t}
	switch rest {
	case "oauth2/v2.0/token":
		ip.op = "entra:token"
	case "oauth2/token":
		ip.op, ip.v1 = "entra:token", true
	case "v2.0/.well-known/openid-configuration", ".well-known/openid-configuration":
		ip.op = "entra:openidConfiguration"
	case "discovery/instance":
		ip.op = "entra:instanceDiscovery"
	case "discovery/v2.0/keys", "discovery/keys":
		ip.op = "entra:keys"
	}
	if strings.EqualFold(t, adfsTenant) {
		ip.v1 = true
	}
	return ip
}

// oauthErr is an Entra ID token endpoint error.
func writeOAuthErr(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	now := time.Now().UTC()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, uuid.NewString(), uuid.NewString(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          uuid.NewString(),
		"correlation_id":    uuid.NewString(),
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(aadsts),
	})
}

// serveIdentity answers Entra ID's endpoints and the sandbox's credential
// documents; it reports whether the state changed.
func (e *Emulator) serveIdentity(w http.ResponseWriter, r *http.Request, ip identityPath, c emu.Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, changed, err := e.ensureIdentity()
	if err != nil {
		writeOAuthErr(w, http.StatusInternalServerError, "server_error", 90001, err.Error())
		return false
	}
	httpsBase := "https://" + r.Host
	if ip.op != "entra:token" && r.Method != http.MethodGet {
		writeOAuthErr(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET requests.")
		return changed
	}
	switch ip.op {
	case "sandbox:azureCredentials":
		ca, caChanged, err := e.ensureCA()
		if err != nil {
			writeOAuthErr(w, http.StatusInternalServerError, "server_error", 90001, err.Error())
			return changed
		}
		writeJSON(w, http.StatusOK, map[string]string{
			"clientId": ClientID, "clientSecret": id.ClientSecret, "subscriptionId": DefaultSubscription, "tenantId": TenantID,
			"activeDirectoryEndpointUrl":     httpsBase,
			"resourceManagerEndpointUrl":     httpsBase + "/",
			"activeDirectoryGraphResourceId": "https://graph.windows.net/",
			"managementEndpointUrl":          "https://management.core.windows.net/",
			"caCertificate":                  ca.CertPEM,
		})
		return changed || caChanged
	case "sandbox:azureCA":
		ca, caChanged, err := e.ensureCA()
		if err != nil {
			writeOAuthErr(w, http.StatusInternalServerError, "server_error", 90001, err.Error())
			return changed
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write([]byte(ca.CertPEM))
		return changed || caChanged
	case "azure:metadataEndpoints.get":
		e.writeMetadata(w, r, httpsBase)
		return changed
	case "entra:instanceDiscovery":
		writeJSON(w, http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": httpsBase + "/" + TenantID + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{map[string]any{"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host}}},
		})
		return changed
	case "entra:keys":
		key, err := e.signingKey()
		if err != nil {
			writeOAuthErr(w, http.StatusInternalServerError, "server_error", 90001, err.Error())
			return changed
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "use": "sig", "kid": id.KeyID, "x5t": id.KeyID,
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big4(key.E)),
		}}})
		return changed
	}
	if !strings.EqualFold(ip.tenant, TenantID) && !strings.EqualFold(ip.tenant, adfsTenant) {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", ip.tenant))
		return changed
	}
	if ip.op == "entra:openidConfiguration" {
		authority := httpsBase + "/" + TenantID
		tokenURL, issuer := authority+"/oauth2/v2.0/token", authority+"/v2.0"
		if strings.EqualFold(ip.tenant, adfsTenant) {
			authority = httpsBase + "/" + adfsTenant
			tokenURL, issuer = authority+"/oauth2/token", authority
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        tokenURL,
			"authorization_endpoint":                authority + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         authority + "/oauth2/v2.0/devicecode",
			"issuer":                                issuer,
			"jwks_uri":                              httpsBase + "/" + TenantID + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"grant_types_supported":                 []string{"client_credentials"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   r.Host,
		})
		return changed
	}
	e.token(w, r, ip, c, id)
	return changed
}

// writeMetadata answers ARM's unauthenticated cloud metadata
// (/metadata/endpoints), which `az cloud register --endpoint-resource-manager`
// reads to find the rest: api-version 2015-01-01 has one object, later
// versions a list of clouds. The login endpoint is the sandbox's AD FS-style
// authority, for which MSAL skips instance discovery.
func (e *Emulator) writeMetadata(w http.ResponseWriter, r *http.Request, base string) {
	login := base + "/" + adfsTenant
	audiences := []string{"https://management.core.windows.net/", "https://management.azure.com/"}
	if v := r.URL.Query().Get("api-version"); v == "" || v == "2015-01-01" {
		writeJSON(w, http.StatusOK, map[string]any{
			"galleryEndpoint": "https://gallery.azure.com/", "graphEndpoint": "https://graph.windows.net/",
			"portalEndpoint": "https://portal.azure.com/",
			"authentication": map[string]any{"loginEndpoint": login, "audiences": audiences},
		})
		return
	}
	writeJSON(w, http.StatusOK, []any{map[string]any{
		"name": "regionctl-sandbox", "resourceManager": base + "/", "portal": "https://portal.azure.com",
		"gallery": "https://gallery.azure.com/", "graph": "https://graph.windows.net/", "graphAudience": "https://graph.windows.net/",
		"microsoftGraphResourceId": "https://graph.microsoft.com/",
		"authentication":           map[string]any{"loginEndpoint": login, "audiences": audiences, "tenant": "common", "identityProvider": "AAD"},
		"suffixes":                 map[string]any{"storage": "core.windows.net", "keyVaultDns": "vault.azure.net", "acrLoginServer": "azurecr.io", "sqlServerHostname": "database.windows.net"},
	}})
}

// big4 encodes an RSA public exponent as big-endian bytes without leading
// zeros, as JWKS wants.
func big4(v int) []byte {
	b := []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// token is the client-credentials grant: the sandbox's service principal
// and its secret (in the form or HTTP Basic), for a scope (v2:
// "https://management.azure.com/.default") or resource (v1, AD FS) that
// names ARM.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request, ip identityPath, c emu.Call, id *identityRec) {
	if r.Method != http.MethodPost {
		writeOAuthErr(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request.")
		return
	}
	form, err := url.ParseQuery(string(c.Body))
	if err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	switch g := form.Get("grant_type"); {
	case g == "":
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	case g != "client_credentials":
		writeOAuthErr(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'. The sandbox's tenant issues tokens to its service principal only (client_credentials).", g))
		return
	}
	if clientID == "" {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if !strings.EqualFold(clientID, ClientID) {
		writeOAuthErr(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, TenantID))
		return
	}
	if form.Get("client_assertion") != "" {
		writeOAuthErr(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: the sandbox's service principal has no certificate credential; use its client secret.")
		return
	}
	if secret != id.ClientSecret {
		writeOAuthErr(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+ClientID+"'.")
		return
	}
	var aud string
	if ip.v1 && form.Get("scope") == "" {
		aud = form.Get("resource")
		if aud == "" {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'.")
			return
		}
	} else {
		scope := form.Get("scope")
		if scope == "" {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
			return
		}
		for _, s := range strings.Fields(scope) {
			if res, ok := strings.CutSuffix(s, "/.default"); ok {
				aud = res
			}
		}
		if aud == "" {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
			return
		}
	}
	if !slices.Contains(armAudiences, aud) && aud != AKSServerAppID {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. The sandbox's tenant issues tokens for Azure Resource Manager (%s) and the AKS server application (%s) only.", aud, TenantID, strings.Join(armAudiences, ", "), AKSServerAppID))
		return
	}
	now := time.Now()
	tok, err := e.issue(id, aud, now)
	if err != nil {
		writeOAuthErr(w, http.StatusInternalServerError, "server_error", 90001, err.Error())
		return
	}
	secs := int(tokenLifetime/time.Second) - 1
	w.Header().Set("Cache-Control", "no-store, no-cache")
	if ip.v1 {
		writeJSON(w, http.StatusOK, map[string]string{
			"token_type": "Bearer", "expires_in": strconv.Itoa(secs), "ext_expires_in": strconv.Itoa(secs),
			"expires_on": strconv.FormatInt(now.Add(tokenLifetime).Unix(), 10), "not_before": strconv.FormatInt(now.Unix(), 10),
			"resource": aud, "access_token": tok,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}

// tokenClaims are the claims of an Entra ID v1 access token for an app
// (what ARM receives).
type tokenClaims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	AppID    string `json:"appid"`
	AppIDAcr string `json:"appidacr"`
	IDP      string `json:"idp"`
	IDTyp    string `json:"idtyp"`
	OID      string `json:"oid"`
	Sub      string `json:"sub"`
	TID      string `json:"tid"`
	UTI      string `json:"uti"`
	Ver      string `json:"ver"`
}

func issuerOf(tenant string) string { return "https://sts.windows.net/" + tenant + "/" }

// issue makes a signed access token. Call it under e.mu.
func (e *Emulator) issue(id *identityRec, aud string, now time.Time) (string, error) {
	key, err := e.signingKey()
	if err != nil {
		return "", err
	}
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "x5t": id.KeyID, "kid": id.KeyID}) // strings always marshal
	var uti [16]byte
	_, _ = rand.Read(uti[:])
	body, err := json.Marshal(tokenClaims{Aud: aud, Iss: issuerOf(TenantID), Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(tokenLifetime).Unix(),
		AppID: ClientID, AppIDAcr: "1", IDP: issuerOf(TenantID), IDTyp: "app", OID: id.ObjectID, Sub: id.ObjectID, TID: TenantID,
		UTI: base64.RawURLEncoding.EncodeToString(uti[:]), Ver: "1.0"})
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// verifyBearer checks the Authorization header of an ARM request as ARM
// does, with ARM's error codes.
func (e *Emulator) verifyBearer(w http.ResponseWriter, authz string) *armErr {
	invalid := func(code, format string, args ...any) *armErr {
		msg := fmt.Sprintf(format, args...)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description=%q`, msg))
		return errf(http.StatusUnauthorized, code, "%s", msg)
	}
	if authz == "" {
		return invalid("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return invalid("AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	tok = strings.TrimSpace(tok)
	if exp, ok := e.verified[tok]; ok && time.Now().Before(exp) {
		return nil // checked before, as ARM caches validated tokens
	}
	cl, code, msg := e.checkToken(tok)
	if code != "" {
		return invalid(code, "%s", msg)
	}
	if !slices.Contains(armAudiences, cl.Aud) {
		return invalid("InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.", cl.Aud, strings.Join(armAudiences, "','"))
	}
	if cl.Iss != issuerOf(TenantID) || !strings.EqualFold(cl.TID, TenantID) {
		return invalid("InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/%s' to get the token.", cl.Iss, issuerOf(TenantID), TenantID)
	}
	if cl.OID == "" {
		return invalid("InvalidAuthenticationToken", "The received access token is not valid: at least one of the claims 'puid' or 'altsecid' or 'oid' should be present. If you are accessing as application please make sure service principal is properly created in the tenant.")
	}
	if len(e.verified) >= maxVerified {
		clear(e.verified)
	}
	e.verified[tok] = time.Unix(cl.Exp, 0)
	return nil
}

// checkToken verifies what every Entra ID access token of the tenant
// must be: a JWT signed with the tenant's key, neither expired nor not
// yet valid. Else it returns ARM's error code and message. Call it under
// e.mu.
func (e *Emulator) checkToken(tok string) (cl tokenClaims, code, msg string) {
	bad := "The access token is invalid."
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return cl, "InvalidAuthenticationToken", bad
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &cl) != nil || hdr.Alg != "RS256" {
		return cl, "InvalidAuthenticationToken", bad
	}
	id := e.st.Identity
	key, err := e.signingKey()
	if id == nil || err != nil || hdr.Kid != id.KeyID {
		return cl, "InvalidAuthenticationToken", fmt.Sprintf("The access token is invalid: its signing key '%s' is not one of the tenant's keys. Get a token from the sandbox's token endpoint.", hdr.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return cl, "InvalidAuthenticationToken", "The access token is invalid: its signature does not verify."
	}
	now := time.Now()
	if exp := time.Unix(cl.Exp, 0); !now.Before(exp) {
		return cl, "ExpiredAuthenticationToken", fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.", armTime(exp), armTime(now))
	}
	if time.Unix(cl.Nbf, 0).After(now.Add(5 * time.Minute)) {
		return cl, "InvalidAuthenticationToken", fmt.Sprintf("The access token is not yet valid: 'nbf' is '%s'.", armTime(time.Unix(cl.Nbf, 0)))
	}
	return cl, "", ""
}

// maxVerified bounds the cache of verified tokens.
const maxVerified = 1024

// armTime formats a time as ARM's token errors do: "12/3/2026 9:04:07 AM".
func armTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// schemeOf is "https" for a request that came over TLS, else "http".
func schemeOf(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
