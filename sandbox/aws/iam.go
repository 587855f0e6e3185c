package aws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/internal/wire"
)

// IAMNamespace is the XML namespace of IAM replies.
const IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// STSNamespace is the XML namespace of STS replies.
const STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// writeQueryError writes an awsQuery error (IAM, STS) in namespace ns.
func writeQueryError(w http.ResponseWriter, ns, reqID string, a *apiErr) {
	typ := "Sender"
	if a.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(a.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		ns, typ, xmlEscape(a.code), xmlEscape(a.msg), reqID)
}

// writeQueryResult writes an awsQuery reply (IAM, STS) in namespace ns.
func writeQueryResult(w http.ResponseWriter, ns, op, reqID string, out smithy.Serializable) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s">`, op, ns)
	_, _ = w.Write(wire.MarshalQueryResult(op, out))
	fmt.Fprintf(w, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, reqID, op)
}

// managedPolicies are the AWS managed policies the emulator knows.
var managedPolicies = map[string]bool{
	"AmazonEKSClusterPolicy": true, "AmazonEKSServicePolicy": true, "AmazonEKSVPCResourceController": true,
	"AmazonEKSWorkerNodePolicy": true, "AmazonEKS_CNI_Policy": true, "AmazonEC2ContainerRegistryReadOnly": true,
	"AmazonEC2ContainerRegistryPullOnly": true, "AmazonSSMManagedInstanceCore": true, "AmazonEKSBlockStoragePolicy": true,
	"AmazonEKSComputePolicy": true, "AmazonEKSLoadBalancingPolicy": true, "AmazonEKSNetworkingPolicy": true,
	"service-role/AmazonEBSCSIDriverPolicy": true, "AmazonEKSWorkerNodeMinimalPolicy": true,
}

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func (e *Emulator) serveIAM(w http.ResponseWriter, f form, c emu.Call, reqID string, caller principal) bool {
	op := strings.TrimPrefix(c.Op, "iam:")
	out, changed, aerr := e.iamOp(op, f, caller)
	if aerr != nil {
		writeQueryError(w, IAMNamespace, reqID, aerr)
		return changed
	}
	writeQueryResult(w, IAMNamespace, op, reqID, out)
	return changed
}

func (e *Emulator) role(name string) (*roleRec, *apiErr) {
	if name == "" {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
	}
	r, ok := e.st.Roles[name]
	if !ok {
		return nil, errf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
	}
	return r, nil
}

// reply returns the role as IAM returns it: the trust policy URL-encoded.
func (r *roleRec) reply() *iamtypes.Role {
	v := r.V
	if v.AssumeRolePolicyDocument != nil {
		v.AssumeRolePolicyDocument = ptr(strings.ReplaceAll(url.QueryEscape(*v.AssumeRolePolicyDocument), "+", "%20"))
	}
	return &v
}

// pathPrefix is a List call's PathPrefix ("/" when not given).
func pathPrefix(f form) string {
	if p := f.get("PathPrefix"); p != "" {
		return p
	}
	return "/"
}

func iamTags(f form) []iamtypes.Tag {
	var tags []iamtypes.Tag
	for _, t := range f.groups("Tags.member") {
		tags = append(tags, iamtypes.Tag{Key: ptr(t.get("Key")), Value: ptr(t.get("Value"))})
	}
	return tags
}

