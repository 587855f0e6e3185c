package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// PluginsDir is the folder, inside a sandbox directory, where driver
// plugins' emulators keep their clouds: one folder per plugin.
const PluginsDir = "plugins"

// PluginDir is where the emulator of driver plugin name keeps its cloud and
// publishes its endpoints: DIR/plugins/NAME.
func PluginDir(dir, name string) string { return filepath.Join(dir, PluginsDir, name) }

// ObjectsPath is where a plugin emulator's daemon lists the emulated
// cloud's objects (JSON), on its control endpoint.
const ObjectsPath = "/_sandbox/objects"

// PluginEmulator is a driver plugin's running emulator, as ServePlugin
// keeps it: the plugin process serves the cloud's API itself; the daemon
// only publishes where, answers health checks and lists objects.
type PluginEmulator interface {
	Endpoints() map[string]string
	Objects(ctx context.Context) ([]Object, error)
	// Ping checks the plugin still answers.
	Ping(ctx context.Context) error
	// Exited is closed when the plugin process is gone.
	Exited() <-chan struct{}
	Close() error
}

// ServePlugin runs the daemon of a plugin's emulator until ctx is
// cancelled or the plugin exits: it locks dir (one daemon per plugin and
// sandbox), starts the emulator (start, which keeps its cloud in dir),
// serves a control endpoint on 127.0.0.1 (HealthPath, which pings the
// plugin, and ObjectsPath), and publishes its pid, the emulator's endpoints
// and the control endpoint in dir/endpoints.json, removed again on the way
// out. It closes the emulator before it returns.
func ServePlugin(ctx context.Context, dir string, start func(ctx context.Context, dir string) (PluginEmulator, error)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	em, err := start(ctx, dir)
	if err != nil {
		return err
	}
	defer em.Close()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sandbox: listen for the plugin's control endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, r *http.Request) {
		if err := em.Ping(r.Context()); err != nil {
			http.Error(w, "the plugin does not answer: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"pid\":%d}\n", os.Getpid())
	})
	mux.HandleFunc(ObjectsPath, func(w http.ResponseWriter, r *http.Request) {
		objs, err := em.Objects(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(objs) // the client went away: nothing to do
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns http.ErrServerClosed on Close
	defer srv.Close()

	ep := Endpoints{PID: os.Getpid(), Endpoints: em.Endpoints(), Control: "http://" + ln.Addr().String(), Started: time.Now().UTC()}
	data, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return fmt.Errorf("sandbox: encode endpoints: %w", err)
	}
	path := filepath.Join(dir, EndpointsFile)
	if err := writeAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("sandbox: write %s: %w", path, err)
	}
	defer os.Remove(path)
	select {
	case <-ctx.Done():
		return nil
	case <-em.Exited():
		return errors.New("sandbox: the plugin serving the emulator exited")
	}
}

// PluginDaemons lists the plugin names that have an emulator folder in the
// sandbox directory dir, sorted.
func PluginDaemons(dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, PluginsDir))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// ListPlugin asks the running daemon of plugin name's emulator for the
// objects of its cloud, each with Cloud set to name. It fails when that
// daemon is not running.
func ListPlugin(ctx context.Context, dir, name string) ([]Object, error) {
	ep, err := ReadEndpoints(PluginDir(dir, name))
	if err != nil || ep.Control == "" {
		return nil, fmt.Errorf("sandbox: the emulator of driver %s is not running", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.Control+ObjectsPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox: the emulator of driver %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sandbox: the emulator of driver %s answered %s", name, resp.Status)
	}
	var objs []Object
	if err := json.NewDecoder(resp.Body).Decode(&objs); err != nil {
		return nil, fmt.Errorf("sandbox: the emulator of driver %s: %w", name, err)
	}
	for i := range objs {
		objs[i].Cloud = name
	}
	return objs, nil
}
