package gcp

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Service Usage's services.get (GET /v1/projects/P/services/S), served on
// the Compute endpoint: gcloud asks it whether an API is enabled before
// some commands (`gcloud container clusters create` checks
// containerfilesystem.googleapis.com) and crashes when it cannot reach it.
// Point CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE at the Compute
// endpoint. In the sandbox every API is enabled in every project that
// exists.

const serviceUsagePrefix = "/v1/projects/"

func isServiceUsage(r *http.Request) bool {
	return !isContainerREST(r) && strings.HasPrefix(r.URL.Path, serviceUsagePrefix)
}

// serveServiceUsage answers services.get.
func (e *Emulator) serveServiceUsage(w http.ResponseWriter, r *http.Request) {
	call := apiCall{service: "serviceusage.googleapis.com", method: "google.api.serviceusage.v1.ServiceUsage.GetService",
		scopes: append([]string{"https://www.googleapis.com/auth/service.management"}, readOnlyScopes[0], scopeCloudPlatform)}
	if f := e.authorize(requestAuthorization(r), call, time.Now()); f != nil {
		writeAuthFailure(w, f, call, false)
		return
	}
	p := strings.Split(strings.TrimPrefix(r.URL.Path, serviceUsagePrefix), "/")
	if r.Method != http.MethodGet || len(p) != 3 || p[1] != "services" || p[0] == "" || p[2] == "" {
		writeStatusJSON(w, status.Newf(codes.NotFound, "The sandbox does not emulate %s %s.", r.Method, r.URL.Path))
		return
	}
	project, service := p[0], p[2]
	if !e.projectExists(project) {
		writeStatusJSON(w, status.Newf(codes.PermissionDenied, "Permission denied to get service [%s]", service))
		return
	}
	num := projectNumber(project)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"name":   "projects/" + num + "/services/" + service,
		"parent": "projects/" + num,
		"config": map[string]any{"name": service},
		"state":  "ENABLED",
	})
}
