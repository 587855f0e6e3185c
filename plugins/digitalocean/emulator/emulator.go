// Package emulator is an emulator of the DigitalOcean API v2 for regionctl's
// --sandbox: VPCs and Kubernetes (DOKS) clusters with their node pools, on
// 127.0.0.1, speaking the API's real wire format so that the official SDK
// (godo) runs unchanged against it — JSON bodies, `links`/`meta`
// pagination, errors as {"id", "message", "request_id"} with the API's
// status codes (401, 404, 422, 429), RateLimit-Limit/-Remaining/-Reset
// headers, clusters that are "provisioning" until their Kubernetes API
// server is ready, and kubeconfigs from the cluster's kubeconfig endpoint.
//
// Every cluster gets a real kube-apiserver (sandbox/kube, one etcd for the
// emulator), so StorageClasses and Services are applied for real. The
// emulated cloud is kept in DIR/digitalocean.json, written before every
// answer that changed it, so it outlives the process.
package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// Service is the name the driver finds the API under in
// Options.SandboxEndpoints.
const Service = "digitalocean"

// Config configures an emulator.
type Config struct {
	// Dir keeps the emulated cloud (digitalocean.json) and the clusters'
	// API servers (kube/).
	Dir string
	// NoKubernetes gives clusters no API server (tests of the API alone);
	// such a cluster is running after Provisioning.
	NoKubernetes bool
	// Provisioning is the least time a new cluster stays "provisioning"
	// (default 200ms).
	Provisioning time.Duration
	// RateLimit is the requests per hour a token may make (default 5,000,
	// the API's); RateBurst the requests per minute (default 250).
	RateLimit, RateBurst int
}

// Emulator serves the DigitalOcean API.
type Emulator struct {
	cfg  Config
	file string
	srv  *http.Server
	url  string
	kube *kube.Manager // nil with NoKubernetes

	requests atomic.Int64

	mu    sync.Mutex
	cloud cloud
	rates map[string]*rate // per bearer token
}

// cloud is what the emulator persists.
type cloud struct {
	// Account is the emulated account's (and its team's) UUID.
	Account  string              `json:"account"`
	VPCs     map[string]*vpc     `json:"vpcs"`
	Clusters map[string]*cluster `json:"clusters"`
}

var _ plugin.Emulator = (*Emulator)(nil)

// Start serves the emulator with its cloud in dir, with a Kubernetes API
// server per cluster. It has the signature of plugin.EmulatorFactory.
func Start(ctx context.Context, dir string) (plugin.Emulator, error) {
	return New(ctx, Config{Dir: dir})
}

