package aws

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// serveSTS answers STS (awsQuery): GetCallerIdentity says who signed the
// request (so `aws sts get-caller-identity` shows the sandbox's identity),
// and AssumeRole issues temporary credentials for a role of any emulated
// account whose trust policy allows the caller. Those credentials (an
// ASIA… key, a secret and a session token) then sign requests like an IAM
// user's key, until they expire, and act in the role's account.
func (e *Emulator) serveSTS(w http.ResponseWriter, f form, caller principal, reqID string) bool {
	switch op := f.get("Action"); op {
	case "GetCallerIdentity":
		writeQueryResult(w, STSNamespace, "GetCallerIdentity", reqID, &sts.GetCallerIdentityOutput{
			Account: ptr(caller.Account), Arn: ptr(caller.Arn), UserId: ptr(caller.UserID)})
		return false
	case "AssumeRole":
		out, aerr := e.assumeRole(f, caller)
		if aerr != nil {
			writeQueryError(w, STSNamespace, reqID, aerr)
			return false
		}
		writeQueryResult(w, STSNamespace, "AssumeRole", reqID, out)
		return true
	default:
		writeQueryError(w, STSNamespace, reqID, errf(400, "InvalidAction", "Could not find operation %s for version 2011-06-15", op))
		return false
	}
}

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// assumeRole issues a session of the role RoleArn names, as STS does:
// the role must exist in an emulated account and trust the caller (its
// account root, account id or ARN, and the external id its trust policy
// asks for); DurationSeconds is 900 up to the role's maximum session
// duration (3600 by default).
func (e *Emulator) assumeRole(f form, caller principal) (*sts.AssumeRoleOutput, *apiErr) {
	roleArn, session, extID := f.get("RoleArn"), f.get("RoleSessionName"), f.get("ExternalId")
	switch {
	case len(roleArn) < 20:
		return nil, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", roleArn)
	case !sessionNameRE.MatchString(session):
		return nil, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session)
	case extID != "" && (len(extID) < 2 || len(extID) > 1224 || !externalIDRE.MatchString(extID)):
		return nil, errf(400, "ValidationError", "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
	}
	denied := errf(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.Arn, roleArn)
	m := roleArnRE.FindStringSubmatch(roleArn)
	if m == nil || !e.holds(m[1]) {
		return nil, denied
	}
	acct, name := m[1], m[2]
	st := e.root
	if acct != e.env.Account {
		st = e.root.Accounts[acct]
	}
	role, ok := st.Roles[name]
	if !ok || !role.trusts(caller, extID) {
		return nil, denied
	}
	maxDur := int(deref(role.V.MaxSessionDuration))
	if maxDur == 0 {
		maxDur = 3600
	}
	dur := 3600
	if s := f.get("DurationSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 900 || n > 43200 {
			return nil, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", s)
		}
		dur = n
	}
	if dur > maxDur {
		return nil, errf(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	keyID := awsID("ASIA", 16)
	var b [96]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	rec := &sessionRec{Secret: newSecret(), Token: "FwoGZXIvYXdzE" + base64.StdEncoding.EncodeToString(b[:]),
		Expires: e.env.Now().UTC().Add(time.Duration(dur) * time.Second).Truncate(time.Second),
		Account: acct, Role: name, RoleID: deref(role.V.RoleId), Session: session}
	if e.root.Sessions == nil {
		e.root.Sessions = map[string]*sessionRec{}
	}
	e.pruneSessions()
	e.root.Sessions[keyID] = rec
	p := rec.principal(keyID)
	return &sts.AssumeRoleOutput{
		Credentials:      &ststypes.Credentials{AccessKeyId: ptr(keyID), SecretAccessKey: ptr(rec.Secret), SessionToken: ptr(rec.Token), Expiration: ptr(rec.Expires)},
		AssumedRoleUser:  &ststypes.AssumedRoleUser{Arn: ptr(p.Arn), AssumedRoleId: ptr(p.UserID)},
		PackedPolicySize: nil, SourceIdentity: nil,
	}, nil
}

// pruneSessions forgets sessions that expired more than a day ago.
func (e *Emulator) pruneSessions() {
	cutoff := e.env.Now().Add(-24 * time.Hour)
	for id, s := range e.root.Sessions {
		if s.Expires.Before(cutoff) {
			delete(e.root.Sessions, id)
		}
	}
}
