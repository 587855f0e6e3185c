package testclock

import (
	"context"
	"time"
)

// Requests counts the requests an emulated cloud received per operation
// ("eks:DescribeCluster"): sandbox.Sandbox.Requests.
type Requests func() map[string]int

// Interrupt runs call with a context that is cancelled once the caller has
// polled pollOp twice since it began (it is waiting for the cloud), then
// advances c by an hour, so the cloud finishes what it was doing without
// the caller watching. It returns call's error.
func (c *Clock) Interrupt(requests Requests, pollOp string, call func(context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := requests()[pollOp]
	go func() {
		When(func() bool { return requests()[pollOp]-polls >= 2 }, ctx.Done())
		cancel()
	}()
	err := call(ctx)
	c.Advance(time.Hour)
	return err
}

// AdvanceAfter runs call and advances c by an hour once call has sent
// startOp and then polled pollOp (the cloud fixed when the started
// operation ends before it answered, so the poll waits for the clock).
func (c *Clock) AdvanceAfter(requests Requests, startOp, pollOp string, call func()) {
	stop := make(chan struct{})
	defer close(stop)
	starts, polled := requests()[startOp], -1
	go c.AdvanceWhen(time.Hour, func() bool {
		r := requests()
		if polled < 0 && r[startOp] > starts {
			polled = r[pollOp]
		}
		return polled >= 0 && r[pollOp] > polled
	}, stop)
	call()
}
