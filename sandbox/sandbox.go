// Package sandbox runs offline emulators of the cloud APIs regionctl drives,
// on 127.0.0.1, speaking each service's real wire protocol so the official
// SDK clients run unchanged. A Sandbox persists its emulated cloud in a
// directory, so an apply and a later plan in another process see the same
// cloud; it can inject the clouds' own faults and counts every request.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/sandbox/aws"
	"github.com/regionctl/regionctl/sandbox/azure"
	"github.com/regionctl/regionctl/sandbox/gcp"
	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// Sandbox serves the emulators. It is safe for concurrent use.
type Sandbox struct {
	opts  Options
	dir   string
	lock  *os.File
	emus  []emu.Emulator
	srvs  []*http.Server
	addrs map[string]string

	mu       sync.Mutex // guards requests, throttled and rng
	requests map[string]int
	// throttled counts the requests refused by the rate budgets, by
	// operation (Options.Throttle).
	throttled map[string]int
	rng       *rand.Rand
	// budgets enforces the clouds' rate budgets; nil unless Throttle.
	budgets *budget.Budgets

	savers savers // write each emulator's state file (persist.go)

	kube *kube.Manager // nil with NoKubernetes

	awsCreds AWSCredentials // what the AWS emulator issued
	started  time.Time
}

// newEmulators builds one emulator per cloud.
func newEmulators(o Options) []emu.Emulator {
	env := emu.Env{Now: o.Clock, Latency: o.latency, Account: o.Account, Projects: o.GCPProjects, Region: o.Region, Kube: o.kube}
	return []emu.Emulator{aws.New(env), gcp.New(env), azure.New(env)}
}

func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Start loads the state in opts.Dir (creating it), locks the directory
// against other sandboxes and serves every emulator on 127.0.0.1.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	opts = opts.withDefaults()
	for i, f := range opts.Faults {
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("sandbox: faults[%d]: %w", i, err)
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: create %s: %w", opts.Dir, err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	var km *kube.Manager
	if !opts.NoKubernetes {
		// etcd and the API servers start lazily, with the first cluster.
		km = kube.New(kube.Options{Dir: filepath.Join(opts.Dir, "kube")})
		opts.kube = km
	}
	s := &Sandbox{kube: km,
		opts: opts, dir: opts.Dir, lock: lock, addrs: map[string]string{},
		started: time.Now(), requests: map[string]int{}, throttled: map[string]int{}, rng: rand.New(rand.NewPCG(opts.Seed, 0x5eed)),
		emus: newEmulators(opts),
	}
	if opts.Throttle {
		tables := opts.RateBudgets
		if tables == nil {
			tables = budget.Published
		}
		s.budgets = budget.New(tables, budget.Enforced)
	}
	for _, e := range s.emus {
		if err := loadState(opts.Dir, e); err != nil {
			s.Close()
			return nil, err
		}
	}
	if km != nil {
		// The clusters that exist got their API servers back (emulators
		// restart them on load); answer once they do, at most 50 s.
		wctx, cancel := context.WithTimeout(ctx, 50*time.Second)
		_ = km.WaitAll(wctx) // one still starting answers a little later
		cancel()
	}
	var lc net.ListenConfig
	for _, e := range s.emus {
		addr := opts.Addrs[endpointKey(e)]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sandbox: listen for %s on %s: %w", endpointKey(e), addr, err)
		}
		if t, ok := e.(emu.TLSServer); ok {
			cfg, err := t.TLSConfig()
			if err == nil {
				err = s.save(e) // keep the CA TLSConfig may have made
			}
			if err != nil {
				ln.Close()
				s.Close()
				return nil, fmt.Errorf("sandbox: serve %s over https: %w", endpointKey(e), err)
			}
			ln = newTLSOrPlain(ln, cfg)
		}
		srv := &http.Server{Handler: s.handler(e), ReadHeaderTimeout: 10 * time.Second}
		s.srvs = append(s.srvs, srv)
		s.addrs[endpointKey(e)] = "http://" + ln.Addr().String()
		go func() { _ = srv.Serve(ln) }() // returns http.ErrServerClosed on Close
		if g, ok := e.(emu.GRPCServer); ok {
			if err := s.serveGRPC(ctx, e, g); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if err := s.issueAWSCredentials(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Endpoints maps each endpoint to its address: a base URL for HTTP APIs
// ({"aws": "http://127.0.0.1:PORT", "gcp-compute": "http://127.0.0.1:PORT"})
// and a bare host:port for gRPC ones ({"gcp-container": "127.0.0.1:PORT"}).
func (s *Sandbox) Endpoints() map[string]string {
	out := make(map[string]string, len(s.addrs))
	for k, v := range s.addrs {
		out[k] = v
	}
	return out
}

// Dir is the state directory.
func (s *Sandbox) Dir() string { return s.dir }

// Requests counts the requests received per operation ("eks:CreateCluster"),
// including ones answered with an injected fault and SDK retries.
func (s *Sandbox) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// List returns every object the emulators hold, sorted by cloud, type and id.
func (s *Sandbox) List() []Object {
	return listAll(s.emus)
}

func listAll(emus []emu.Emulator) []Object {
	var out []Object
	for _, e := range emus {
		out = append(out, e.Objects()...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Cloud != b.Cloud {
			return a.Cloud < b.Cloud
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.ID < b.ID
	})
	return out
}

// ListDir reads the state a sandbox left in dir (running or not) and lists it.
func ListDir(dir string) ([]Object, error) {
	o := Options{Dir: dir}.withDefaults()
	emus := newEmulators(o)
	for _, e := range emus {
		if err := loadState(dir, e); err != nil {
			return nil, err
		}
	}
	return listAll(emus), nil
}

// Close stops serving, writes the state a last time and unlocks the directory.
func (s *Sandbox) Close() error {
	var errs []error
	for _, e := range s.emus {
		// Background work first (the AWS emulator's controllers talk to
		// the API servers stopped below).
		if c, ok := e.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: stop %s: %w", e.Cloud(), err))
			}
		}
	}
	for _, srv := range s.srvs {
		if err := srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sandbox: stop server: %w", err))
		}
	}
	s.srvs = nil
	for _, e := range s.emus {
		if c, ok := e.(emu.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: stop %s: %w", e.Cloud(), err))
			}
		}
	}
	if s.kube != nil {
		if err := s.kube.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sandbox: stop the Kubernetes API servers: %w", err))
		}
	}
	if s.lock != nil {
		for _, e := range s.emus {
			if err := s.save(e); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.lock.Close(); err != nil { // closing the descriptor drops the flock
			errs = append(errs, fmt.Errorf("sandbox: unlock %s: %w", s.dir, err))
		}
		s.lock = nil
	}
	return errors.Join(errs...)
}

