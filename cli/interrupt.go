package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/regionctl/regionctl/plan"
)

// interrupts handles SIGINT and SIGTERM:
//   - the first cancels the run: no new operation starts, the ones in
//     flight finish and are recorded in state;
//   - the second stops at once: the operations in flight are cancelled
//     (ApplyOptions.Abort) and named; their creates were recorded as
//     pending in state before they started, so the next run finds and
//     adopts what they made; locks are still released;
//   - a third exits on the spot.
//
// It is also a plan.Observer, to know which operations are in flight.
type interrupts struct {
	stderr io.Writer
	cancel context.CancelFunc
	sig    chan os.Signal
	quit   chan struct{}
	abort  chan struct{}

	mu       sync.Mutex
	count    int
	inFlight map[string]bool // "ADDRESS (action)"
}

func newInterrupts(stderr io.Writer, cancel context.CancelFunc) *interrupts {
	in := &interrupts{stderr: stderr, cancel: cancel, sig: make(chan os.Signal, 3),
		quit: make(chan struct{}), abort: make(chan struct{}), inFlight: map[string]bool{}}
	signal.Notify(in.sig, os.Interrupt, syscall.SIGTERM)
	go in.loop()
	return in
}

func (in *interrupts) stop() {
	signal.Stop(in.sig)
	close(in.quit)
}

// interrupted reports whether a signal arrived.
func (in *interrupts) interrupted() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.count > 0
}

// aborted is closed by the second interrupt.
func (in *interrupts) aborted() <-chan struct{} {
	if in == nil {
		return nil
	}
	return in.abort
}

func (in *interrupts) loop() {
	for {
		select {
		case <-in.quit:
			return
		case <-in.sig:
		}
		in.mu.Lock()
		in.count++
		n := in.count
		in.mu.Unlock()
		switch n {
		case 1:
			fmt.Fprintln(in.stderr, "\nInterrupt received: letting operations in flight finish and saving state; no new work starts. Interrupt again to stop at once.")
			in.cancel()
		case 2:
			fmt.Fprintln(in.stderr, "\nSecond interrupt: stopping now, without waiting for operations in flight.")
			if ops := in.running(); len(ops) > 0 {
				fmt.Fprintf(in.stderr, "Left in flight (recorded as pending in state; the next run finds and adopts what they made, or does them again):\n  %s\n", strings.Join(ops, "\n  "))
			} else {
				fmt.Fprintln(in.stderr, "No operation was in flight.")
			}
			close(in.abort)
		default:
			fmt.Fprintln(in.stderr, "\nThird interrupt: exiting immediately. State holds every operation recorded so far; locks may stay until their lease runs out.")
			os.Exit(ExitInterrupted)
		}
	}
}

// running lists the operations started and not finished, sorted.
func (in *interrupts) running() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]string, 0, len(in.inFlight))
	for op := range in.inFlight {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// OnEvent implements plan.Observer: it tracks the operations in flight.
func (in *interrupts) OnEvent(ev plan.Event) {
	if in == nil {
		return
	}
	key := fmt.Sprintf("%s (%s)", ev.Address, ev.Action)
	in.mu.Lock()
	defer in.mu.Unlock()
	switch ev.Kind {
	case plan.EventStart:
		in.inFlight[key] = true
	case plan.EventFinish, plan.EventFail:
		delete(in.inFlight, key)
	}
}
