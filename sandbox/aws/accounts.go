package aws

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// The emulated AWS organization: the sandbox's own account (env.Account)
// and its member accounts (env.AWSAccounts). Each account has its own
// resources (state); a request runs on the account of the principal that
// signed it, so a key of the sandbox's account sees and makes that
// account's objects, and a session of a role assumed in a member account
// (sts:AssumeRole) that account's. The state of the account a request runs
// on is e.st; e.acct names it; both are switched under e.mu and put back
// to the sandbox's own account before e.mu is released.

// OrgAccessRole is the role every member account has, trusting the
// sandbox's account, as AWS Organizations creates it in the accounts it
// makes.
const OrgAccessRole = "OrganizationAccountAccessRole"

// accountRE is an AWS account id.
func validAccount(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// use makes acct's state the current one (the sandbox's own account for
// "" or an account the emulator does not hold).
func (e *Emulator) use(acct string) {
	if m, ok := e.root.Accounts[acct]; ok && acct != e.env.Account {
		e.st, e.acct = m, acct
		return
	}
	e.st, e.acct = e.root, e.env.Account
}

// accounts lists the sandbox's account, then the member accounts in order.
func (e *Emulator) accounts() []string {
	out := []string{e.env.Account}
	for _, a := range sortedKeys(e.root.Accounts) {
		if a != e.env.Account {
			out = append(out, a)
		}
	}
	return out
}

// eachAccount runs fn on every account's state in turn and reports
// whether any run changed something.
func (e *Emulator) eachAccount(fn func() bool) bool {
	changed := false
	for _, a := range e.accounts() {
		e.use(a)
		if fn() {
			changed = true
		}
	}
	e.use(e.env.Account)
	return changed
}

// holds reports whether acct is one of the emulated accounts.
func (e *Emulator) holds(acct string) bool {
	_, ok := e.root.Accounts[acct]
	return acct == e.env.Account || ok
}

// ensureMembers makes the member accounts env.AWSAccounts names that the
// state does not hold yet, each with OrgAccessRole, and reports whether
// it made any.
func (e *Emulator) ensureMembers() bool {
	changed := false
	for _, acct := range e.env.AWSAccounts {
		if acct == e.env.Account || !validAccount(acct) {
			continue
		}
		if _, ok := e.root.Accounts[acct]; ok {
			continue
		}
		m := newState()
		trust, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + e.env.Account + ":root"}, "Action": "sts:AssumeRole"}}})
		m.Roles[OrgAccessRole] = &roleRec{V: iamtypes.Role{
			RoleName: ptr(OrgAccessRole), Path: ptr("/"), RoleId: ptr(awsID("AROA", 17)),
			Arn: ptr(fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, OrgAccessRole)), CreateDate: ptr(e.env.Now().UTC()),
			AssumeRolePolicyDocument: ptr(string(trust)), MaxSessionDuration: ptr(int32(3600)),
			Description: ptr("Made by the sandbox, as AWS Organizations makes it in a member account"),
		}, Policies: []iamtypes.AttachedPolicy{{PolicyName: ptr("AdministratorAccess"), PolicyArn: ptr(policyARNPrefix + "AdministratorAccess")}}}
		if e.root.Accounts == nil {
			e.root.Accounts = map[string]*state{}
		}
		e.root.Accounts[acct] = m
		changed = true
	}
	return changed
}

// policyARNPrefix starts the ARN of every AWS managed policy.
const policyARNPrefix = "arn:aws:iam::aws:policy/"

// kubeID names a cluster's API server in sandbox/kube; clusters of member
// accounts carry their account, so equal names in two accounts differ.
func (e *Emulator) kubeID(region, name string) string {
	id := "aws-" + region + "-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	if e.acct != e.env.Account {
		id = "aws-" + e.acct + "-" + strings.TrimPrefix(id, "aws-")
	}
	return id
}

// clusterKey names a cluster across accounts (its access controller's
// key): region/name in the sandbox's account, ACCOUNT/region/name in a
// member account.
func (e *Emulator) clusterKey(region, name string) string {
	if e.acct != e.env.Account {
		return e.acct + "/" + region + "/" + name
	}
	return region + "/" + name
}

// clusterAt finds the cluster clusterKey named, in its account. Call it
// under e.mu.
func (e *Emulator) clusterAt(key string) (*clusterRec, bool) {
	acct := e.env.Account
	if parts := strings.SplitN(key, "/", 3); len(parts) == 3 {
		acct, key = parts[0], parts[1]+"/"+parts[2]
	}
	e.use(acct)
	defer e.use(e.env.Account)
	if e.acct != acct {
		return nil, false
	}
	c, ok := e.st.Clusters[key]
	return c, ok
}

// sessionRec is a set of temporary credentials sts:AssumeRole issued.
type sessionRec struct {
	Secret  string    `json:"secret"`
	Token   string    `json:"sessionToken"`
	Expires time.Time `json:"expires"`
	// Account and Role are the assumed role's account and name; RoleID
	// its unique id; Session the session name.
	Account string `json:"account"`
	Role    string `json:"role"`
	RoleID  string `json:"roleId"`
	Session string `json:"session"`
}

// sessionPrincipal is who a session acts as.
func (s *sessionRec) principal(keyID string) principal {
	return principal{
		User: s.Session, KeyID: keyID, Account: s.Account, SessionToken: s.Token, Expires: s.Expires,
		Arn:     fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.Account, s.Role, s.Session),
		UserID:  s.RoleID + ":" + s.Session,
		RoleArn: fmt.Sprintf("arn:aws:iam::%s:role/%s", s.Account, s.Role),
	}
}

// trusts reports whether role's trust policy lets caller assume it
// (sts:AssumeRole allowed to the caller's account root, account id or
// ARN), and whether it asks an external id the call must match.
func (r *roleRec) trusts(caller principal, externalID string) bool {
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(deref(r.V.AssumeRolePolicyDocument)), &doc); err != nil {
		return false
	}
	var stmts []trustStatement
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one trustStatement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		stmts = []trustStatement{one}
	}
	allowed := false
	for _, s := range stmts {
		if !s.matches(caller) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		if want := s.Condition.StringEquals["sts:ExternalId"]; want != "" && want != externalID {
			continue
		}
		allowed = true
	}
	return allowed
}

// trustStatement is one statement of a trust policy, as far as the
// sandbox reads it.
type trustStatement struct {
	Effect    string
	Action    stringList
	Principal struct {
		AWS stringList
	}
	Condition struct {
		StringEquals map[string]string
	}
}

func (s trustStatement) matches(caller principal) bool {
	if !slices.Contains(s.Action, "sts:AssumeRole") && !slices.Contains(s.Action, "sts:*") && !slices.Contains(s.Action, "*") {
		return false
	}
	for _, p := range s.Principal.AWS {
		switch p {
		case caller.Account, "arn:aws:iam::" + caller.Account + ":root", caller.iamArn(), "*":
			return true
		}
	}
	return false
}

// stringList is a policy value that is one string or a list of them.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}
