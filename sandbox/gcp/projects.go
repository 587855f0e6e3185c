package gcp

import (
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Projects: DefaultProject always exists, and so do the ones the sandbox
// was given (Options.GCPProjects). A call naming any other project gets
// what Google answers for a project that does not exist: Compute 404
// notFound "The resource 'projects/P' was not found", GKE (gRPC and REST)
// 403 PERMISSION_DENIED "Permission denied on resource project P." with
// the ErrorInfo reason CONSUMER_INVALID, as the API front end refuses a
// consumer project it does not know.

func (e *Emulator) projectExists(p string) bool {
	return p == DefaultProject || slices.Contains(e.env.Projects, p)
}

// projectDenied is GKE's refusal of a project that does not exist.
func projectDenied(project string) error {
	msg := "Permission denied on resource project " + project + "."
	st, err := status.New(codes.PermissionDenied, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: "CONSUMER_INVALID", Domain: "googleapis.com",
			Metadata: map[string]string{"consumer": "projects/" + project, "service": "container.googleapis.com"}},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: msg},
	)
	if err != nil {
		return status.Error(codes.PermissionDenied, msg)
	}
	return st.Err()
}

// checkRequestProject refuses a GKE request naming a project that does not
// exist, in its name or parent ("projects/P/…") or its project_id.
func (e *Emulator) checkRequestProject(req proto.Message) error {
	m := req.ProtoReflect()
	fields := m.Descriptor().Fields()
	project := ""
	for _, n := range []protoreflect.Name{"name", "parent"} {
		if fd := fields.ByName(n); fd != nil && fd.Kind() == protoreflect.StringKind {
			if rest, ok := strings.CutPrefix(m.Get(fd).String(), "projects/"); ok {
				project, _, _ = strings.Cut(rest, "/")
				break
			}
		}
	}
	if fd := fields.ByName("project_id"); project == "" && fd != nil && fd.Kind() == protoreflect.StringKind {
		project = m.Get(fd).String()
	}
	if project == "" || e.projectExists(project) {
		return nil
	}
	return projectDenied(project)
}
