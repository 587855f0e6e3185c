// Package emu holds the contract between the sandbox machinery and each
// cloud's emulator: what an emulator serves, what it reports, and the
// environment (clock, latencies) it runs in.
package emu

import (
	"net/http"
	"time"
)

// Object is one emulated cloud object.
type Object struct {
	Cloud  string `json:"cloud"`
	Type   string `json:"type"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Region string `json:"region,omitempty"`
	State  string `json:"state,omitempty"`
}

// FaultKind is a fault the sandbox can inject.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers with the cloud's own throttling error.
	FaultThrottle FaultKind = "throttle"
	// FaultServerError answers with the cloud's own internal (500) error.
	FaultServerError FaultKind = "error"
	// FaultDrop closes the connection without answering, before the
	// operation runs.
	FaultDrop FaultKind = "drop"
	// FaultDropAfter runs the operation, persists it, then closes the
	// connection without answering (the reply is lost).
	FaultDropAfter FaultKind = "drop-after"
	// FaultFail lets the call succeed but makes the asynchronous operation
	// it starts end in the cloud's failed state.
	FaultFail FaultKind = "fail"
)

// Env is what the sandbox gives an emulator.
type Env struct {
	// Now is the emulated clock.
	Now func() time.Time
	// Latency is how long an asynchronous operation takes, by name
	// ("eks:CreateCluster").
	Latency func(op string) time.Duration
	// Account is the emulated account or project id.
	Account string
	// Region is the default region.
	Region string
}

// Call is one request as the emulator sees it.
type Call struct {
	Op   string
	Body []byte
	// Fail asks the asynchronous operation this call starts to fail.
	Fail bool
}

// Emulator is one cloud's API emulator.
type Emulator interface {
	// Cloud names the cloud ("aws").
	Cloud() string
	// Operation names the API operation a request calls ("eks:CreateCluster").
	Operation(r *http.Request, body []byte) string
	// Serve answers one call and reports whether it changed state.
	Serve(w http.ResponseWriter, r *http.Request, c Call) (changed bool)
	// WriteFault writes the cloud's own throttling or internal-error reply.
	WriteFault(w http.ResponseWriter, r *http.Request, op string, kind FaultKind)
	// Objects lists everything the emulator holds.
	Objects() []Object
	// Save serializes the state; Load restores it.
	Save() ([]byte, error)
	Load([]byte) error
}
