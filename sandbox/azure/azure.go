// Package azure emulates the slice of Azure Resource Manager that regionctl
// and the tools people use with it (the Go SDK, the az CLI) drive —
// subscriptions and tenants, resource groups, AKS managed clusters and agent
// pools with what AKS puts in their node resource groups, virtual networks,
// subnets, public IP addresses and NAT gateways — and the Microsoft Entra ID
// tenant that issues the bearer tokens ARM checks, on one endpoint (https,
// and plain http for tests), with ARM's long-running-operation protocol
// (201/202 with Azure-AsyncOperation and Location, provisioningState moving
// from the emulated clock), ARM's paging, error bodies, api-version,
// location and tag checks. Replies are the SDK's own model types, marshalled
// by their MarshalJSON methods.
package azure

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// DefaultSubscription is the subscription id examples and tests use; any
// GUID names a subscription of the sandbox's tenant.
const DefaultSubscription = "00000000-0000-0000-0000-000000000000"

// TenantID is the tenant the emulated identities belong to.
const TenantID = "11111111-1111-1111-1111-111111111111"

// Emulator is the Azure Resource Manager emulator. Create it with New.
type Emulator struct {
	env emu.Env
	mu  sync.Mutex
	st  *state
	// signer is the parsed token-signing key of st.Identity.
	signer *rsa.PrivateKey
	// verified caches the tokens verifyBearer accepted, with their
	// expiry (cleared with the key).
	verified map[string]time.Time
}

var (
	_ emu.Emulator  = (*Emulator)(nil)
	_ emu.TLSServer = (*Emulator)(nil)
)

// New returns an empty Azure emulator.
func New(env emu.Env) *Emulator {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Latency == nil {
		env.Latency = func(string) time.Duration { return 0 }
	}
	return &Emulator{env: env, st: newState(), verified: map[string]time.Time{}}
}

// Cloud is "azure".
func (e *Emulator) Cloud() string { return "azure" }

// armErr is an error reply in ARM's shape:
// {"error":{"code":…,"message":…}} plus the x-ms-error-code header.
type armErr struct {
	status int
	code   string
	msg    string
}

func (a *armErr) Error() string { return a.code + ": " + a.msg }

