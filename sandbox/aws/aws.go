// Package aws emulates the slice of AWS that regionctl drives — EKS
// (restJson1), EC2 (ec2Query) and IAM (awsQuery) — on one HTTP endpoint,
// routing each request by the service name in its SigV4 credential scope.
// Replies are rendered from the SDK's own types and schemas.
package aws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Emulator is the AWS emulator. Create it with New; Close stops its
// background work.
type Emulator struct {
	env emu.Env
	mu  sync.Mutex
	// root is the state of the sandbox's own account, which also holds
	// the member accounts' and the STS sessions; st and acct are the
	// account a request runs on (accounts.go).
	root *state
	st   *state
	acct string

	// internalToken authenticates the emulator's own controllers to its
	// clusters' API servers (held in memory only).
	internalToken string
	controllers   map[string]*accessController // by cluster key
	ctx           context.Context
	cancel        context.CancelFunc
}

var _ emu.Emulator = (*Emulator)(nil)

// New returns an empty AWS emulator.
func New(env emu.Env) *Emulator {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Latency == nil {
		env.Latency = func(string) time.Duration { return 0 }
	}
	if env.Account == "" {
		env.Account = "123456789012"
	}
	if env.Region == "" {
		env.Region = "us-east-1"
	}
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{env: env, root: newState(), internalToken: "sandbox-eks." + hex.EncodeToString(b[:]),
		controllers: map[string]*accessController{}, ctx: ctx, cancel: cancel}
	e.ensureMembers()
	e.use(env.Account)
	return e
}

// Cloud is "aws".
func (e *Emulator) Cloud() string { return "aws" }

// apiErr is an error reply in the service's own shape.
type apiErr struct {
	status int
	code   string
	msg    string
	extra  map[string]string // EKS: extra JSON members (clusterName, …)
}

func (a *apiErr) Error() string { return a.code + ": " + a.msg }

func errf(status int, code, format string, args ...any) *apiErr {
	return &apiErr{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

var credScopeRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// scope returns the region and service of the request's SigV4 credential
// scope, if signed.
func scope(r *http.Request) (region, service string) {
	m := credScopeRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

func (e *Emulator) service(r *http.Request, body []byte) (string, url.Values) {
	_, svc := scope(r)
	var form url.Values
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ = url.ParseQuery(string(body)) // a malformed body yields no Action and an error reply
	}
	switch svc {
	case "ec2", "iam", "eks", "sts":
		return svc, form
	}
	switch form.Get("Version") {
	case "2016-11-15":
		return "ec2", form
	case "2010-05-08":
		return "iam", form
	case "2011-06-15":
		return "sts", form
	}
	return "eks", form
}

// Operation names the operation: "ec2:CreateVpc", "iam:CreateRole",
// "sts:GetCallerIdentity", "eks:CreateCluster"; unknown ones are
// "SERVICE:Unknown".
func (e *Emulator) Operation(r *http.Request, body []byte) string {
	svc, form := e.service(r, body)
	switch svc {
	case "ec2", "iam", "sts":
		if a := form.Get("Action"); a != "" {
			return svc + ":" + a
		}
		return svc + ":Unknown"
	}
	if op, _ := matchEKS(r.Method, r.URL.EscapedPath()); op != "" {
		return "eks:" + op
	}
	return "eks:Unknown"
}

func (e *Emulator) region(r *http.Request) string {
	if reg, _ := scope(r); reg != "" {
		return reg
	}
	return e.env.Region
}

// Serve answers one call: it authenticates the request's SigV4 signature
// against the account's access keys first, refusing it as the service
// would, then runs the operation as the principal that signed it.
func (e *Emulator) Serve(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := e.settle()
	svc, formVals := e.service(r, c.Body)
	reqID := uuid.NewString()
	caller, fail := e.authenticate(r, c.Body)
	if fail != nil {
		writeError(w, svc, reqID, authError(svc, fail))
		return changed
	}
	e.use(caller.Account) // the request runs on its caller's account
	defer e.use(e.env.Account)
	var ch bool
	switch svc {
	case "ec2":
		ch = e.serveEC2(w, form(formVals), e.region(r), c, reqID)
	case "iam":
		ch = e.serveIAM(w, form(formVals), c, reqID, caller)
	case "sts":
		ch = e.serveSTS(w, form(formVals), caller, reqID)
	default:
		ch = e.serveEKS(w, r, e.region(r), c, reqID, caller)
	}
	return changed || ch
}

// writeError writes an error in the service's own shape.
func writeError(w http.ResponseWriter, svc, reqID string, a *apiErr) {
	switch svc {
	case "ec2":
		writeEC2Error(w, reqID, a)
	case "iam":
		writeQueryError(w, IAMNamespace, reqID, a)
	case "sts":
		writeQueryError(w, STSNamespace, reqID, a)
	default:
		writeEKSError(w, reqID, a)
	}
}

// WriteFault writes the service's own throttling or internal error.
func (e *Emulator) WriteFault(w http.ResponseWriter, r *http.Request, op string, kind emu.FaultKind) {
	svc, _, _ := strings.Cut(op, ":")
	reqID := uuid.NewString()
	throttle := kind == emu.FaultThrottle
	var a *apiErr
	switch svc {
	case "ec2":
		a = errf(500, "InternalError", "An internal error has occurred")
		if throttle {
			a = errf(503, "RequestLimitExceeded", "Request limit exceeded.")
		}
	case "iam", "sts":
		a = errf(500, "ServiceFailure", "Request processing has failed due to some unknown error, exception or failure.")
		if throttle {
			a = errf(400, "Throttling", "Rate exceeded")
		}
	default:
		a = errf(500, "ServerException", "An internal error occurred.")
		if throttle {
			a = errf(429, "ThrottlingException", "Rate exceeded")
		}
	}
	writeError(w, svc, reqID, a)
}

// Save serializes the state.
func (e *Emulator) Save() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	return json.MarshalIndent(e.root, "", " ")
}

// Load restores state written by Save.
func (e *Emulator) Load(data []byte) error {
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return fmt.Errorf("decode aws state: %w", err)
	}
	st.fill()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.root = st
	e.ensureMembers()
	e.use(e.env.Account)
	e.eachAccount(func() bool { e.restartKube(); return false })
	return nil
}

