package gcp

import (
	"crypto/rand"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Cloud Resource Manager's project IAM policy, served on the Compute
// endpoint as the REST methods Google's clients call:
//
//	POST /v3/projects/P:getIamPolicy   (google.golang.org/api/cloudresourcemanager/v3)
//	POST /v3/projects/P:setIamPolicy
//	POST /v1/projects/P:getIamPolicy   (gcloud projects get-iam-policy,
//	POST /v1/projects/P:setIamPolicy    add-iam-policy-binding)
//
// Point CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER at the
// Compute endpoint. A policy is read-modify-write: setIamPolicy with the
// etag getIamPolicy returned replaces the policy and gets a new etag; with
// an older etag it fails 409 ABORTED, as Google answers concurrent
// changes; without an etag it overwrites. Every project starts with the
// sandbox's service account as its owner. The policy is a google.iam.v1
// Policy on the wire (protojson: "version", "bindings", base64 "etag").

const (
	crmV1Prefix = "/v1/projects/"
	crmV3Prefix = "/v3/projects/"
)

// iamPolicyRoute is a parsed Resource Manager request.
type iamPolicyRoute struct {
	version string // "v1" or "v3"
	project string // as written: an ID, or a project number
	method  string // getIamPolicy or setIamPolicy
}

// parseIAMPolicy parses POST /v{1,3}/projects/P:{get,set}IamPolicy.
func parseIAMPolicy(r *http.Request) (iamPolicyRoute, bool) {
	for v, prefix := range map[string]string{"v1": crmV1Prefix, "v3": crmV3Prefix} {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			continue
		}
		project, method, ok := strings.Cut(rest, ":")
		if !ok || project == "" || strings.Contains(project, "/") {
			return iamPolicyRoute{}, false
		}
		return iamPolicyRoute{version: v, project: project, method: method}, true
	}
	return iamPolicyRoute{}, false
}

func isResourceManager(r *http.Request) bool {
	if isContainerREST(r) {
		return false
	}
	_, ok := parseIAMPolicy(r)
	return ok
}

// resourceManagerOperation names a request for the log and the fault
// profiles: "cloudresourcemanager:projects.getIamPolicy".
func resourceManagerOperation(r *http.Request) string {
	rt, _ := parseIAMPolicy(r)
	return "cloudresourcemanager:projects." + rt.method
}

// projectByIDOrNumber is the project an ID or a project number names.
func (e *Emulator) projectByIDOrNumber(s string) (string, bool) {
	if e.projectExists(s) {
		return s, true
	}
	for _, p := range append([]string{DefaultProject}, e.env.Projects...) {
		if projectNumber(p) == s {
			return p, true
		}
	}
	return "", false
}

// serveResourceManager answers getIamPolicy and setIamPolicy.
func (e *Emulator) serveResourceManager(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	rt, _ := parseIAMPolicy(r)
	method := upperFirst(rt.method)
	call := apiCall{service: "cloudresourcemanager.googleapis.com", method: "google.cloud.resourcemanager.v3.Projects." + method, scopes: []string{scopeCloudPlatform}}
	if rt.version == "v1" {
		call.method = "cloudresourcemanager.projects." + rt.method
	}
	if rt.method == "getIamPolicy" {
		call.scopes = append(call.scopes, readOnlyScopes[0])
	}
	if f := e.authorize(requestAuthorization(r), call, time.Now()); f != nil {
		writeAuthFailure(w, f, call, false)
		return false
	}
	if r.Method != http.MethodPost || (rt.method != "getIamPolicy" && rt.method != "setIamPolicy") {
		writeStatusJSON(w, status.Newf(codes.NotFound, "The sandbox does not emulate %s %s.", r.Method, r.URL.Path))
		return false
	}
	project, ok := e.projectByIDOrNumber(rt.project)
	if !ok {
		// Resource Manager does not tell a missing project from one the
		// caller may not see.
		writeStatusJSON(w, status.New(codes.PermissionDenied, "The caller does not have permission"))
		return false
	}
	unmarshal := protojson.UnmarshalOptions{DiscardUnknown: true}
	e.mu.Lock()
	defer e.mu.Unlock()
	if rt.method == "getIamPolicy" {
		req := &iampb.GetIamPolicyRequest{}
		if len(c.Body) > 0 {
			if err := unmarshal.Unmarshal(c.Body, req); err != nil {
				writeStatusJSON(w, status.Newf(codes.InvalidArgument, "Invalid JSON payload received. %v", err))
				return false
			}
		}
		return writeProto(w, e.iamPolicy(project), false)
	}
	req := &iampb.SetIamPolicyRequest{}
	if err := unmarshal.Unmarshal(c.Body, req); err != nil {
		writeStatusJSON(w, status.Newf(codes.InvalidArgument, "Invalid JSON payload received. %v", err))
		return false
	}
	p, err := e.setIAMPolicy(project, req)
	if err != nil {
		writeStatusJSON(w, status.Convert(err))
		return false
	}
	return writeProto(w, p, true)
}

