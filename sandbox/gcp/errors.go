package gcp

import (
	"encoding/json"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Google's JSON error body, as every googleapis.com REST API sends it:
// {"error": {"code", "message", "errors": [{"message", "domain", "reason"}],
// "status", "details": [{"@type", ...}]}}; googleapi.CheckResponse and
// gcloud read it.

type errItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

type errBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Errors  []errItem         `json:"errors,omitempty"`
	Status  string            `json:"status,omitempty"`
	Details []json.RawMessage `json:"details,omitempty"`
}

func writeErrBody(w http.ResponseWriter, b errBody) {
	data, _ := json.Marshal(map[string]errBody{"error": b}) // plain structs always marshal
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(b.Code)
	_, _ = w.Write(data)
}

// httpStatus maps a google.rpc.Code to its HTTP status, as Google's REST
// front ends do (google/rpc/code.proto).
var httpStatus = map[codes.Code]int{
	codes.OK: 200, codes.Canceled: 499, codes.Unknown: 500, codes.InvalidArgument: 400,
	codes.DeadlineExceeded: 504, codes.NotFound: 404, codes.AlreadyExists: 409,
	codes.PermissionDenied: 403, codes.Unauthenticated: 401, codes.ResourceExhausted: 429,
	codes.FailedPrecondition: 400, codes.Aborted: 409, codes.OutOfRange: 400,
	codes.Unimplemented: 501, codes.Internal: 500, codes.Unavailable: 503, codes.DataLoss: 500,
}

// legacyReason is the reason of the "errors" list for a status code.
var legacyReason = map[codes.Code]string{
	codes.InvalidArgument: "badRequest", codes.FailedPrecondition: "failedPrecondition", codes.OutOfRange: "badRequest",
	codes.NotFound: "notFound", codes.AlreadyExists: "alreadyExists", codes.Aborted: "aborted",
	codes.PermissionDenied: "forbidden", codes.Unauthenticated: "unauthorized", codes.ResourceExhausted: "rateLimitExceeded",
	codes.Unimplemented: "notImplemented", codes.Internal: "backendError", codes.Unavailable: "backendError",
	codes.Unknown: "backendError", codes.DeadlineExceeded: "deadlineExceeded", codes.Canceled: "cancelled", codes.DataLoss: "backendError",
}

// writeStatusJSON writes a gRPC status as the REST error its method gets.
func writeStatusJSON(w http.ResponseWriter, st *status.Status) {
	b := errBody{
		Code:    httpStatus[st.Code()],
		Message: st.Message(),
		Status:  code.Code(st.Code()).String(),
		Errors:  []errItem{{Message: st.Message(), Domain: "global", Reason: legacyReason[st.Code()]}},
	}
	for _, d := range st.Proto().GetDetails() {
		if raw, err := protojson.Marshal(d); err == nil {
			b.Details = append(b.Details, raw)
		}
	}
	writeErrBody(w, b)
}
