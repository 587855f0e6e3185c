package aws

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// AdminUser is the IAM user the sandbox issues its credentials to: the
// identity regionctl's driver and the aws CLI use in sandbox mode. It
// creates the clusters, so it is their creator (cluster admin).
const AdminUser = "sandbox-admin"

// Credentials are an IAM user's access key, as the sandbox issues it.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// Account is the emulated account id; UserArn the key's owner.
	Account string
	UserArn string
}

// userRec is an IAM user. The sandbox's own user (Builtin) is the account's
// identity: it is not listed among the objects and cannot be deleted.
type userRec struct {
	V       iamtypes.User `json:"user"`
	Builtin bool          `json:"builtin,omitempty"`
}

// keyRec is an access key of an IAM user.
type keyRec struct {
	User    string    `json:"user"`
	Secret  string    `json:"secret"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
}

// principal is who signed a request: an IAM user of an emulated account,
// or a session of a role assumed with sts:AssumeRole.
type principal struct {
	User   string // the user's name, or the session's
	Arn    string // the user's ARN, or the session's assumed-role ARN
	UserID string
	KeyID  string
	// Account is the account the principal acts in.
	Account string
	// RoleArn is the assumed role (sessions only): what EKS maps access
	// entries and trust policies by.
	RoleArn string
	// SessionToken is the token a session's requests must carry, and
	// Expires when it stops working (sessions only).
	SessionToken string
	Expires      time.Time
}

// iamArn is the IAM principal behind p: its user, or its session's role.
func (p principal) iamArn() string {
	if p.RoleArn != "" {
		return p.RoleArn
	}
	return p.Arn
}

// idAlphabet is what AWS's unique ids and access key ids are made of.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// awsID returns prefix + n characters of AWS's id alphabet: AROA + 17 for
// role ids, AIDA + 17 for user ids, AKIA + 16 for access key ids.
func awsID(prefix string, n int) string {
	return prefix + randomFrom(idAlphabet, n)
}

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, _ := rand.Int(rand.Reader, max) // crypto/rand never fails
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// newSecret returns a 40-character secret access key.
func newSecret() string {
	return randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
}

func (e *Emulator) userArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user%s%s", e.acct, path, name)
}

// newUser records an IAM user (the caller checked the name is free).
func (e *Emulator) newUser(name, path string, tags []iamtypes.Tag) *userRec {
	if path == "" {
		path = "/"
	}
	u := &userRec{V: iamtypes.User{UserName: ptr(name), Path: ptr(path), UserId: ptr(awsID("AIDA", 17)),
		Arn: ptr(e.userArn(path, name)), CreateDate: ptr(e.env.Now().UTC()), Tags: tags}}
	e.st.Users[name] = u
	return u
}

// newKey issues an active access key to user.
func (e *Emulator) newKey(user string) (string, *keyRec) {
	id := awsID("AKIA", 16)
	k := &keyRec{User: user, Secret: newSecret(), Status: string(iamtypes.StatusTypeActive), Created: e.env.Now().UTC()}
	e.st.Keys[id] = k
	return id, k
}

// EnsureCredentials returns the sandbox's own credentials, issuing them
// (user AdminUser and one access key) the first time, and reports whether
// it changed the state (save it then).
func (e *Emulator) EnsureCredentials() (Credentials, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := false
	u, ok := e.st.Users[AdminUser]
	if !ok || !u.Builtin {
		u = e.newUser(AdminUser, "/", nil)
		u.Builtin = true
		changed = true
	}
	// Clusters made before the sandbox issued credentials were created
	// by this user.
	for _, c := range e.st.Clusters {
		if c.Creator == "" {
			c.Creator = deref(u.V.Arn)
			e.bootstrapCreatorAccess(c, c.Region)
			changed = true
		}
	}
	for _, id := range sortedKeys(e.st.Keys) {
		if k := e.st.Keys[id]; k.User == AdminUser && k.Status == string(iamtypes.StatusTypeActive) {
			return Credentials{AccessKeyID: id, SecretAccessKey: k.Secret, Account: e.env.Account, UserArn: deref(u.V.Arn)}, changed
		}
	}
	id, k := e.newKey(AdminUser)
	return Credentials{AccessKeyID: id, SecretAccessKey: k.Secret, Account: e.env.Account, UserArn: deref(u.V.Arn)}, true
}

// secretOf returns the secret of an active access key of any emulated
// account, or of a session sts:AssumeRole issued, and who owns it.
func (e *Emulator) secretOf(keyID string) (string, principal, bool) {
	if s, ok := e.root.Sessions[keyID]; ok {
		return s.Secret, s.principal(keyID), true
	}
	for _, acct := range e.accounts() {
		st := e.root
		if acct != e.env.Account {
			st = e.root.Accounts[acct]
		}
		k, ok := st.Keys[keyID]
		if !ok || k.Status != string(iamtypes.StatusTypeActive) {
			continue
		}
		u, ok := st.Users[k.User]
		if !ok {
			continue
		}
		return k.Secret, principal{User: k.User, Arn: deref(u.V.Arn), UserID: deref(u.V.UserId), KeyID: keyID, Account: acct}, true
	}
	return "", principal{}, false
}

// iamUserOp answers the IAM user and access key operations; ok is false for
// any other operation.
func (e *Emulator) iamUserOp(op string, f form, caller principal) (out smithy.Serializable, changed bool, aerr *apiErr, ok bool) {
	s := e.st
	user := func() (*userRec, *apiErr) {
		name := f.get("UserName")
		if name == "" {
			name = caller.User // these operations default to the caller
		}
		u, found := s.Users[name]
		if !found {
			return nil, errf(404, "NoSuchEntity", "The user with name %s cannot be found.", name)
		}
		return u, nil
	}
	switch op {
	case "CreateUser":
		name := f.get("UserName")
		if !roleNameRE.MatchString(name) {
			return nil, false, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name), true
		}
		if _, found := s.Users[name]; found {
			return nil, false, errf(409, "EntityAlreadyExists", "User with name %s already exists.", name), true
		}
		tags := iamTags(f)
		if aerr := checkTags("iam:CreateUser", nil, iamTagMap(tags)); aerr != nil {
			return nil, false, aerr, true
		}
		u := e.newUser(name, f.get("Path"), tags)
		return &iam.CreateUserOutput{User: ptr(u.V)}, true, nil, true

	case "ListUsers":
		users := []iamtypes.User{}
		for _, name := range sortedKeys(s.Users) {
			if u := s.Users[name]; strings.HasPrefix(deref(u.V.Path), pathPrefix(f)) {
				v := u.V
				v.Tags = nil // ListUsers does not return tags
				users = append(users, v)
			}
		}
		return &iam.ListUsersOutput{Users: users, IsTruncated: false}, false, nil, true

	case "GetUser":
		u, aerr := user()
		if aerr != nil {
			return nil, false, aerr, true
		}
		return &iam.GetUserOutput{User: ptr(u.V)}, false, nil, true

	case "DeleteUser":
		u, aerr := user()
		if aerr != nil {
			return nil, false, aerr, true
		}
		if u.Builtin {
			return nil, false, errf(409, "DeleteConflict", "The sandbox's own user %s cannot be deleted.", AdminUser), true
		}
		for _, k := range s.Keys {
			if k.User == deref(u.V.UserName) {
				return nil, false, errf(409, "DeleteConflict", "Cannot delete entity, must delete access keys first."), true
			}
		}
		delete(s.Users, deref(u.V.UserName))
		return &iam.DeleteUserOutput{}, true, nil, true

	case "CreateAccessKey":
		u, aerr := user()
		if aerr != nil {
			return nil, false, aerr, true
		}
		n := 0
		for _, k := range s.Keys {
			if k.User == deref(u.V.UserName) {
				n++
			}
		}
		if n >= 2 {
			return nil, false, errf(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"), true
		}
		id, k := e.newKey(deref(u.V.UserName))
		return &iam.CreateAccessKeyOutput{AccessKey: &iamtypes.AccessKey{AccessKeyId: ptr(id), SecretAccessKey: ptr(k.Secret),
			UserName: u.V.UserName, Status: iamtypes.StatusType(k.Status), CreateDate: ptr(k.Created)}}, true, nil, true

	case "ListAccessKeys":
		u, aerr := user()
		if aerr != nil {
			return nil, false, aerr, true
		}
		meta := []iamtypes.AccessKeyMetadata{}
		for _, id := range sortedKeys(s.Keys) {
			if k := s.Keys[id]; k.User == deref(u.V.UserName) {
				meta = append(meta, iamtypes.AccessKeyMetadata{AccessKeyId: ptr(id), UserName: u.V.UserName, Status: iamtypes.StatusType(k.Status), CreateDate: ptr(k.Created)})
			}
		}
		return &iam.ListAccessKeysOutput{AccessKeyMetadata: meta}, false, nil, true

	case "DeleteAccessKey":
		u, aerr := user()
		if aerr != nil {
			return nil, false, aerr, true
		}
		id := f.get("AccessKeyId")
		k, found := s.Keys[id]
		if !found || k.User != deref(u.V.UserName) {
			return nil, false, errf(404, "NoSuchEntity", "The Access Key with id %s cannot be found.", id), true
		}
		if u.Builtin {
			return nil, false, errf(409, "DeleteConflict", "The sandbox's own access key cannot be deleted."), true
		}
		delete(s.Keys, id)
		return &iam.DeleteAccessKeyOutput{}, true, nil, true
	}
	return nil, false, nil, false
}