// New serves an emulator on 127.0.0.1, loading the cloud kept in cfg.Dir
// and restarting the API servers of its clusters.
func New(ctx context.Context, cfg Config) (*Emulator, error) {
	if cfg.Provisioning <= 0 {
		cfg.Provisioning = 200 * time.Millisecond
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 5000
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 250
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("digitalocean emulator: %w", err)
	}
	e := &Emulator{cfg: cfg, file: filepath.Join(cfg.Dir, "digitalocean.json"), rates: map[string]*rate{},
		cloud: cloud{VPCs: map[string]*vpc{}, Clusters: map[string]*cluster{}}}
	data, err := os.ReadFile(e.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("digitalocean emulator: %w", err)
	default:
		if err := json.Unmarshal(data, &e.cloud); err != nil {
			return nil, fmt.Errorf("digitalocean emulator: %s: %w", e.file, err)
		}
	}
	if e.cloud.Account == "" {
		e.cloud.Account = newID()
	}
	if !cfg.NoKubernetes {
		e.kube = kube.New(kube.Options{Dir: filepath.Join(cfg.Dir, "kube")})
		for _, id := range slices.Sorted(maps.Keys(e.cloud.Clusters)) {
			if _, err := e.ensureAPIServer(e.cloud.Clusters[id]); err != nil {
				return nil, fmt.Errorf("digitalocean emulator: cluster %s: %w", id, err)
			}
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

// Endpoints implements plugin.Emulator: the API's base URL, under "digitalocean".
func (e *Emulator) Endpoints() map[string]string { return map[string]string{Service: e.url} }

// URL is the API's base URL.
func (e *Emulator) URL() string { return e.url }

// Objects implements plugin.Emulator, for `regionctl sandbox ls`.
func (e *Emulator) Objects() []plugin.EmulatedObject {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []plugin.EmulatedObject
	for _, id := range slices.Sorted(maps.Keys(e.cloud.VPCs)) {
		v := e.cloud.VPCs[id]
		out = append(out, plugin.EmulatedObject{Type: "vpc", ID: v.ID, Name: v.Name, Region: v.Region, State: "available"})
	}
	for _, id := range slices.Sorted(maps.Keys(e.cloud.Clusters)) {
		c := e.cloud.Clusters[id]
		out = append(out, plugin.EmulatedObject{Type: "kubernetes_cluster", ID: c.ID, Name: c.Name, Region: c.Region, State: e.state(c)})
		for _, p := range c.NodePools {
			out = append(out, plugin.EmulatedObject{Type: "kubernetes_node_pool", ID: p.ID, Name: p.Name, Region: c.Region, State: "running"})
		}
	}
	return out
}

// Close implements plugin.Emulator: it stops serving and stops the
// clusters' API servers, keeping their data for the next start.
func (e *Emulator) Close() error {
	err := e.srv.Close()
	if e.kube != nil {
		err = errors.Join(err, e.kube.Close())
	}
	return err
}

// Requests counts the API requests served so far.
func (e *Emulator) Requests() int { return int(e.requests.Load()) }

// Kube is the manager of the clusters' API servers (nil with NoKubernetes).
func (e *Emulator) Kube() *kube.Manager { return e.kube }

// apiError is the body of every error the API returns.
type apiError struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// The error ids the API uses, by status.
var errorIDs = map[int]string{
	http.StatusBadRequest:          "bad_request",
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusForbidden:           "forbidden",
	http.StatusNotFound:            "not_found",
	http.StatusMethodNotAllowed:    "method_not_allowed",
	http.StatusConflict:            "conflict",
	http.StatusUnprocessableEntity: "unprocessable_entity",
	http.StatusTooManyRequests:     "too_many_requests",
	http.StatusInternalServerError: "server_error",
}

// route is one API call, matched on method and path pattern.
type route struct {
	method, pattern string
	handle          func(e *Emulator, w *writer, r *http.Request, args []string)
}

var routes = []route{
	{http.MethodGet, "/v2/account", (*Emulator).account},
	{http.MethodGet, "/v2/vpcs", (*Emulator).listVPCs},
	{http.MethodPost, "/v2/vpcs", (*Emulator).createVPC},
	{http.MethodGet, "/v2/vpcs/*", (*Emulator).getVPC},
	{http.MethodPut, "/v2/vpcs/*", (*Emulator).updateVPC},
	{http.MethodPatch, "/v2/vpcs/*", (*Emulator).updateVPC},
	{http.MethodDelete, "/v2/vpcs/*", (*Emulator).deleteVPC},
	{http.MethodGet, "/v2/kubernetes/options", (*Emulator).options},
	{http.MethodGet, "/v2/kubernetes/clusters", (*Emulator).listClusters},
	{http.MethodPost, "/v2/kubernetes/clusters", (*Emulator).createCluster},
	{http.MethodGet, "/v2/kubernetes/clusters/*", (*Emulator).getCluster},
	{http.MethodPut, "/v2/kubernetes/clusters/*", (*Emulator).updateCluster},
	{http.MethodDelete, "/v2/kubernetes/clusters/*", (*Emulator).deleteCluster},
	{http.MethodPost, "/v2/kubernetes/clusters/*/upgrade", (*Emulator).upgradeCluster},
	{http.MethodGet, "/v2/kubernetes/clusters/*/kubeconfig", (*Emulator).kubeconfig},
	{http.MethodGet, "/v2/kubernetes/clusters/*/credentials", (*Emulator).credentials},
	{http.MethodGet, "/v2/kubernetes/clusters/*/node_pools", (*Emulator).listNodePools},
	{http.MethodPost, "/v2/kubernetes/clusters/*/node_pools", (*Emulator).createNodePool},
	{http.MethodGet, "/v2/kubernetes/clusters/*/node_pools/*", (*Emulator).getNodePool},
	{http.MethodPut, "/v2/kubernetes/clusters/*/node_pools/*", (*Emulator).updateNodePool},
	{http.MethodDelete, "/v2/kubernetes/clusters/*/node_pools/*", (*Emulator).deleteNodePool},
}

// match reports whether path fits pattern ("*" is one segment) and returns
// the segments the stars matched.
func match(pattern, path string) ([]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var args []string
	for i, p := range ps {
		switch {
		case p == "*" && xs[i] != "":
			args = append(args, xs[i])
		case p != xs[i]:
			return nil, false
		}
	}
	return args, true
}

// ServeHTTP authenticates the caller, applies the rate limit and routes.
func (e *Emulator) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	w := &writer{ResponseWriter: rw, requestID: newID()}
	w.Header().Set("X-Request-Id", w.requestID)
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		w.fail(http.StatusUnauthorized, "Unable to authenticate you")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.allow(w, token) {
		w.fail(http.StatusTooManyRequests, "API Rate limit exceeded.")
		return
	}
	known := false
	for _, rt := range routes {
		args, ok := match(rt.pattern, r.URL.Path)
		if !ok {
			continue
		}
		known = true
		if rt.method == r.Method {
			rt.handle(e, w, r, args)
			return
		}
	}
	if known {
		w.fail(http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
		return
	}
	w.fail(http.StatusNotFound, "The resource you were accessing could not be found.")
}

// rate is one token's request counts in the current hour and minute.
type rate struct {
	hour, minute           time.Time
	inHour, inMinute, used int
}

// allow counts a request against token's limits and sets the RateLimit
// headers; false means the request is refused with 429.
func (e *Emulator) allow(w *writer, token string) bool {
	now := time.Now()
	rt := e.rates[token]
	if rt == nil {
		rt = &rate{}
		e.rates[token] = rt
	}
	if now.Sub(rt.hour) >= time.Hour {
		rt.hour, rt.inHour = now, 0
	}
	if now.Sub(rt.minute) >= time.Minute {
		rt.minute, rt.inMinute = now, 0
	}
	ok := rt.inHour < e.cfg.RateLimit && rt.inMinute < e.cfg.RateBurst
	if ok {
		rt.inHour++
		rt.inMinute++
	}
	reset := rt.hour.Add(time.Hour)
	if rt.inMinute >= e.cfg.RateBurst {
		reset = rt.minute.Add(time.Minute)
	}
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(e.cfg.RateLimit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(0, e.cfg.RateLimit-rt.inHour)))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if !ok {
		h.Set("Retry-After", strconv.Itoa(max(1, int(time.Until(reset).Seconds()+0.999))))
	}
	return ok
}

// writer answers one request.
type writer struct {
	http.ResponseWriter
	requestID string
}

func (w *writer) json(status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

func (w *writer) fail(status int, format string, args ...any) {
	id := errorIDs[status]
	if id == "" {
		id = "error"
	}
	w.json(status, apiError{ID: id, Message: fmt.Sprintf(format, args...), RequestID: w.requestID})
}

// decode reads a JSON body, answering 400 when it is not one.
func (w *writer) decode(r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		w.fail(http.StatusBadRequest, "unable to parse the request body: %v", err)
		return false
	}
	return true
}

// page answers a list: the items of the requested page (page, per_page:
// default 20, at most 200) under key, with `links.pages` and `meta.total`
// as the API writes them.
func page[T any](e *Emulator, w *writer, r *http.Request, key string, items []T) {
	q := r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage <= 0 {
		perPage = 20
	}
	perPage = min(perPage, 200)
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n <= 0 {
		n = 1
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	lo, hi := min((n-1)*perPage, len(items)), min(n*perPage, len(items))
	link := func(p int) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		return e.url + u.RequestURI()
	}
	pages := map[string]string{}
	if n > 1 {
		pages["first"], pages["prev"] = link(1), link(n-1)
	}
	if n < last {
		pages["next"], pages["last"] = link(n+1), link(last)
	}
	body := map[string]any{key: items[lo:hi], "links": map[string]any{"pages": pages}, "meta": map[string]int{"total": len(items)}}
	w.json(http.StatusOK, body)
}

// save writes the cloud to its file (a temporary file, then a rename), so a
// crash leaves the old cloud or the new one. On failure it answers 500.
func (e *Emulator) save(w *writer) bool {
	data, err := json.MarshalIndent(e.cloud, "", "  ")
	if err == nil {
		tmp := e.file + ".tmp-" + strconv.Itoa(os.Getpid())
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, e.file)
		}
	}
	if err != nil {
		w.fail(http.StatusInternalServerError, "save the emulated cloud: %v", err)
		return false
	}
	return true
}

// newID makes a UUID (version 4), as the API's ids are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// now is the API's timestamp format.
func now() string { return time.Now().UTC().Format(time.RFC3339) }

// account answers GET /v2/account: the emulated account, in a team.
func (e *Emulator) account(w *writer, _ *http.Request, _ []string) {
	w.json(http.StatusOK, map[string]any{"account": map[string]any{
		"droplet_limit": 25, "floating_ip_limit": 3, "reserved_ip_limit": 3, "volume_limit": 100,
		"email": "sandbox@regionctl.invalid", "name": "regionctl sandbox", "uuid": e.cloud.Account,
		"email_verified": true, "status": "active", "status_message": "",
		"team": map[string]string{"uuid": e.cloud.Account, "name": "regionctl sandbox"},
	}})
}
