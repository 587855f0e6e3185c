package gcp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Compute's batch endpoint, POST /batch/compute/v1: gcloud sends most of
// its compute requests there (one multipart/mixed body of application/http
// parts, each an HTTP request; the reply is one application/http part per
// request, in order, with Content-ID "response-" + the request's). Each
// inner request is served as if it came alone, with the outer request's
// credentials, and logged under its own operation name.

// BatchPath is Compute's batch endpoint.
const BatchPath = "/batch/compute/v1"

func isBatch(r *http.Request) bool { return r.URL.Path == BatchPath }

// serveBatch answers a batch request; each part is authorized on its own.
func (e *Emulator) serveBatch(w http.ResponseWriter, r *http.Request, c emu.Call) bool {
	if r.Method != http.MethodPost {
		writeGErr(w, cerr(http.StatusMethodNotAllowed, "badRequest", "The batch endpoint takes POST."), "")
		return false
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		writeGErr(w, cerr(http.StatusBadRequest, "badRequest", "Batch requests are multipart/mixed with a boundary."), "")
		return false
	}
	mr := multipart.NewReader(bytes.NewReader(c.Body), params["boundary"])
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	changed := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeGErr(w, cerr(http.StatusBadRequest, "badRequest", "Malformed batch body: %v", err), "")
			return changed
		}
		id := part.Header.Get("Content-ID")
		inner, err := http.ReadRequest(bufio.NewReader(part))
		if err != nil {
			writeGErr(w, cerr(http.StatusBadRequest, "badRequest", "Malformed batch part %s: %v", id, err), "")
			return changed
		}
		body, _ := io.ReadAll(inner.Body) // an in-memory part
		inner = inner.WithContext(r.Context())
		if inner.Header.Get("Authorization") == "" {
			inner.Header.Set("Authorization", r.Header.Get("Authorization"))
		}
		// Parts name the path ("/compute/v1/projects/…") or a full URL.
		if inner.URL.IsAbs() {
			inner.URL.Scheme, inner.URL.Host = "", ""
		}
		op := e.Operation(inner, body)
		rec := httptest.NewRecorder()
		if isBatch(inner) {
			writeGErr(rec, cerr(http.StatusBadRequest, "badRequest", "Batch requests cannot be nested."), "")
		} else if e.Serve(rec, inner, emu.Call{Op: op, Body: body, Fail: c.Fail}) {
			changed = true
		}
		h := textproto.MIMEHeader{"Content-Type": {"application/http"}}
		if id != "" {
			h.Set("Content-ID", "<response-"+strings.Trim(id, "<>")+">")
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			break
		}
		res := rec.Result()
		fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
		_ = res.Header.Write(pw) // writes to a buffer
		fmt.Fprintf(pw, "Content-Length: %d\r\n\r\n", rec.Body.Len())
		_, _ = pw.Write(rec.Body.Bytes())
	}
	_ = mw.Close() // writes to a buffer
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	_, _ = w.Write(out.Bytes())
	return changed
}
