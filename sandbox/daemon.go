package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// EndpointsFile is the file a daemon sandbox writes in its directory.
const EndpointsFile = "endpoints.json"

// RequestsFile is where a daemon sandbox writes, when it stops, how many
// requests it served per operation ("eks:CreateCluster": 2), as
// Requests returns them: the calls a run made, e.g. to derive the
// permissions a driver needs.
const RequestsFile = "requests.json"

// Endpoints is what a running daemon sandbox publishes in EndpointsFile.
type Endpoints struct {
	PID       int               `json:"pid"`
	Endpoints map[string]string `json:"endpoints"`
	// Control is the daemon's own endpoint, for a driver plugin's
	// emulator (ServePlugin): health checks go there, since the plugin's
	// endpoints speak only its cloud's API.
	Control string    `json:"control,omitempty"`
	Started time.Time `json:"started"`
}

// Serve runs a sandbox until ctx is cancelled, publishing its pid and
// endpoints in <dir>/endpoints.json (removed again on the way out).
func Serve(ctx context.Context, opts Options) error {
	s, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	ep := Endpoints{PID: os.Getpid(), Endpoints: s.Endpoints(), Started: time.Now().UTC()}
	data, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		s.Close()
		return fmt.Errorf("sandbox: encode endpoints: %w", err)
	}
	path := filepath.Join(s.Dir(), EndpointsFile)
	if err := writeAtomic(path, append(data, '\n')); err != nil {
		s.Close()
		return fmt.Errorf("sandbox: write %s: %w", path, err)
	}
	<-ctx.Done()
	rmErr := os.Remove(path)
	if errors.Is(rmErr, os.ErrNotExist) {
		rmErr = nil
	}
	closeErr := s.Close()
	reqs, err := json.MarshalIndent(s.Requests(), "", "  ")
	if err == nil {
		err = writeAtomic(filepath.Join(s.Dir(), RequestsFile), append(reqs, '\n'))
	}
	return errors.Join(closeErr, rmErr, err)
}

// ReadEndpoints reads the endpoints a daemon sandbox published in dir.
func ReadEndpoints(dir string) (Endpoints, error) {
	path := filepath.Join(dir, EndpointsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return Endpoints{}, fmt.Errorf("sandbox: no running sandbox in %s: %w", dir, err)
	}
	var ep Endpoints
	if err := json.Unmarshal(data, &ep); err != nil {
		return Endpoints{}, fmt.Errorf("sandbox: parse %s: %w", path, err)
	}
	return ep, nil
}

// Running reports whether the sandbox that published dir's endpoints is
// alive and answering.
func Running(dir string) bool {
	ep, err := ReadEndpoints(dir)
	if err != nil || ep.PID <= 0 {
		return false
	}
	if err := unix.Kill(ep.PID, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	client := &http.Client{Timeout: 2 * time.Second}
	checked := ep.Endpoints
	if ep.Control != "" {
		checked = map[string]string{"control": ep.Control}
	}
	for _, url := range checked {
		if !strings.Contains(url, "://") {
			url = "http://" + url // a gRPC endpoint answers health checks over HTTP/1.1 too
		}
		resp, err := client.Get(url + HealthPath)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return len(ep.Endpoints) > 0
}