func (e *Emulator) iamOp(op string, f form, caller principal) (smithy.Serializable, bool, *apiErr) {
	if out, changed, aerr, ok := e.iamUserOp(op, f, caller); ok {
		return out, changed, aerr
	}
	s := e.st
	switch op {
	case "CreateRole":
		name := f.get("RoleName")
		if !roleNameRE.MatchString(name) {
			return nil, false, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
		}
		doc := f.get("AssumeRolePolicyDocument")
		if doc == "" {
			return nil, false, errf(400, "ValidationError", "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
		}
		var anyDoc map[string]any
		if err := json.Unmarshal([]byte(doc), &anyDoc); err != nil {
			return nil, false, errf(400, "MalformedPolicyDocument", "This policy contains invalid Json")
		}
		if _, ok := s.Roles[name]; ok {
			return nil, false, errf(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
		}
		if aerr := checkTags("iam:CreateRole", nil, iamTagMap(iamTags(f))); aerr != nil {
			return nil, false, aerr
		}
		path := f.get("Path")
		if path == "" {
			path = "/"
		}
		r := iamtypes.Role{
			RoleName: ptr(name), Path: ptr(path), RoleId: ptr(awsID("AROA", 17)),
			Arn: ptr(fmt.Sprintf("arn:aws:iam::%s:role%s%s", e.env.Account, path, name)), CreateDate: ptr(e.env.Now().UTC()),
			AssumeRolePolicyDocument: ptr(doc), Description: optional(f.get("Description")), MaxSessionDuration: ptr(int32(3600)), Tags: iamTags(f),
		}
		s.Roles[name] = &roleRec{V: r, Policies: []iamtypes.AttachedPolicy{}}
		return &iam.CreateRoleOutput{Role: s.Roles[name].reply()}, true, nil

	case "GetRole":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		return &iam.GetRoleOutput{Role: r.reply()}, false, nil

	case "DeleteRole":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		if len(r.Policies) > 0 {
			return nil, false, errf(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
		}
		delete(s.Roles, f.get("RoleName"))
		return &iam.DeleteRoleOutput{}, true, nil

	case "AttachRolePolicy", "DetachRolePolicy":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		arn := f.get("PolicyArn")
		name, ok := strings.CutPrefix(arn, "arn:aws:iam::aws:policy/")
		if !ok || !managedPolicies[name] {
			if !strings.HasPrefix(arn, "arn:aws:iam::") {
				return nil, false, errf(400, "InvalidInput", "ARN %s is not valid.", arn)
			}
			return nil, false, errf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
		}
		idx := -1
		for i, p := range r.Policies {
			if deref(p.PolicyArn) == arn {
				idx = i
			}
		}
		if op == "AttachRolePolicy" {
			if idx < 0 {
				short := name[strings.LastIndex(name, "/")+1:]
				r.Policies = append(r.Policies, iamtypes.AttachedPolicy{PolicyArn: ptr(arn), PolicyName: ptr(short)})
			}
			return &iam.AttachRolePolicyOutput{}, idx < 0, nil
		}
		if idx < 0 {
			return nil, false, errf(404, "NoSuchEntity", "Policy %s was not found.", arn)
		}
		r.Policies = append(r.Policies[:idx], r.Policies[idx+1:]...)
		return &iam.DetachRolePolicyOutput{}, true, nil

	case "ListAttachedRolePolicies":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		return &iam.ListAttachedRolePoliciesOutput{AttachedPolicies: append([]iamtypes.AttachedPolicy{}, r.Policies...), IsTruncated: false}, false, nil

	case "TagRole":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		if aerr := checkTags("iam:TagRole", iamTagMap(r.V.Tags), iamTagMap(iamTags(f))); aerr != nil {
			return nil, false, aerr
		}
		for _, t := range iamTags(f) {
			kept := r.V.Tags[:0]
			for _, have := range r.V.Tags {
				if deref(have.Key) != deref(t.Key) {
					kept = append(kept, have)
				}
			}
			r.V.Tags = append(kept, t)
		}
		return &iam.TagRoleOutput{}, true, nil

	case "ListRoles":
		roles := []iamtypes.Role{}
		for _, name := range sortedKeys(s.Roles) {
			if r := s.Roles[name]; strings.HasPrefix(deref(r.V.Path), pathPrefix(f)) {
				v := *r.reply()
				v.Tags = nil // ListRoles does not return tags
				roles = append(roles, v)
			}
		}
		return &iam.ListRolesOutput{Roles: roles, IsTruncated: false}, false, nil

	case "UntagRole":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		keys := f.list("TagKeys.member")
		if aerr := checkReservedKeys("iam:UntagRole", keys); aerr != nil {
			return nil, false, aerr
		}
		kept := r.V.Tags[:0]
		for _, have := range r.V.Tags {
			if !contains(keys, deref(have.Key)) {
				kept = append(kept, have)
			}
		}
		r.V.Tags = kept
		return &iam.UntagRoleOutput{}, true, nil

	case "GetAccountAuthorizationDetails":
		return e.accountAuthorizationDetails(f)

	case "ListRoleTags":
		r, aerr := e.role(f.get("RoleName"))
		if aerr != nil {
			return nil, false, aerr
		}
		return &iam.ListRoleTagsOutput{Tags: append([]iamtypes.Tag{}, r.V.Tags...), IsTruncated: false}, false, nil
	}
	return nil, false, errf(400, "InvalidAction", "Could not find operation %s for version 2010-05-08", op)
}

// accountAuthorizationDetails answers GetAccountAuthorizationDetails for
// roles (Filter Role, or no filter), as IAM pages it: MaxItems per page
// (100 by default, at most 1000), Marker naming where the next page
// starts. Users, groups and policies of your own are not emulated, so
// the lists of those are empty.
func (e *Emulator) accountAuthorizationDetails(f form) (smithy.Serializable, bool, *apiErr) {
	filters := f.list("Filter.member")
	for _, fl := range filters {
		switch fl {
		case "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
		default:
			return nil, false, errf(400, "ValidationError", "1 validation error detected: Value '[%s]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]]", fl)
		}
	}
	limit := 100
	if v := f.get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, false, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		limit = n
	}
	out := &iam.GetAccountAuthorizationDetailsOutput{
		RoleDetailList: []iamtypes.RoleDetail{}, UserDetailList: []iamtypes.UserDetail{},
		GroupDetailList: []iamtypes.GroupDetail{}, Policies: []iamtypes.ManagedPolicyDetail{},
	}
	if len(filters) > 0 && !contains(filters, "Role") {
		return out, false, nil
	}
	names := sortedKeys(e.st.Roles)
	start := 0
	if m := f.get("Marker"); m != "" {
		start = len(names)
		for i, n := range names {
			if n >= m {
				start = i
				break
			}
		}
	}
	for i := start; i < len(names); i++ {
		if len(out.RoleDetailList) == limit {
			out.IsTruncated, out.Marker = true, ptr(names[i])
			break
		}
		r := e.st.Roles[names[i]]
		v := r.reply()
		out.RoleDetailList = append(out.RoleDetailList, iamtypes.RoleDetail{
			Arn: v.Arn, AssumeRolePolicyDocument: v.AssumeRolePolicyDocument, CreateDate: v.CreateDate,
			Path: v.Path, RoleId: v.RoleId, RoleName: v.RoleName, Tags: append([]iamtypes.Tag{}, v.Tags...),
			AttachedManagedPolicies: append([]iamtypes.AttachedPolicy{}, r.Policies...),
			InstanceProfileList:     []iamtypes.InstanceProfile{}, RolePolicyList: []iamtypes.PolicyDetail{},
		})
	}
	return out, false, nil
}