// Objects lists every object held.
func (e *Emulator) Objects() []emu.Object {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	var out []emu.Object
	e.eachAccount(func() bool {
		out = append(out, e.objects()...)
		return false
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// objects lists the objects of the current account.
func (e *Emulator) objects() []emu.Object {
	var out []emu.Object
	acct := ""
	if e.acct != e.env.Account {
		acct = e.acct
	}
	add := func(typ, id, name, region, st string) {
		out = append(out, emu.Object{Cloud: "aws", Type: typ, ID: id, Name: name, Region: region, State: st, Account: acct})
	}
	s := e.st
	for id, v := range s.Vpcs {
		add("ec2:vpc", id, ec2Name(v.V.Tags), v.Region, string(v.V.State))
	}
	for id, v := range s.Subnets {
		add("ec2:subnet", id, ec2Name(v.V.Tags), v.Region, string(v.V.State))
	}
	for id, v := range s.IGWs {
		add("ec2:internet-gateway", id, ec2Name(v.V.Tags), v.Region, "")
	}
	for id, v := range s.Addresses {
		add("ec2:elastic-ip", id, ec2Name(v.V.Tags), v.Region, "")
	}
	for id, v := range s.NATs {
		if v.V.State != "deleted" {
			add("ec2:natgateway", id, ec2Name(v.V.Tags), v.Region, string(v.V.State))
		}
	}
	for id, v := range s.RouteTables {
		add("ec2:route-table", id, ec2Name(v.V.Tags), v.Region, "")
	}
	for id, v := range s.SGs {
		add("ec2:security-group", id, deref(v.V.GroupName), v.Region, "")
	}
	for name, v := range s.Roles {
		if acct == "" || name != OrgAccessRole { // the organization's role is the member account's, not an object
			add("iam:role", deref(v.V.RoleId), name, "", "")
		}
	}
	for u := range s.OIDCProviders {
		add("iam:oidc-provider", e.oidcARN(u), u, "", "")
	}
	for name, u := range s.Users {
		if !u.Builtin { // the sandbox's own identity is the account's, not an object
			add("iam:user", deref(u.V.UserId), name, "", "")
		}
	}
	for _, c := range s.Clusters {
		add("eks:cluster", deref(c.V.Arn), deref(c.V.Name), c.Region, string(c.V.Status))
		for _, n := range c.Nodegroups {
			add("eks:nodegroup", deref(n.V.NodegroupArn), deref(n.V.NodegroupName), c.Region, string(n.V.Status))
		}
		for _, a := range c.Addons {
			add("eks:addon", deref(a.V.AddonArn), deref(a.V.AddonName), c.Region, string(a.V.Status))
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// hexID returns prefix + 17 lowercase hex digits, the shape of EC2 ids.
func hexID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// due reports whether an operation that completes at t has completed.
func (e *Emulator) due(t time.Time) bool { return !e.env.Now().Before(t) }

func (e *Emulator) after(op string) time.Time { return e.env.Now().Add(e.env.Latency(op)).UTC() }

// settle advances every asynchronous state whose time has come and reports
// whether anything changed.
func (e *Emulator) settle() bool {
	return e.eachAccount(func() bool {
		a := e.settleEC2()
		b := e.settleEKS()
		return a || b
	})
}
