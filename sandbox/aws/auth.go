package aws

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxClockSkew is how far a signature's time may be from the server's, as
// AWS allows: older or newer requests are refused as expired.
const maxClockSkew = 15 * time.Minute

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// authKind is why a request was not authenticated.
type authKind int

const (
	authMissing      authKind = iota + 1 // no signature at all
	authIncomplete                       // a malformed Authorization header or query
	authUnknownKey                       // the access key is not one of the account's
	authBadSignature                     // the signature does not match the key's secret
	authExpired                          // signed too long ago (or in the future)
	authBadScope                         // signed for a region or service this is not
	authExpiredToken                     // a session's credentials have expired
)

// regionRE is the aws partition's region pattern (the SDK's partitions
// metadata): the sandbox emulates that partition only.
var regionRE = regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`)

// scopedServices are the signing names of the services the sandbox serves.
var scopedServices = []string{"ec2", "iam", "sts", "eks"}

// authFailure says why a request was refused, with AWS's wording.
type authFailure struct {
	kind authKind
	msg  string
}

// sigV4 is the SigV4 authentication a request carries, in its Authorization
// header or (presigned) in its query.
type sigV4 struct {
	keyID, region, service string
	signedHeaders          []string
	signature              string
	at                     time.Time
	presigned              bool
	expires                time.Duration // presigned only
}

// parseSigV4 reads the request's SigV4 authentication without checking it.
func parseSigV4(r *http.Request) (sigV4, *authFailure) {
	incomplete := func(format string, args ...any) (sigV4, *authFailure) {
		return sigV4{}, &authFailure{kind: authIncomplete, msg: fmt.Sprintf(format, args...)}
	}
	var s sigV4
	var cred, dateStr string
	q := r.URL.Query()
	if h := r.Header.Get("Authorization"); h != "" {
		alg, rest, _ := strings.Cut(h, " ")
		if alg != sigV4Algorithm {
			return incomplete("Authorization header requires the %s algorithm.", sigV4Algorithm)
		}
		fields := map[string]string{}
		for _, part := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok {
				fields[k] = v
			}
		}
		for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
			if fields[k] == "" {
				return incomplete("Authorization header requires '%s' parameter. Authorization=%s", k, h)
			}
		}
		cred, s.signature = fields["Credential"], fields["Signature"]
		s.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
		dateStr = r.Header.Get("X-Amz-Date")
		if dateStr == "" {
			return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", h)
		}
	} else if q.Get("X-Amz-Algorithm") != "" || q.Get("X-Amz-Signature") != "" {
		if q.Get("X-Amz-Algorithm") != sigV4Algorithm {
			return incomplete("Query-string authentication requires the %s algorithm.", sigV4Algorithm)
		}
		for _, k := range []string{"X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires"} {
			if q.Get(k) == "" {
				return incomplete("AWS query-string parameters must include '%s'. Re-examine the query-string parameters.", k)
			}
		}
		s.presigned = true
		cred, s.signature, dateStr = q.Get("X-Amz-Credential"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		s.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
		n, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || n <= 0 {
			return incomplete("X-Amz-Expires must be a positive number of seconds.")
		}
		s.expires = time.Duration(n) * time.Second
	} else {
		return sigV4{}, &authFailure{kind: authMissing}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return incomplete("Credential should be scoped to a valid region, not %q.", cred)
	}
	s.keyID, s.region, s.service = parts[0], parts[2], parts[3]
	at, err := time.Parse("20060102T150405Z", dateStr)
	if err != nil || at.Format("20060102") != parts[1] {
		return incomplete("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: %q != %q", parts[1], dateStr)
	}
	s.at = at
	if !slices.Contains(s.signedHeaders, "host") {
		return incomplete("'Host' must be a signed header.")
	}
	return s, nil
}

// fresh checks the signing time against now: within maxClockSkew, and for
// a presigned request before it expires.
func (s sigV4) fresh(now time.Time) *authFailure {
	stamp := s.at.Format("20060102T150405Z")
	switch {
	case s.presigned && now.After(s.at.Add(s.expires)):
		return &authFailure{kind: authExpired, msg: fmt.Sprintf("Request has expired (signed %s, expires after %s).", stamp, s.expires)}
	case now.Sub(s.at) > maxClockSkew:
		return &authFailure{kind: authExpired, msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			stamp, now.Add(-maxClockSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))}
	case s.at.Sub(now) > maxClockSkew:
		return &authFailure{kind: authExpired, msg: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			stamp, now.Add(maxClockSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))}
	}
	return nil
}

// matches recomputes the signature of r (with body) with secret through the
// SDK's own signer, over exactly the headers the client signed, and
// compares it with the one the client sent.
func (s sigV4) matches(r *http.Request, body []byte, secret string) bool {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	if s.presigned {
		q := u.Query()
		q.Del("X-Amz-Signature")
		u.RawQuery = q.Encode()
	}
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range s.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			if vs := r.Header.Values(h); len(vs) > 0 {
				req.Header[textproto.CanonicalMIMEHeaderKey(h)] = vs
			}
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" || s.presigned {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds := awssdk.Credentials{AccessKeyID: s.keyID, SecretAccessKey: secret}
	var got string
	if s.presigned {
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hash, s.service, s.region, s.at)
		if err != nil {
			return false
		}
		su, err := url.Parse(signed)
		if err != nil {
			return false
		}
		got = su.Query().Get("X-Amz-Signature")
	} else {
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, s.service, s.region, s.at); err != nil {
			return false
		}
		_, got, _ = strings.Cut(req.Header.Get("Authorization"), "Signature=")
	}
	return hmac.Equal([]byte(got), []byte(s.signature))
}

// authenticate checks the request's SigV4 signature against the access
// keys of the account's IAM users and returns who signed it.
func (e *Emulator) authenticate(r *http.Request, body []byte) (principal, *authFailure) {
	s, fail := parseSigV4(r)
	if fail != nil {
		return principal{}, fail
	}
	secret, p, ok := e.secretOf(s.keyID)
	if !ok {
		return principal{}, &authFailure{kind: authUnknownKey}
	}
	if !regionRE.MatchString(s.region) {
		return principal{}, &authFailure{kind: authBadScope, msg: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", s.region)}
	}
	if !slices.Contains(scopedServices, s.service) {
		return principal{}, &authFailure{kind: authBadScope, msg: fmt.Sprintf("Credential should be scoped to correct service, not '%s'.", s.service)}
	}
	if fail := s.fresh(time.Now()); fail != nil {
		return principal{}, fail
	}
	if !s.matches(r, body, secret) {
		return principal{}, &authFailure{kind: authBadSignature}
	}
	tok := r.Header.Get("X-Amz-Security-Token")
	if s.presigned {
		tok = r.URL.Query().Get("X-Amz-Security-Token")
	}
	if fail := checkSession(p, tok, time.Now()); fail != nil {
		return principal{}, fail
	}
	return p, nil
}

// checkSession checks the security token a request carries against its
// key: a session's key needs its session token, before it expires; a long-
// term key takes none (AWS refuses both mistakes as an invalid token).
func checkSession(p principal, token string, now time.Time) *authFailure {
	switch {
	case p.SessionToken == "" && token == "":
		return nil
	case p.SessionToken == "" || !hmac.Equal([]byte(token), []byte(p.SessionToken)):
		return &authFailure{kind: authUnknownKey, msg: msgInvalidToken}
	case now.After(p.Expires):
		return &authFailure{kind: authExpiredToken, msg: "The security token included in the request is expired"}
	}
	return nil
}

// tokenSessionToken is the session token an EKS token's presigned URL
// carries, or "".
func tokenSessionToken(token string) string {
	raw, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return ""
	}
	u, err := url.Parse(string(b))
	if err != nil {
		return ""
	}
	return u.Query().Get("X-Amz-Security-Token")
}

// Messages AWS sends with its authentication errors.
const (
	msgInvalidToken   = "The security token included in the request is invalid."
	msgSignatureWrong = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// authReply is how a service answers one kind of authentication failure;
// an empty msg repeats the failure's own.
type authReply struct {
	status int
	code   string
	msg    string
}

// authReplies are each service's answers: EC2's AuthFailure family, the
// query APIs' (IAM, STS) codes, and the JSON services' (EKS) exceptions.
var authReplies = map[string]map[authKind]authReply{
	"ec2": {
		authMissing:      {401, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		authIncomplete:   {400, "IncompleteSignature", ""},
		authUnknownKey:   {401, "AuthFailure", "AWS was not able to validate the provided access credentials"},
		authBadSignature: {401, "AuthFailure", "AWS was not able to validate the provided access credentials"},
		authExpired:      {400, "RequestExpired", ""},
		authBadScope:     {401, "AuthFailure", ""},
		authExpiredToken: {400, "RequestExpired", "Request has expired."},
	},
	"query": {
		authMissing:      {403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		authIncomplete:   {400, "IncompleteSignature", ""},
		authUnknownKey:   {403, "InvalidClientTokenId", msgInvalidToken},
		authBadSignature: {403, "SignatureDoesNotMatch", msgSignatureWrong},
		authExpired:      {403, "SignatureDoesNotMatch", ""},
		authBadScope:     {403, "SignatureDoesNotMatch", ""},
		authExpiredToken: {403, "ExpiredToken", ""},
	},
	"json": {
		authMissing:      {403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		authIncomplete:   {403, "IncompleteSignatureException", ""},
		authUnknownKey:   {403, "UnrecognizedClientException", msgInvalidToken},
		authBadSignature: {403, "InvalidSignatureException", msgSignatureWrong},
		authExpired:      {403, "InvalidSignatureException", ""},
		authBadScope:     {403, "InvalidSignatureException", ""},
		authExpiredToken: {403, "ExpiredTokenException", ""},
	},
}

// authError is the error a service answers an unauthenticated request with,
// with AWS's status.
func authError(service string, f *authFailure) *apiErr {
	family := "json"
	switch service {
	case "ec2":
		family = "ec2"
	case "iam", "sts":
		family = "query"
	}
	r := authReplies[family][f.kind]
	msg := r.msg
	if msg == "" {
		msg = f.msg
	}
	return &apiErr{status: r.status, code: r.code, msg: msg}
}
