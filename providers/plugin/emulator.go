package plugin

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
)

// RunningEmulator is a plugin's cloud emulator, served by the plugin's
// process on the host's behalf (the sandbox daemon's).
type RunningEmulator struct {
	proc      *process
	endpoints map[string]string
	exited    chan struct{}
}

// StartEmulator starts the plugin and asks it to serve its cloud's
// emulator, keeping the emulated cloud in dir (created if needed). It fails
// for a plugin without an emulator.
func (p Plugin) StartEmulator(ctx context.Context, dir string) (*RunningEmulator, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s emulator: %w", p.Name, err)
	}
	proc, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	if !proc.info.Emulator {
		proc.kill()
		return nil, fmt.Errorf("driver %s (%s) has no emulator", p.Name, p.Path)
	}
	resp, err := proc.emulator.Start(ctx, &pb.StartEmulatorRequest{Dir: dir})
	if err == nil {
		err = decodeError(resp.Error)
	}
	if err != nil {
		proc.kill()
		return nil, fmt.Errorf("%s emulator: %w", p.Name, err)
	}
	e := &RunningEmulator{proc: proc, endpoints: resp.Endpoints, exited: make(chan struct{})}
	go e.watch()
	return e, nil
}

// watch closes exited when the plugin process is gone: a pidfd becomes
// readable when its process exits (go-plugin offers no exit channel).
func (e *RunningEmulator) watch() {
	defer close(e.exited)
	rc := e.proc.client.ReattachConfig()
	if rc == nil {
		return
	}
	fd, err := unix.PidfdOpen(rc.Pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != unix.EINTR {
			return
		}
	}
}

// Info is what the plugin said about itself.
func (e *RunningEmulator) Info() Info { return e.proc.info }

// Endpoints are the emulator's endpoints, for providers.Options.SandboxEndpoints.
func (e *RunningEmulator) Endpoints() map[string]string { return e.endpoints }

// Exited is closed when the plugin process has gone.
func (e *RunningEmulator) Exited() <-chan struct{} { return e.exited }

// Ping checks that the plugin answers.
func (e *RunningEmulator) Ping(ctx context.Context) error {
	_, err := e.proc.emulator.List(ctx, &pb.ListEmulatorRequest{})
	return err
}

// Objects lists what the emulated cloud holds.
func (e *RunningEmulator) Objects(ctx context.Context) ([]EmulatedObject, error) {
	resp, err := e.proc.emulator.List(ctx, &pb.ListEmulatorRequest{})
	if err == nil {
		err = decodeError(resp.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("%s emulator: list: %w", e.proc.info.Name, err)
	}
	out := make([]EmulatedObject, len(resp.Objects))
	for i, o := range resp.Objects {
		out[i] = EmulatedObject{Type: o.Type, ID: o.Id, Name: o.Name, Region: o.Region, State: o.State}
	}
	return out, nil
}

// Close asks the plugin to persist and stop its emulator, and ends it.
func (e *RunningEmulator) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.proc.emulator.Stop(ctx, &pb.StopEmulatorRequest{})
	if err == nil {
		err = decodeError(resp.Error)
	}
	e.proc.kill()
	if err != nil {
		return fmt.Errorf("%s emulator: stop: %w", e.proc.info.Name, err)
	}
	return nil
}