// iamPolicy is the project's policy (made on first use). Call it under
// e.mu.
func (e *Emulator) iamPolicy(project string) *iampb.Policy {
	if p, ok := e.st.Policies[project]; ok && p.V != nil {
		return clone(p.V)
	}
	p := &iampb.Policy{Version: 1, Etag: newEtag(), Bindings: []*iampb.Binding{
		{Role: "roles/owner", Members: []string{"serviceAccount:" + ServiceAccountEmail}},
	}}
	e.st.Policies[project] = wrap(p)
	return clone(p)
}

func newEtag() []byte {
	b := make([]byte, 8)
	_, _ = rand.Read(b)     // crypto/rand.Read never fails
	b[0], b[1] = 7, b[1]&15 // "Bw…" in base64, as Google's etags read
	return b
}

// iamMember is a principal IAM accepts in a binding.
var iamMember = regexp.MustCompile(`^((user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+|domain:[a-z0-9.-]+\.[a-z]+|allUsers|allAuthenticatedUsers|(deleted:(user|group|serviceAccount):[^@\s]+@[^@\s]+\?uid=[0-9]+)|principal(Set)?://\S+)$`)

// iamRole is a predefined or custom role name.
var iamRole = regexp.MustCompile(`^(roles/[A-Za-z0-9_.]+|(projects|organizations)/[a-z0-9-]+/roles/[A-Za-z0-9_.]+)$`)

// setIAMPolicy replaces project's policy with req's, as Resource Manager
// does: a stale etag is ABORTED, bad members or roles INVALID_ARGUMENT,
// bindings without members are dropped. Call it under e.mu.
func (e *Emulator) setIAMPolicy(project string, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	in := req.GetPolicy()
	if in == nil {
		return nil, status.Error(codes.InvalidArgument, "Request contains an invalid argument: policy is required.")
	}
	cur := e.iamPolicy(project)
	if len(in.GetEtag()) > 0 && !slices.Equal(in.GetEtag(), cur.GetEtag()) {
		return nil, status.Error(codes.Aborted, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
	}
	next := &iampb.Policy{Version: max(in.GetVersion(), 1), AuditConfigs: in.GetAuditConfigs(), Etag: newEtag()}
	if mask := req.GetUpdateMask(); mask != nil && !slices.Contains(mask.GetPaths(), "auditConfigs") && !slices.Contains(mask.GetPaths(), "audit_configs") {
		next.AuditConfigs = cur.GetAuditConfigs() // only the masked fields change
	}
	owners := 0
	for _, b := range in.GetBindings() {
		if !iamRole.MatchString(b.GetRole()) {
			return nil, status.Errorf(codes.InvalidArgument, "Role %s is not supported for this resource.", b.GetRole())
		}
		if b.GetCondition() != nil && next.Version < 3 {
			return nil, status.Error(codes.InvalidArgument, "Request contains an invalid argument: a policy with conditional role bindings must be version 3.")
		}
		var members []string
		for _, m := range b.GetMembers() {
			if !iamMember.MatchString(m) {
				return nil, status.Errorf(codes.InvalidArgument, "Invalid member type: %s.", m)
			}
			if !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		if len(members) == 0 {
			continue
		}
		if b.GetRole() == "roles/owner" {
			owners += len(members)
		}
		nb := proto.Clone(b).(*iampb.Binding)
		nb.Members = members
		next.Bindings = append(next.Bindings, nb)
	}
	if owners == 0 {
		return nil, status.Error(codes.FailedPrecondition, "The policy must keep at least one owner of the project (roles/owner).")
	}
	e.st.Policies[project] = wrap(next)
	return clone(next), nil
}
