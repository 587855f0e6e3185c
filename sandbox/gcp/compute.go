package gcp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// computeBase prefixes Compute self links, as the real API writes them.
const computeBase = "https://www.googleapis.com/compute/v1/"

var (
	nameRE   = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	regionRE = regexp.MustCompile(`^[a-z]+(-[a-z]+)+[0-9]+$`)
	zoneRE   = regexp.MustCompile(`^([a-z]+(-[a-z]+)+[0-9]+)-[a-z]$`)
	labelKey = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelVal = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
)

// gerr is an error reply in Compute's JSON shape.
type gerr struct {
	code   int
	reason string
	msg    string
}

func (g *gerr) Error() string { return g.reason + ": " + g.msg }

func cerr(code int, reason, format string, args ...any) *gerr {
	return &gerr{code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

func notFound(path string) *gerr {
	return cerr(http.StatusNotFound, "notFound", "The resource '%s' was not found", path)
}

func alreadyExists(path string) *gerr {
	return cerr(http.StatusConflict, "alreadyExists", "The resource '%s' already exists", path)
}

func invalid(field, value, why string) *gerr {
	return cerr(http.StatusBadRequest, "invalid", "Invalid value for field '%s': '%s'. %s", field, value, why)
}

func required(field string) *gerr {
	return cerr(http.StatusBadRequest, "required", "Required field '%s' not specified", field)
}

func inUse(kind, path, user string) *gerr {
	return cerr(http.StatusBadRequest, "resourceInUseByAnotherResource", "The %s resource '%s' is already being used by '%s'", kind, path, user)
}

func notReady(path string) *gerr {
	return cerr(http.StatusBadRequest, "resourceNotReady", "The resource '%s' is not ready", path)
}

func writeGErr(w http.ResponseWriter, g *gerr, st string) {
	writeErrBody(w, errBody{Code: g.code, Message: g.msg, Status: st,
		Errors: []errItem{{Message: g.msg, Domain: "global", Reason: g.reason}}})
}

// WriteFault writes Compute's rate-limit reply (429 rateLimitExceeded,
// RESOURCE_EXHAUSTED) or a backend error (503 backendError).
func (e *Emulator) WriteFault(w http.ResponseWriter, r *http.Request, op string, kind emu.FaultKind) {
	if isContainerREST(r) || isResourceManager(r) {
		writeStatusJSON(w, status.Convert(e.GRPCFault(op, kind)))
		return
	}
	if isOAuth(r) {
		if kind == emu.FaultThrottle {
			writeOAuthErr(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit exceeded.")
			return
		}
		writeOAuthErr(w, http.StatusServiceUnavailable, "internal_failure", "Backend error.")
		return
	}
	if kind == emu.FaultThrottle {
		project := "unknown"
		if rt, ok := parseCompute(r); ok {
			project = rt.project
		}
		writeGErr(w, cerr(http.StatusTooManyRequests, "rateLimitExceeded",
			"Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' for consumer 'project_number:%s'.", projectNumber(project)),
			"RESOURCE_EXHAUSTED")
		return
	}
	writeGErr(w, cerr(http.StatusServiceUnavailable, "backendError", "Internal error. Please try again or contact Google Support. (Code: 'sandbox-%s')", randHex(12)), "")
}

// croute is a parsed Compute request path.
type croute struct {
	project string
	scope   string // global, regions or zones
	loc     string // region or zone
	coll    string // networks, subnetworks, routers, addresses, operations, instanceGroupManagers
	name    string
	verb    string // wait, setLabels
	method  string // insert, get, list, delete, patch, update, wait, setLabels
}

// parseCompute parses /compute/v1/projects/P/{global|regions/R|zones/Z}/COLL[/NAME[/VERB]].
func parseCompute(r *http.Request) (croute, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/compute/v1/projects/")
	if !ok {
		return croute{}, false
	}
	p := strings.Split(rest, "/")
	var rt croute
	if len(p) >= 2 && len(p) <= 3 && (p[1] == "regions" || p[1] == "zones") {
		// The project's regions and zones themselves.
		rt.project, rt.scope, rt.coll = p[0], "project", p[1]
		if len(p) == 3 {
			rt.name = p[2]
		}
		switch {
		case r.Method != http.MethodGet || rt.project == "":
			return croute{}, false
		case rt.name == "":
			rt.method = "list"
		default:
			rt.method = "get"
		}
		return rt, true
	}
	if len(p) < 3 {
		return croute{}, false
	}
	rt.project = p[0]
	switch p[1] {
	case "global":
		rt.scope, p = "global", p[2:]
	case "aggregated":
		rt.scope, p = "aggregated", p[2:]
	case "regions", "zones":
		if len(p) < 4 {
			return croute{}, false
		}
		rt.scope, rt.loc, p = p[1], p[2], p[3:]
	default:
		return croute{}, false
	}
	rt.coll = p[0]
	if len(p) > 1 {
		rt.name = p[1]
	}
	if len(p) > 2 {
		rt.verb = p[2]
	}
	if len(p) > 3 || rt.project == "" {
		return croute{}, false
	}
	switch {
	case rt.name == "" && r.Method == http.MethodPost:
		rt.method = "insert"
	case rt.name == "" && r.Method == http.MethodGet && rt.scope == "aggregated":
		rt.method = "aggregatedList"
	case rt.scope == "aggregated":
		return croute{}, false
	case rt.name == "" && r.Method == http.MethodGet:
		rt.method = "list"
	case rt.verb != "" && r.Method == http.MethodPost:
		rt.method = rt.verb
	case rt.verb != "":
		return croute{}, false
	case r.Method == http.MethodGet:
		rt.method = "get"
	case r.Method == http.MethodDelete:
		rt.method = "delete"
	case r.Method == http.MethodPatch:
		rt.method = "patch"
	case r.Method == http.MethodPut:
		rt.method = "update"
	default:
		return croute{}, false
	}
	return rt, true
}

// collection is the API's collection name for the operation log.
func (rt croute) collection() string {
	if rt.coll == "operations" {
		if rt.scope == "global" {
			return "globalOperations"
		}
		return "regionOperations"
	}
	return rt.coll
}

// Operation names a Compute request ("compute:networks.insert",
// "compute:regionOperations.get", "compute:Unknown") or a request to the
// sandbox's identity endpoints ("oauth2:token", "sandbox:gcpServiceAccountKey").
func (e *Emulator) Operation(r *http.Request, body []byte) string {
	if isContainerREST(r) {
		return containerRESTOperation(r)
	}
	if isOAuth(r) {
		return oauthOperation(r)
	}
	if isBatch(r) {
		return "compute:batch"
	}
	if isResourceManager(r) {
		return resourceManagerOperation(r)
	}
	if isServiceUsage(r) {
		return "serviceusage:services.get"
	}
	rt, ok := parseCompute(r)
	if !ok {
		return "compute:Unknown"
	}
	return "compute:" + rt.collection() + "." + rt.method
}

// routes maps "scope collection.method" to a handler.
type handler func(e *Emulator, rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool)

var computeRoutes = map[string]handler{
	"global networks.insert":           (*Emulator).insertNetwork,
	"global networks.get":              (*Emulator).getNetwork,
	"global networks.list":             (*Emulator).listNetworks,
	"global networks.delete":           (*Emulator).deleteNetwork,
	"regions subnetworks.insert":       (*Emulator).insertSubnet,
	"regions subnetworks.get":          (*Emulator).getSubnet,
	"regions subnetworks.list":         (*Emulator).listSubnets,
	"regions subnetworks.patch":        (*Emulator).patchSubnet,
	"regions subnetworks.delete":       (*Emulator).deleteSubnet,
	"regions routers.insert":           (*Emulator).insertRouter,
	"regions routers.get":              (*Emulator).getRouter,
	"regions routers.list":             (*Emulator).listRouters,
	"regions routers.patch":            (*Emulator).patchRouter,
	"regions routers.update":           (*Emulator).patchRouter,
	"regions routers.delete":           (*Emulator).deleteRouter,
	"regions addresses.insert":         (*Emulator).insertAddress,
	"regions addresses.get":            (*Emulator).getAddress,
	"regions addresses.list":           (*Emulator).listAddresses,
	"regions addresses.delete":         (*Emulator).deleteAddress,
	"regions addresses.setLabels":      (*Emulator).setAddressLabels,
	"global globalOperations.get":      (*Emulator).getOperation,
	"regions regionOperations.get":     (*Emulator).getOperation,
	"regions regionOperations.wait":    (*Emulator).getOperation,
	"global globalOperations.wait":     (*Emulator).getOperation,
	"zones instanceGroupManagers.get":  (*Emulator).getIGM,
	"zones instanceGroupManagers.list": (*Emulator).listIGMs,
	"zones instanceGroups.get":         (*Emulator).getInstanceGroup,
	"zones instanceGroups.list":        (*Emulator).listInstanceGroups,
	"project regions.list":             (*Emulator).listRegions,
	"project regions.get":              (*Emulator).getRegion,
	"project zones.list":               (*Emulator).listZones,
	"project zones.get":                (*Emulator).getZone,
	"zones autoscalers.list":           (*Emulator).listAutoscalers,
	"zones autoscalers.get":            (*Emulator).getAutoscaler,
	"regions autoscalers.list":         (*Emulator).listAutoscalers,
	"regions autoscalers.get":          (*Emulator).getAutoscaler,
}

// Serve answers one Compute REST call, a GKE REST call (on GKE's
// endpoint) or a request to the sandbox's identity endpoints.
func (e *Emulator) Serve(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	if isContainerREST(r) {
		return e.serveContainerREST(w, r, c)
	}
	if isOAuth(r) {
		return e.serveOAuth(w, r, c)
	}
	if isBatch(r) {
		return e.serveBatch(w, r, c)
	}
	if isResourceManager(r) {
		return e.serveResourceManager(w, r, c)
	}
	if isServiceUsage(r) {
		e.serveServiceUsage(w, r)
		return false
	}
	rt, ok := parseCompute(r)
	if !ok {
		writeGErr(w, cerr(http.StatusNotFound, "notFound", "The requested URL %s was not found on this server.", r.URL.Path), "")
		return false
	}
	call := apiCall{service: "compute.googleapis.com", method: "compute.v1." + upperFirst(rt.collection()) + "Service." + upperFirst(rt.method), scopes: computeScopes}
	if r.Method == http.MethodGet {
		call.scopes = append(slices.Clone(computeScopes), readOnlyScopes...)
	}
	if f := e.authorize(requestAuthorization(r), call, time.Now()); f != nil {
		writeAuthFailure(w, f, call, true)
		return false
	}
	h := computeRoutes[rt.scope+" "+rt.collection()+"."+rt.method]
	_, agg := aggregatedLists[rt.coll]
	agg = agg && rt.method == "aggregatedList"
	if h == nil && !agg {
		writeGErr(w, cerr(http.StatusNotFound, "notFound", "The sandbox does not emulate %s %s", r.Method, r.URL.Path), "")
		return false
	}
	if !e.projectExists(rt.project) {
		writeGErr(w, notFound("projects/"+rt.project), "")
		return false
	}
	if rt.scope == "regions" && !knownRegion(rt.loc) {
		writeGErr(w, invalid("region", rt.loc, "Unknown region."), "")
		return false
	}
	if rt.scope == "zones" && !validZone(rt.loc) {
		writeGErr(w, invalid("zone", rt.loc, "Unknown zone."), "")
		return false
	}
	var lp listParams
	if rt.method == "list" || rt.method == "aggregatedList" {
		var g *gerr
		if lp, g = parseListParams(r.URL.Query()); g != nil {
			writeGErr(w, g, "")
			return false
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.settle(now)
	if agg {
		return writeProto(w, e.aggregatedList(rt, lp, now), false)
	}
	out, g, changed := h(e, rt, c, now)
	if g != nil {
		writeGErr(w, g, "")
		return changed
	}
	if rt.method == "list" {
		pageList(out, lp)
	}
	return writeProto(w, out, changed)
}

// writeProto writes a Compute reply.
func writeProto(w http.ResponseWriter, out proto.Message, changed bool) bool {
	data, err := protojson.Marshal(out)
	if err != nil {
		writeGErr(w, cerr(http.StatusInternalServerError, "backendError", "encode reply: %v", err), "")
		return changed
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(data)
	return changed
}

// decode reads a request body as msg, strictly (unknown fields are errors,
// as the real API's "Invalid JSON payload received").
func decode(c emu.Call, m proto.Message) *gerr {
	if len(c.Body) == 0 {
		return cerr(http.StatusBadRequest, "parseError", "This API does not support parsing form-encoded input.")
	}
	if err := protojson.Unmarshal(c.Body, m); err != nil {
		return cerr(http.StatusBadRequest, "invalid", "Invalid JSON payload received. %v", err)
	}
	clearOutputOnly(m)
	return nil
}

// ref parses a reference to a Compute resource — a full URL,
// "projects/P/…/NAME", "regions/R/…/NAME" or a bare name — into project,
// location and name. want is the collection ("networks").
func ref(s, defProject, defLoc, want string) (project, loc, name string, ok bool) {
	if i := strings.Index(s, "/compute/v1/"); i >= 0 {
		s = s[i+len("/compute/v1/"):]
	}
	p := strings.Split(s, "/")
	project, loc = defProject, defLoc
	if len(p) >= 2 && p[0] == "projects" {
		project, p = p[1], p[2:]
	}
	switch {
	case len(p) == 3 && p[0] == "global":
		p = p[1:]
	case len(p) == 4 && (p[0] == "regions" || p[0] == "zones"):
		loc, p = p[1], p[2:]
	}
	switch {
	case len(p) == 2 && p[0] == want:
		name = p[1]
	case len(p) == 1:
		name = p[0]
	default:
		return "", "", "", false
	}
	return project, loc, name, nameRE.MatchString(name)
}

func netPath(project, name string) string { return "projects/" + project + "/global/networks/" + name }

func regionalPath(project, region, coll, name string) string {
	return "projects/" + project + "/regions/" + region + "/" + coll + "/" + name
}

func netKey(project, name string) string { return project + "/" + name }

func regKey(project, region, name string) string { return project + "/" + region + "/" + name }

// startOp records a Compute operation on target (a path under
// computeBase) that completes after the call's latency.
func (e *Emulator) startOp(rt croute, c emu.Call, opType, target string, targetID uint64, now time.Time) *computeOpRec {
	name := fmt.Sprintf("operation-%d-%s-%s-%s", now.UnixMilli(), randHex(13), randHex(8), randHex(8))
	region := ""
	scopePath := "projects/" + rt.project + "/global/operations/"
	if rt.scope == "regions" {
		region = rt.loc
		scopePath = "projects/" + rt.project + "/regions/" + region + "/operations/"
	}
	op := &computepb.Operation{
		Kind:          proto.String("compute#operation"),
		Id:            proto.Uint64(newID()),
		Name:          proto.String(name),
		OperationType: proto.String(opType),
		TargetLink:    proto.String(computeBase + target),
		TargetId:      proto.Uint64(targetID),
		User:          proto.String("sandbox@" + rt.project + ".iam.gserviceaccount.com"),
		InsertTime:    proto.String(ts(now)),
		StartTime:     proto.String(ts(now)),
		SelfLink:      proto.String(computeBase + scopePath + name),
	}
	if region != "" {
		op.Region = proto.String(computeBase + "projects/" + rt.project + "/regions/" + region)
	}
	rec := &computeOpRec{Project: rt.project, Region: region, V: wrap(op), DoneAt: now.Add(e.env.Latency(c.Op)), Fail: c.Fail}
	scope := region
	if scope == "" {
		scope = "global"
	}
	e.st.Ops[rt.project+"/"+scope+"/"+name] = rec
	return rec
}

// renderOp is the operation as of now: RUNNING until DoneAt, then DONE
// (with error and httpErrorStatusCode when it failed).
func renderOp(rec *computeOpRec, now time.Time) *computepb.Operation {
	op := clone(rec.V.V)
	if now.Before(rec.DoneAt) {
		op.Status = computepb.Operation_RUNNING.Enum()
		op.Progress = proto.Int32(0)
		return op
	}
	op.Status = computepb.Operation_DONE.Enum()
	op.Progress = proto.Int32(100)
	op.EndTime = proto.String(ts(rec.DoneAt))
	if rec.Fail {
		op.Error = &computepb.Error{Errors: []*computepb.Errors{{
			Code:    proto.String("INTERNAL_ERROR"),
			Message: proto.String("Internal error. Please try again or contact Google Support. (Code: 'sandbox-injected-failure')"),
		}}}
		op.HttpErrorStatusCode = proto.Int32(http.StatusInternalServerError)
		op.HttpErrorMessage = proto.String("INTERNAL SERVER ERROR")
	}
	return op
}

func (e *Emulator) getOperation(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	scope := "global"
	if rt.scope == "regions" {
		scope = rt.loc
	}
	rec := e.st.Ops[rt.project+"/"+scope+"/"+rt.name]
	if rec == nil {
		path := "projects/" + rt.project + "/global/operations/" + rt.name
		if rt.scope == "regions" {
			path = regionalPath(rt.project, rt.loc, "operations", rt.name)
		}
		return nil, notFound(path), false
	}
	// wait answers at once with the current state, which the API allows
	// ("not guaranteed to be DONE"); callers poll again.
	return renderOp(rec, now), nil, false
}

// gc drops resources whose life ended and operations older than a day.
func (e *Emulator) gc(now time.Time) {
	for k, r := range e.st.Networks {
		if !r.T.present(now) {
			delete(e.st.Networks, k)
		}
	}
	for k, r := range e.st.Subnets {
		if !r.T.present(now) {
			delete(e.st.Subnets, k)
		}
	}
	for k, r := range e.st.Routers {
		if !r.T.present(now) {
			delete(e.st.Routers, k)
		}
	}
	for k, r := range e.st.Addresses {
		if !r.T.present(now) {
			delete(e.st.Addresses, k)
		}
	}
	for k, r := range e.st.Ops {
		if now.Sub(r.DoneAt) > 24*time.Hour {
			delete(e.st.Ops, k)
		}
	}
}

// deleting starts deleting a resource with the given timing.
func (e *Emulator) deleting(t *timing, rt croute, c emu.Call, target string, id uint64, now time.Time) proto.Message {
	op := e.startOp(rt, c, "delete", target, id, now)
	t.DeleteAt, t.DeleteFail = op.DoneAt, c.Fail
	return renderOp(op, now)
}

// checkDeletable refuses a delete while the resource is still being created
// or already being deleted.
func checkDeletable(t timing, path string, now time.Time) *gerr {
	if t.state(now) != "READY" {
		return notReady(path)
	}
	return nil
}

// ---- networks ----

func (e *Emulator) insertNetwork(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	n := &computepb.Network{}
	if g := decode(c, n); g != nil {
		return nil, g, false
	}
	if n.GetName() == "" {
		return nil, required("resource.name"), false
	}
	if !nameRE.MatchString(n.GetName()) {
		return nil, invalid("resource.name", n.GetName(), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"), false
	}
	if n.GetAutoCreateSubnetworks() || n.IPv4Range != nil {
		return nil, invalid("resource.autoCreateSubnetworks", fmt.Sprint(n.GetAutoCreateSubnetworks()), "The sandbox emulates custom-mode networks only: set autoCreateSubnetworks to false."), false
	}
	if n.Mtu != nil && (n.GetMtu() < 1300 || n.GetMtu() > 8896) {
		return nil, invalid("resource.mtu", fmt.Sprint(n.GetMtu()), "MTU must be between 1300 and 8896."), false
	}
	if rm := n.GetRoutingConfig().GetRoutingMode(); rm != "" && rm != "REGIONAL" && rm != "GLOBAL" {
		return nil, invalid("resource.routingConfig.routingMode", rm, "Must be REGIONAL or GLOBAL."), false
	}
	path := netPath(rt.project, n.GetName())
	if r := e.st.Networks[netKey(rt.project, n.GetName())]; r != nil && r.T.present(now) {
		return nil, alreadyExists(path), false
	}
	id := newID()
	n.Id = proto.Uint64(id)
	n.Kind = proto.String("compute#network")
	n.CreationTimestamp = proto.String(ts(now))
	n.SelfLink = proto.String(computeBase + path)
	n.SelfLinkWithId = proto.String(computeBase + fmt.Sprintf("projects/%s/global/networks/%d", rt.project, id))
	n.AutoCreateSubnetworks = proto.Bool(false)
	if n.RoutingConfig == nil {
		n.RoutingConfig = &computepb.NetworkRoutingConfig{}
	}
	if n.RoutingConfig.RoutingMode == nil {
		n.RoutingConfig.RoutingMode = proto.String("REGIONAL")
	}
	if n.Mtu == nil {
		n.Mtu = proto.Int32(1460)
	}
	n.NetworkFirewallPolicyEnforcementOrder = proto.String("AFTER_CLASSIC_FIREWALL")
	n.Subnetworks = nil
	op := e.startOp(rt, c, "insert", path, id, now)
	e.st.Networks[netKey(rt.project, n.GetName())] = &netRec{Project: rt.project, V: wrap(n), T: timing{ReadyAt: op.DoneAt, CreateFail: c.Fail}}
	return renderOp(op, now), nil, true
}

func (e *Emulator) renderNetwork(r *netRec, now time.Time) *computepb.Network {
	n := clone(r.V.V)
	for _, s := range e.st.Subnets {
		if s.Project == r.Project && s.Network == n.GetName() && s.T.visible(now) {
			n.Subnetworks = append(n.Subnetworks, s.V.V.GetSelfLink())
		}
	}
	sort.Strings(n.Subnetworks)
	return n
}

func (e *Emulator) network(project, name string, now time.Time) (*netRec, *gerr) {
	r := e.st.Networks[netKey(project, name)]
	if r == nil || !r.T.visible(now) {
		return nil, notFound(netPath(project, name))
	}
	return r, nil
}

func (e *Emulator) getNetwork(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.network(rt.project, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	return e.renderNetwork(r, now), nil, false
}

func (e *Emulator) listNetworks(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	out := &computepb.NetworkList{Kind: proto.String("compute#networkList"), Id: proto.String("projects/" + rt.project + "/global/networks"),
		SelfLink: proto.String(computeBase + "projects/" + rt.project + "/global/networks")}
	for _, r := range e.st.Networks {
		if r.Project == rt.project && r.T.visible(now) {
			out.Items = append(out.Items, e.renderNetwork(r, now))
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].GetName() < out.Items[j].GetName() })
	return out, nil, false
}

func (e *Emulator) deleteNetwork(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.network(rt.project, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	path := netPath(rt.project, rt.name)
	if g := checkDeletable(r.T, path, now); g != nil {
		return nil, g, false
	}
	var users []string
	for _, s := range e.st.Subnets {
		if s.Project == rt.project && s.Network == rt.name && s.T.present(now) {
			users = append(users, regionalPath(s.Project, s.Region, "subnetworks", s.V.V.GetName()))
		}
	}
	for _, s := range e.st.Routers {
		if s.Project == rt.project && s.Network == rt.name && s.T.present(now) {
			users = append(users, regionalPath(s.Project, s.Region, "routers", s.V.V.GetName()))
		}
	}
	for key, cl := range e.st.Clusters {
		if cl.Project == rt.project && networkName(cl.C.V.GetNetwork()) == rt.name {
			users = append(users, key)
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return nil, inUse("network", path, users[0]), false
	}
	return e.deleting(&r.T, rt, c, path, r.V.V.GetId(), now), nil, true
}

// ---- subnetworks ----

// cidr parses an IPv4 network range as Compute accepts it.
func cidr(field, s string, minBits, maxBits int) (netip.Prefix, *gerr) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, invalid(field, s, "Invalid IPCidrRange: "+s+" is not a valid IPv4 CIDR range.")
	}
	if p.Masked() != p {
		return netip.Prefix{}, invalid(field, s, fmt.Sprintf("Invalid IPCidrRange: %s has host bits set; did you mean %s?", s, p.Masked()))
	}
	if p.Bits() < minBits || p.Bits() > maxBits {
		return netip.Prefix{}, invalid(field, s, fmt.Sprintf("Invalid IPCidrRange: %s: the prefix length must be between /%d and /%d.", s, minBits, maxBits))
	}
	return p, nil
}

type namedRange struct {
	owner string // subnetwork path, and range name for secondary ranges
	p     netip.Prefix
}

// subnetRanges are the primary and secondary ranges of a subnetwork.
func subnetRanges(path string, s *computepb.Subnetwork) []namedRange {
	var out []namedRange
	if p, err := netip.ParsePrefix(s.GetIpCidrRange()); err == nil {
		out = append(out, namedRange{path, p})
	}
	for _, sr := range s.GetSecondaryIpRanges() {
		if p, err := netip.ParsePrefix(sr.GetIpCidrRange()); err == nil {
			out = append(out, namedRange{path + " (secondary range " + sr.GetRangeName() + ")", p})
		}
	}
	return out
}

// validateSubnetRanges checks s's ranges, and that none overlaps another
// range of s or of any other subnetwork of the network (self excluded).
func (e *Emulator) validateSubnetRanges(project, network, self string, s *computepb.Subnetwork, now time.Time) *gerr {
	if s.GetIpCidrRange() == "" {
		return required("resource.ipCidrRange")
	}
	if _, g := cidr("resource.ipCidrRange", s.GetIpCidrRange(), 8, 29); g != nil {
		return g
	}
	seen := map[string]bool{}
	for i, sr := range s.GetSecondaryIpRanges() {
		f := fmt.Sprintf("resource.secondaryIpRanges[%d]", i)
		if !nameRE.MatchString(sr.GetRangeName()) {
			return invalid(f+".rangeName", sr.GetRangeName(), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
		}
		if seen[sr.GetRangeName()] {
			return invalid(f+".rangeName", sr.GetRangeName(), "Secondary range names must be unique within a subnetwork.")
		}
		seen[sr.GetRangeName()] = true
		if _, g := cidr(f+".ipCidrRange", sr.GetIpCidrRange(), 4, 29); g != nil {
			return g
		}
	}
	if len(s.GetSecondaryIpRanges()) > 30 {
		return invalid("resource.secondaryIpRanges", fmt.Sprint(len(s.GetSecondaryIpRanges())), "A subnetwork can have at most 30 secondary ranges.")
	}
	mine := subnetRanges(self, s)
	for i, a := range mine {
		for _, b := range mine[i+1:] {
			if a.p.Overlaps(b.p) {
				return invalid("resource.secondaryIpRanges", b.p.String(), fmt.Sprintf("Invalid IPCidrRange: %s conflicts with %s of the same subnetwork.", b.p, a.p))
			}
		}
	}
	for _, o := range e.st.Subnets {
		opath := regionalPath(o.Project, o.Region, "subnetworks", o.V.V.GetName())
		if o.Project != project || o.Network != network || opath == self || !o.T.present(now) {
			continue
		}
		for _, a := range mine {
			for _, b := range subnetRanges(opath, o.V.V) {
				if a.p.Overlaps(b.p) {
					return invalid("resource.ipCidrRange", a.p.String(), fmt.Sprintf("Invalid IPCidrRange: %s conflicts with existing subnetwork '%s' in region '%s' (range %s, %s).", a.p, o.V.V.GetName(), o.Region, b.p, b.owner))
				}
			}
		}
	}
	return nil
}

func (e *Emulator) insertSubnet(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	s := &computepb.Subnetwork{}
	if g := decode(c, s); g != nil {
		return nil, g, false
	}
	if s.GetName() == "" {
		return nil, required("resource.name"), false
	}
	if !nameRE.MatchString(s.GetName()) {
		return nil, invalid("resource.name", s.GetName(), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"), false
	}
	if s.GetNetwork() == "" {
		return nil, required("resource.network"), false
	}
	np, _, nname, ok := ref(s.GetNetwork(), rt.project, "", "networks")
	if !ok || np != rt.project {
		return nil, invalid("resource.network", s.GetNetwork(), "Expected a network of this project: projects/"+rt.project+"/global/networks/NAME."), false
	}
	if _, g := e.network(np, nname, now); g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "subnetworks", s.GetName())
	if r := e.st.Subnets[regKey(rt.project, rt.loc, s.GetName())]; r != nil && r.T.present(now) {
		return nil, alreadyExists(path), false
	}
	if g := e.validateSubnetRanges(rt.project, nname, path, s, now); g != nil {
		return nil, g, false
	}
	if st := s.GetStackType(); st != "" && st != "IPV4_ONLY" {
		return nil, invalid("resource.stackType", st, "The sandbox emulates IPV4_ONLY subnetworks only."), false
	}
	if p := s.GetPurpose(); p != "" && p != "PRIVATE" {
		return nil, invalid("resource.purpose", p, "The sandbox emulates PRIVATE subnetworks only."), false
	}
	id := newID()
	prefix := netip.MustParsePrefix(s.GetIpCidrRange())
	s.Id = proto.Uint64(id)
	s.Kind = proto.String("compute#subnetwork")
	s.CreationTimestamp = proto.String(ts(now))
	s.Network = proto.String(computeBase + netPath(rt.project, nname))
	s.Region = proto.String(computeBase + "projects/" + rt.project + "/regions/" + rt.loc)
	s.SelfLink = proto.String(computeBase + path)
	s.GatewayAddress = proto.String(prefix.Addr().Next().String())
	s.Fingerprint = proto.String(fingerprint())
	s.StackType = proto.String("IPV4_ONLY")
	s.Purpose = proto.String("PRIVATE")
	if s.PrivateIpGoogleAccess == nil {
		s.PrivateIpGoogleAccess = proto.Bool(false)
	}
	op := e.startOp(rt, c, "insert", path, id, now)
	e.st.Subnets[regKey(rt.project, rt.loc, s.GetName())] = &subnetRec{Project: rt.project, Region: rt.loc, Network: nname, V: wrap(s), T: timing{ReadyAt: op.DoneAt, CreateFail: c.Fail}}
	return renderOp(op, now), nil, true
}

func (e *Emulator) subnet(project, region, name string, now time.Time) (*subnetRec, *gerr) {
	r := e.st.Subnets[regKey(project, region, name)]
	if r == nil || !r.T.visible(now) {
		return nil, notFound(regionalPath(project, region, "subnetworks", name))
	}
	return r, nil
}

func (e *Emulator) getSubnet(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.subnet(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	return clone(r.V.V), nil, false
}

func (e *Emulator) listSubnets(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	base := "projects/" + rt.project + "/regions/" + rt.loc + "/subnetworks"
	out := &computepb.SubnetworkList{Kind: proto.String("compute#subnetworkList"), Id: proto.String(base), SelfLink: proto.String(computeBase + base)}
	for _, r := range e.st.Subnets {
		if r.Project == rt.project && r.Region == rt.loc && r.T.visible(now) {
			out.Items = append(out.Items, clone(r.V.V))
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].GetName() < out.Items[j].GetName() })
	return out, nil, false
}

// presentFields lists the top-level JSON members of a PATCH body, so a
// patch can tell "set to empty" from "not given".
func presentFields(body []byte) map[string]bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(body, &m) // a bad body was already refused by decode
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func (e *Emulator) patchSubnet(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.subnet(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	in := &computepb.Subnetwork{}
	if g := decode(c, in); g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "subnetworks", rt.name)
	if in.GetFingerprint() == "" {
		return nil, required("resource.fingerprint"), false
	}
	if in.GetFingerprint() != r.V.V.GetFingerprint() {
		return nil, cerr(http.StatusPreconditionFailed, "conditionNotMet", "Supplied fingerprint does not match current metadata fingerprint."), false
	}
	has := presentFields(c.Body)
	next := clone(r.V.V)
	for f := range has {
		switch f {
		case "fingerprint", "name", "kind", "id", "selfLink", "region", "network", "creationTimestamp", "gatewayAddress", "stackType", "purpose":
		case "ipCidrRange":
			if in.GetIpCidrRange() != next.GetIpCidrRange() {
				return nil, invalid("resource.ipCidrRange", in.GetIpCidrRange(), "The primary range cannot be changed by patch (use expandIpCidrRange, which the sandbox does not emulate)."), false
			}
		case "secondaryIpRanges":
			next.SecondaryIpRanges = in.GetSecondaryIpRanges()
		case "privateIpGoogleAccess":
			next.PrivateIpGoogleAccess = proto.Bool(in.GetPrivateIpGoogleAccess())
		case "description":
			next.Description = in.Description
		case "logConfig":
			next.LogConfig = in.LogConfig
		case "enableFlowLogs":
			next.EnableFlowLogs = in.EnableFlowLogs
		default:
			return nil, invalid("resource."+f, "", "The sandbox does not emulate patching this field of a subnetwork."), false
		}
	}
	if g := e.validateSubnetRanges(rt.project, r.Network, path, next, now); g != nil {
		return nil, g, false
	}
	// A secondary range a cluster uses cannot be removed.
	kept := map[string]bool{}
	for _, sr := range next.GetSecondaryIpRanges() {
		kept[sr.GetRangeName()] = true
	}
	for key, cl := range e.st.Clusters {
		if !clusterUsesSubnet(cl, rt.project, rt.loc, rt.name) {
			continue
		}
		ip := cl.C.V.GetIpAllocationPolicy()
		for _, n := range []string{ip.GetClusterSecondaryRangeName(), ip.GetServicesSecondaryRangeName()} {
			if n != "" && !kept[n] {
				return nil, inUse("subnetwork secondary range", path+" ("+n+")", key), false
			}
		}
	}
	op := e.startOp(rt, c, "patch", path, r.V.V.GetId(), now)
	if !c.Fail {
		next.Fingerprint = proto.String(fingerprint())
		r.V = wrap(next)
	}
	return renderOp(op, now), nil, true
}

func clusterUsesSubnet(cl *clusterRec, project, region, name string) bool {
	return cl.Project == project && regionOf(cl.Location) == region && subnetName(cl.C.V.GetSubnetwork()) == name
}

func (e *Emulator) deleteSubnet(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.subnet(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "subnetworks", rt.name)
	if g := checkDeletable(r.T, path, now); g != nil {
		return nil, g, false
	}
	var users []string
	for key, cl := range e.st.Clusters {
		if clusterUsesSubnet(cl, rt.project, rt.loc, rt.name) {
			users = append(users, key)
		}
	}
	for _, a := range e.st.Addresses {
		if a.Project == rt.project && a.Region == rt.loc && a.T.present(now) && a.V.V.GetSubnetwork() == r.V.V.GetSelfLink() {
			users = append(users, regionalPath(a.Project, a.Region, "addresses", a.V.V.GetName()))
		}
	}
	for _, rr := range e.st.Routers {
		if rr.Project != rt.project || rr.Region != rt.loc || !rr.T.present(now) {
			continue
		}
		for _, n := range rr.V.V.GetNats() {
			for _, sn := range n.GetSubnetworks() {
				if sn.GetName() == r.V.V.GetSelfLink() {
					users = append(users, regionalPath(rr.Project, rr.Region, "routers", rr.V.V.GetName()))
				}
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return nil, inUse("subnetwork", path, users[0]), false
	}
	return e.deleting(&r.T, rt, c, path, r.V.V.GetId(), now), nil, true
}