// fault decides which fault, if any, call n of op gets. The sandbox's own
// documents ("sandbox:…" operations, such as the credentials an emulator
// hands its clients) are plumbing, not a cloud API: they never fault.
func (s *Sandbox) fault(op string, n int) FaultKind {
	if strings.HasPrefix(op, "sandbox:") {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.opts.Faults {
		if !f.matches(op) {
			continue
		}
		if f.Nth > 0 {
			count := max(f.Count, 1)
			if n >= f.Nth && n < f.Nth+count {
				return f.Kind
			}
			continue
		}
		if f.Rate > 0 && s.rng.Float64() < f.Rate {
			return f.Kind
		}
	}
	return ""
}

func (s *Sandbox) count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[op]++
	return s.requests[op]
}

// HealthPath answers 200 on every sandbox endpoint; no cloud API uses it.
const HealthPath = "/_sandbox/health"

func (s *Sandbox) handler(e emu.Emulator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"cloud\":%q,\"pid\":%d}\n", e.Cloud(), os.Getpid())
			return
		}
		if r.URL.Path == StatsPath && r.Method == http.MethodGet {
			s.serveStats(w)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		op := e.Operation(r, body)
		kind := s.fault(op, s.count(op))
		if kind == "" && s.overBudget(e, r, op) {
			kind = FaultThrottle
		}
		switch kind {
		case FaultThrottle, FaultServerError:
			e.WriteFault(w, r, op, kind)
			return
		case FaultDrop:
			hangUp(w)
			return
		}
		var buf bufferedResponse
		changed := e.Serve(&buf, r, emu.Call{Op: op, Body: body, Fail: kind == FaultFail})
		if changed {
			if err := s.save(e); err != nil {
				e.WriteFault(w, r, op, FaultServerError)
				return
			}
		}
		if kind == FaultDropAfter {
			hangUp(w)
			return
		}
		buf.writeTo(w)
	})
}

// hangUp closes the client's connection without a reply.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close() // nothing to do if closing fails: the client sees a drop either way
}

// bufferedResponse holds a reply until the state it reports is on disk.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(b.body.Len()))
	if b.code == 0 {
		b.code = http.StatusOK
	}
	w.WriteHeader(b.code)
	_, _ = w.Write(b.body.Bytes()) // the client went away; nothing to do
}

func stateFile(dir string, e emu.Emulator) string {
	return filepath.Join(dir, e.Cloud()+".json")
}

func loadState(dir string, e emu.Emulator) error {
	data, err := os.ReadFile(stateFile(dir, e))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: read %s state: %w", e.Cloud(), err)
	}
	if err := e.Load(data); err != nil {
		return fmt.Errorf("sandbox: load %s: %w", stateFile(dir, e), err)
	}
	return nil
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, so readers see the old or the new content, never a mix.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // best effort: not every filesystem syncs directories
		d.Close()
	}
	return nil
}

// lockDir takes an exclusive flock on dir/lock, recording our pid in it.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sandbox: open lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("sandbox: %s is in use by another sandbox (pid %s); stop it (regionctl sandbox down) or use another directory", dir, bytes.TrimSpace(holder))
		}
		return nil, fmt.Errorf("sandbox: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // informational only
	}
	return f, nil
}