func errf(status int, code, format string, args ...any) *armErr {
	return &armErr{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func badParam(format string, args ...any) *armErr {
	return errf(http.StatusBadRequest, "InvalidParameter", format, args...)
}

func writeErr(w http.ResponseWriter, a *armErr) {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": a.code, "message": a.msg}}) // strings always marshal
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-error-code", a.code)
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeErr(w, errf(http.StatusInternalServerError, "InternalServerError", "encode reply: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Operation names the operation: "azure:managedClusters.createOrUpdate",
// "azure:subnets.delete", "azure:asyncOperations.get"; unknown ones are
// "azure:Unknown".
func (e *Emulator) Operation(r *http.Request, _ []byte) string {
	if ip := parseIdentityPath(r.URL.Path); ip.op != "" {
		return ip.op
	}
	rt := parseRoute(r.Method, r.URL.Path)
	if rt.op == "" {
		return "azure:Unknown"
	}
	return "azure:" + rt.op
}

// Serve answers one call.
func (e *Emulator) Serve(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	if ip := parseIdentityPath(r.URL.Path); ip.op != "" {
		return e.serveIdentity(w, r, ip, c)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("x-ms-request-id", uuid.NewString())
	w.Header().Set("x-ms-correlation-request-id", uuid.NewString())
	if aerr := e.verifyBearer(w, r.Header.Get("Authorization")); aerr != nil {
		writeErr(w, aerr)
		return false
	}
	rt := parseRoute(r.Method, r.URL.Path)
	if rt.sub != "" {
		if aerr := checkSubscription(rt.sub); aerr != nil {
			writeErr(w, aerr)
			return false
		}
	}
	if rt.op == "" && rt.typ == "" {
		writeErr(w, errf(http.StatusNotFound, "InvalidResourceType", "The resource type could not be found for the request path '%s'.", r.URL.Path))
		return false
	}
	if aerr := checkAPIVersion(rt, r.URL.Query().Get("api-version")); aerr != nil {
		writeErr(w, aerr)
		return false
	}
	changed := e.settle()
	if aerr := e.denyNodeGroupWrite(r, rt); aerr != nil {
		writeErr(w, aerr)
		return changed
	}
	if rt.op == "" {
		writeErr(w, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed on %s.", r.Method, r.URL.Path))
		return changed
	}
	if aerr := checkBody(r, rt, c.Body); aerr != nil {
		writeErr(w, aerr)
		return changed
	}
	if shapes := shapesFor(rt, r.URL.Query().Get("api-version")); len(shapes) > 0 {
		if r.Method == http.MethodPut || r.Method == http.MethodPatch {
			c.Body = reshapeRequest(shapes, c.Body)
		}
		sw := &shapeWriter{ResponseWriter: w}
		defer sw.flush(shapes, strings.HasSuffix(rt.op, ".list") || strings.HasSuffix(rt.op, ".listAll"))
		w = sw
	}
	ch, aerr := e.dispatch(w, r, rt, c)
	if aerr != nil {
		writeErr(w, aerr)
	}
	return changed || ch
}

// checkBody is ARM's front-door check of a PUT: the location and tags of
// a tracked resource (a resource group, cluster, VNet, public IP, NAT
// gateway).
func checkBody(r *http.Request, rt route, body []byte) *armErr {
	if r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return nil
	}
	typ := ""
	switch rt.typ {
	case "resourceGroups":
	case "managedClusters", "virtualNetworks", "publicIPAddresses", "natGateways", "loadBalancers", "networkSecurityGroups", "routeTables", "virtualMachineScaleSets":
		typ = rt.ns + "/" + rt.typ
	default:
		return nil // child resources carry neither
	}
	var env struct {
		Location string             `json:"location"`
		Tags     map[string]*string `json:"tags"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil // the provider answers InvalidRequestContent
	}
	return checkEnvelope(normLocation(env.Location), env.Tags, typ)
}

func (e *Emulator) dispatch(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	switch rt.typ {
	case "asyncOperations", "operationResults":
		return false, e.serveOperation(w, r, rt)
	case "subscriptions", "tenants", "locations":
		return false, e.serveSubscriptions(w, r, rt)
	case "kubernetesVersions", "orchestrators":
		return false, e.serveAKSVersions(w, rt)
	case "roleAssignments", "roleDefinitions":
		return e.serveAuthorization(w, r, rt, c)
	}
	if rt.all {
		return false, e.serveListAll(w, r, rt)
	}
	switch rt.typ {
	case "resourceGroups":
		return e.serveGroup(w, r, rt, c)
	case "managedClusters":
		return e.serveCluster(w, r, rt, c)
	case "agentPools":
		return e.servePool(w, r, rt, c)
	case "virtualNetworks":
		return e.serveVNet(w, r, rt, c)
	case "subnets":
		return e.serveSubnet(w, r, rt, c)
	case "publicIPAddresses":
		return e.servePIP(w, r, rt, c)
	case "natGateways":
		return e.serveNAT(w, r, rt, c)
	case "loadBalancers", "networkSecurityGroups", "routeTables", "virtualMachineScaleSets":
		return false, e.serveNodeObject(w, r, rt)
	}
	return false, errf(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' could not be found.", rt.typ)
}

// WriteFault writes ARM's throttling (429 TooManyRequests with Retry-After)
// or internal-error (500 InternalServerError) reply.
func (e *Emulator) WriteFault(w http.ResponseWriter, _ *http.Request, _ string, kind emu.FaultKind) {
	w.Header().Set("x-ms-request-id", uuid.NewString())
	if kind == emu.FaultThrottle {
		// ARM sends Retry-After in seconds; azcore reads retry-after-ms
		// first, which keeps a sandbox run fast.
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Retry-After-Ms", strconv.Itoa(int(throttleDelay/time.Millisecond)))
		w.Header().Set("x-ms-ratelimit-remaining-subscription-writes", "0")
		writeErr(w, errf(http.StatusTooManyRequests, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Write. Please retry after 1 second."))
		return
	}
	writeErr(w, errf(http.StatusInternalServerError, "InternalServerError", "Encountered internal server error. Diagnostic information: timestamp '%s'.", e.env.Now().UTC().Format("20060102T150405Z")))
}

// throttleDelay is the retry-after-ms of a throttled reply.
const throttleDelay = 50 * time.Millisecond

// Save serializes the state.
func (e *Emulator) Save() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	return json.MarshalIndent(e.st, "", " ")
}

// Load restores state written by Save.
func (e *Emulator) Load(data []byte) error {
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return fmt.Errorf("decode azure state: %w", err)
	}
	st.fill()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st, e.signer = st, nil
	clear(e.verified)
	for _, c := range st.Clusters {
		ensureTokens(c) // a state written before clusters had them
	}
	e.restartKube()
	return nil
}

// Objects lists every object held (not the finished operations).
func (e *Emulator) Objects() []emu.Object {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	e.pruneAssignments()
	var out []emu.Object
	add := func(typ string, id, name, loc, st *string) {
		out = append(out, emu.Object{Cloud: "azure", Type: typ, ID: deref(id), Name: deref(name), Region: deref(loc), State: deref(st)})
	}
	s := e.st
	for _, g := range s.Groups {
		add("resourceGroup", g.V.ID, g.V.Name, g.V.Location, g.V.Properties.ProvisioningState)
	}
	for _, c := range s.Clusters {
		add("managedCluster", c.V.ID, c.V.Name, c.V.Location, c.V.Properties.ProvisioningState)
	}
	for _, p := range s.Pools {
		loc := s.Clusters[p.Cluster].V.Location
		add("agentPool", p.V.ID, p.V.Name, loc, p.V.Properties.ProvisioningState)
	}
	for _, v := range s.VNets {
		add("virtualNetwork", v.V.ID, v.V.Name, v.V.Location, (*string)(v.V.Properties.ProvisioningState))
	}
	for _, sn := range s.Subnets {
		add("subnet", sn.V.ID, sn.V.Name, s.VNets[sn.VNet].V.Location, (*string)(sn.V.Properties.ProvisioningState))
	}
	for _, p := range s.PIPs {
		add("publicIPAddress", p.V.ID, p.V.Name, p.V.Location, (*string)(p.V.Properties.ProvisioningState))
	}
	for _, n := range s.NATs {
		add("natGateway", n.V.ID, n.V.Name, n.V.Location, (*string)(n.V.Properties.ProvisioningState))
	}
	for _, a := range s.Assignments {
		add("roleAssignment", a.V.ID, a.V.Name, nil, nil)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
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

// key is the case-insensitive identity of a resource id.
func key(id string) string { return strings.ToLower(id) }

// normLocation turns "East US" into "eastus", as ARM does.
func normLocation(l string) string { return strings.ToLower(strings.ReplaceAll(l, " ", "")) }
