// Package failedcreate is a test helper for the cloud drivers: it checks
// that an object whose creation the cloud reports failed — a cluster or
// node pool the sandbox fails (sandbox.FaultFail) while the create that
// made it was interrupted — is read with providers.ReadResponse.CreateFailed,
// by a plain Read (a refresh) and by a settled one (an adoption), and that
// the create replacing it succeeds.
package failedcreate

import (
	"context"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/testclock"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/sandbox"
)

// SandboxOptions are the sandbox's options for a Case: its clock, every
// operation instant but createOp (a minute of the clock), and createOp's
// first call failed by the cloud.
func SandboxOptions(clk *testclock.Clock, createOp string) sandbox.Options {
	return sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{"*": 0, createOp: time.Minute},
		Faults: []sandbox.Fault{{Op: createOp, Kind: sandbox.FaultFail, Nth: 1}}}
}

// Case is one driver's object type under test.
type Case struct {
	Driver providers.Driver
	// Clock is the sandbox's clock; Requests counts its requests.
	Clock    *testclock.Clock
	Requests testclock.Requests
	// CreateOp starts the create the sandbox fails; PollOp is what the
	// driver polls while it waits for it.
	CreateOp, PollOp string
	// Status is the output that shows the cloud's status of the object.
	Status string
	// ID returns the failed object's ID (its name, or what a Find says).
	ID func(req providers.CreateRequest) string
	// Type is the resource type whose first create is failed.
	Type string
	// Failed, if set, runs on the failed object once Interrupt checked
	// it, before the replacement is created.
	Failed func(providers.Instance)

	checked bool
}

// Creates is the create function of a test's apply loop: the first create
// of c.Type is interrupted and checked (Interrupt), then replaced (Create);
// every other create is the driver's.
func (c *Case) Creates(t *testing.T) func(providers.CreateRequest) (providers.CreateResponse, error) {
	return func(req providers.CreateRequest) (providers.CreateResponse, error) {
		if req.Type != c.Type || c.checked {
			return c.Driver.Create(context.Background(), req)
		}
		c.checked = true
		inst := c.Interrupt(t, req)
		if c.Failed != nil {
			c.Failed(inst)
		}
		return c.Create(req)
	}
}

// Checked fails t unless a create of c.Type was checked.
func (c *Case) Checked(t *testing.T) {
	t.Helper()
	if !c.checked {
		t.Fatalf("no %s was created", c.Type)
	}
}

// Interrupt runs req's create, interrupted while the cloud makes the
// object, lets the cloud fail it, and checks that both a plain and a
// settled Read report it with CreateFailed. It returns the failed object.
func (c Case) Interrupt(t *testing.T, req providers.CreateRequest) providers.Instance {
	t.Helper()
	if err := c.Clock.Interrupt(c.Requests, c.PollOp, func(ctx context.Context) error {
		_, err := c.Driver.Create(ctx, req)
		return err
	}); err == nil {
		t.Fatalf("the interrupted Create %s returned no error", req.Address)
	}
	inst := providers.Instance{Address: req.Address, Type: req.Type, ID: c.ID(req), Inputs: req.Inputs}
	for _, settle := range []bool{false, true} {
		got, err := c.Driver.Read(context.Background(), providers.ReadRequest{Instance: inst, Settle: settle})
		if err != nil || !got.Exists || !got.CreateFailed {
			t.Errorf("Read (settle %v) of %s, whose creation the cloud failed = exists %v, %s %v, create failed %v, %v; want it reported with CreateFailed",
				settle, inst.Address, got.Exists, c.Status, got.Outputs[c.Status], got.CreateFailed, err)
		}
	}
	return inst
}

// Create runs req's create again — the replacement — and lets the
// sandbox's clock move once the cloud has started it.
func (c Case) Create(req providers.CreateRequest) (resp providers.CreateResponse, err error) {
	c.Clock.AdvanceAfter(c.Requests, c.CreateOp, c.PollOp, func() { resp, err = c.Driver.Create(context.Background(), req) })
	return resp, err
}
