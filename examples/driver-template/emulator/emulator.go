// Package emulator is the Acme cloud's emulator: its API (package api) on
// 127.0.0.1, with the cloud kept in a JSON file so that it outlives the
// process. regionctl runs it for `--sandbox` through the plugin (Start is
// the plugin's plugin.Config.Emulator); the conformance test runs it too.
package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/regionctl-driver-acme/acme/api"
	"github.com/regionctl/regionctl/providers/plugin"
)

// provisioning is how long a new cluster stays "provisioning".
const provisioning = 200 * time.Millisecond

// Emulator serves the Acme API.
type Emulator struct {
	file string
	srv  *http.Server
	url  string

	requests atomic.Int64

	mu     sync.Mutex
	cloud  cloud
	tokens map[string]string // client token → id
}

// cloud is what the emulator persists.
type cloud struct {
	NextID  int                    `json:"next_id"`
	Objects map[string]*api.Object `json:"objects"`
	// Ready is when each provisioning cluster becomes running.
	Ready map[string]time.Time `json:"ready,omitempty"`
}

var _ plugin.Emulator = (*Emulator)(nil)

// Start serves the emulator on 127.0.0.1, loading and keeping its cloud in
// dir/acme.json. It has the signature of plugin.EmulatorFactory.
func Start(ctx context.Context, dir string) (plugin.Emulator, error) {
	e := &Emulator{file: filepath.Join(dir, "acme.json"), tokens: map[string]string{},
		cloud: cloud{Objects: map[string]*api.Object{}, Ready: map[string]time.Time{}}}
	data, err := os.ReadFile(e.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(data, &e.cloud); err != nil {
			return nil, fmt.Errorf("acme emulator: %s: %w", e.file, err)
		}
		if e.cloud.Ready == nil {
			e.cloud.Ready = map[string]time.Time{}
		}
		for id, o := range e.cloud.Objects {
			e.tokens[o.Tags["client_token"]] = id
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.url = "http://" + ln.Addr().String()
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// Endpoints implements plugin.Emulator: the driver finds the API under "acme".
func (e *Emulator) Endpoints() map[string]string { return map[string]string{"acme": e.url} }

// Objects implements plugin.Emulator, for `regionctl sandbox ls`.
func (e *Emulator) Objects() []plugin.EmulatedObject {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []plugin.EmulatedObject
	for _, id := range slices.Sorted(maps.Keys(e.cloud.Objects)) {
		o := e.cloud.Objects[id]
		var named struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(o.Spec, &named)
		out = append(out, plugin.EmulatedObject{Type: o.Kind, ID: o.ID, Name: named.Name, State: e.status(o)})
	}
	return out
}

// Close implements plugin.Emulator.
func (e *Emulator) Close() error { return e.srv.Close() }

// Requests counts the API requests served so far.
func (e *Emulator) Requests() int { return int(e.requests.Load()) }

// ServeHTTP routes /v1/{kind} and /v1/{kind}/{id}.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "v1" || !slices.Contains([]string{api.Networks, api.Clusters, api.NodePools}, parts[1]) || len(parts) > 3 {
		fail(w, http.StatusNotFound, "not_found", "no such API: "+r.URL.Path)
		return
	}
	kind := parts[1]
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(parts) == 2 {
		switch r.Method {
		case http.MethodPost:
			e.create(w, r, kind)
		case http.MethodGet:
			e.list(w, r, kind)
		default:
			fail(w, http.StatusMethodNotAllowed, "invalid", r.Method+" not allowed")
		}
		return
	}
	o, ok := e.cloud.Objects[parts[2]]
	if !ok || o.Kind != kind {
		fail(w, http.StatusNotFound, "not_found", fmt.Sprintf("%s %s does not exist", kind, parts[2]))
		return
	}
	switch r.Method {
	case http.MethodGet:
		e.reply(w, o)
	case http.MethodPatch:
		e.update(w, r, o)
	case http.MethodDelete:
		e.delete(w, o)
	default:
		fail(w, http.StatusMethodNotAllowed, "invalid", r.Method+" not allowed")
	}
}

func (e *Emulator) create(w http.ResponseWriter, r *http.Request, kind string) {
	var req struct {
		ClientToken string            `json:"client_token"`
		Tags        map[string]string `json:"tags"`
		Spec        json.RawMessage   `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "invalid", "body: "+err.Error())
		return
	}
	if id, ok := e.tokens[req.ClientToken]; ok && req.ClientToken != "" {
		if o, ok := e.cloud.Objects[id]; ok {
			e.reply(w, o) // the same token: the same object
			return
		}
	}
	if msg := e.check(kind, req.Spec); msg != "" {
		fail(w, http.StatusBadRequest, "invalid", msg)
		return
	}
	e.cloud.NextID++
	id := fmt.Sprintf("%s-%d", strings.TrimSuffix(kind, "s"), e.cloud.NextID)
	tags := map[string]string{}
	for k, v := range req.Tags {
		tags[k] = v
	}
	tags["client_token"] = req.ClientToken
	o := &api.Object{ID: id, Kind: kind, Tags: tags, Spec: req.Spec, Status: "running"}
	if kind == api.Clusters {
		o.Status = "provisioning"
		o.Endpoint = "https://" + id + ".k8s.acme.test"
		e.cloud.Ready[id] = time.Now().Add(provisioning)
	}
	e.cloud.Objects[id] = o
	e.tokens[req.ClientToken] = id
	if e.save(w) {
		e.reply(w, o)
	}
}

// check validates a spec: its fields, and the objects it refers to.
func (e *Emulator) check(kind string, raw json.RawMessage) string {
	exists := func(kind, id string) bool { o, ok := e.cloud.Objects[id]; return ok && o.Kind == kind }
	switch kind {
	case api.Networks:
		var s api.NetworkSpec
		if json.Unmarshal(raw, &s) != nil || s.Name == "" || s.CIDR == "" {
			return "a network needs a name and a cidr"
		}
	case api.Clusters:
		var s api.ClusterSpec
		if json.Unmarshal(raw, &s) != nil || s.Name == "" || s.Version == "" {
			return "a cluster needs a name and a version"
		}
		if !exists(api.Networks, s.NetworkID) {
			return "network " + s.NetworkID + " does not exist"
		}
	case api.NodePools:
		var s api.NodePoolSpec
		if json.Unmarshal(raw, &s) != nil || s.Name == "" || s.Size == "" || s.Min < 0 || s.Max < s.Min {
			return "a node pool needs a name, a size and 0 <= min <= max"
		}
		if !exists(api.Clusters, s.ClusterID) {
			return "cluster " + s.ClusterID + " does not exist"
		}
	}
	return ""
}

func (e *Emulator) list(w http.ResponseWriter, r *http.Request, kind string) {
	key, value, _ := strings.Cut(r.URL.Query().Get("tag"), "=")
	out := []*api.Object{}
	for _, o := range e.cloud.Objects {
		if o.Kind == kind && (key == "" || o.Tags[key] == value) {
			o.Status = e.status(o)
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *api.Object) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"objects": out})
}

func (e *Emulator) update(w http.ResponseWriter, r *http.Request, o *api.Object) {
	var req struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "invalid", "body: "+err.Error())
		return
	}
	if msg := e.check(o.Kind, req.Spec); msg != "" {
		fail(w, http.StatusBadRequest, "invalid", msg)
		return
	}
	o.Spec = req.Spec
	if e.save(w) {
		e.reply(w, o)
	}
}

func (e *Emulator) delete(w http.ResponseWriter, o *api.Object) {
	for _, other := range e.cloud.Objects {
		if strings.Contains(string(other.Spec), `"`+o.ID+`"`) {
			fail(w, http.StatusConflict, "conflict", fmt.Sprintf("%s is used by %s: delete that first", o.ID, other.ID))
			return
		}
	}
	delete(e.cloud.Objects, o.ID)
	delete(e.cloud.Ready, o.ID)
	if e.save(w) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// status is o's status now: a cluster is running once its time has come.
func (e *Emulator) status(o *api.Object) string {
	if ready, ok := e.cloud.Ready[o.ID]; ok && time.Now().After(ready) {
		delete(e.cloud.Ready, o.ID)
		o.Status = "running"
	}
	return o.Status
}

func (e *Emulator) reply(w http.ResponseWriter, o *api.Object) {
	o.Status = e.status(o)
	writeJSON(w, http.StatusOK, o)
}

// save writes the cloud to its file (a temporary file, then a rename), so
// a crash leaves the old cloud or the new one. On failure it answers 500.
func (e *Emulator) save(w http.ResponseWriter) bool {
	data, err := json.MarshalIndent(e.cloud, "", "  ")
	if err == nil {
		tmp := e.file + ".tmp-" + strconv.Itoa(os.Getpid())
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, e.file)
		}
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal", "save: "+err.Error())
		return false
	}
	return true
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}
