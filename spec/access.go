package spec

import (
	"fmt"
	"strings"
)

// Access names the cloud principals who may reach the cluster, besides the
// identity that runs apply (which always administers it). Each entry is a
// principal in its cloud's own notation, checked by the region's driver at
// plan time:
//
//   - AWS: an IAM role or user ARN, arn:aws:iam::111122223333:role/platform
//   - GCP: an IAM member, user:alice@example.com, group:ops@example.com,
//     serviceAccount:ci@project.iam.gserviceaccount.com
//   - Azure: an Entra object ID with its kind, group:OBJECT-ID,
//     user:OBJECT-ID, servicePrincipal:OBJECT-ID
type Access struct {
	// Admins administer the whole cluster (Kubernetes cluster-admin).
	Admins []string `json:"admins,omitempty"`
	// Viewers read everything but Secrets (the Kubernetes view role).
	Viewers []string `json:"viewers,omitempty"`
}

// Access roles, in the order they are checked.
const (
	AccessAdmin  = "admin"
	AccessViewer = "viewer"
)

// Grant is one principal with one access role, as drivers map it.
type Grant struct {
	// Principal is the entry as written.
	Principal string
	// Role is AccessAdmin or AccessViewer.
	Role string
	// Path is the entry's field path (spec.access.admins[0]).
	Path string
}

// Grants lists every principal of a with its role and field path, admins
// first, in the order written.
func (a Access) Grants() []Grant {
	var out []Grant
	for i, p := range a.Admins {
		out = append(out, Grant{Principal: p, Role: AccessAdmin, Path: joinIndex("spec.access.admins", i)})
	}
	for i, p := range a.Viewers {
		out = append(out, Grant{Principal: p, Role: AccessViewer, Path: joinIndex("spec.access.viewers", i)})
	}
	return out
}

// access checks what needs no driver: entries are not empty, carry no
// surrounding spaces, and name each principal once across both lists (a
// principal that is an admin needs no viewer entry).
func (v *validator) access(a Access) {
	seen := map[string]string{}
	for _, g := range a.Grants() {
		switch {
		case g.Principal == "":
			v.errf(g.Path, "write the principal, e.g. arn:aws:iam::111122223333:role/platform, group:ops@example.com or group:OBJECT-ID", "must not be empty")
			continue
		case strings.TrimSpace(g.Principal) != g.Principal:
			v.errf(g.Path, fmt.Sprintf("write %q", strings.TrimSpace(g.Principal)), "principal %q has surrounding spaces", truncate(g.Principal, 80))
			continue
		}
		if first, dup := seen[g.Principal]; dup {
			fix := "remove one of them"
			if g.Role == AccessViewer {
				fix = "remove it from viewers: an admin can read everything already"
			}
			v.errf(g.Path, fix, "principal %q is already listed at %s (%s)", truncate(g.Principal, 80), first, v.r.Pos(first))
			continue
		}
		seen[g.Principal] = g.Path
	}
}
