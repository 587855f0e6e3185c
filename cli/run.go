package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/state"
)

// backend returns the state backend of this run (see openBackend). When it
// cannot be opened, the backend returned fails every call with the reason.
func (a *app) backend() state.Backend {
	b, err := a.openBackend(context.Background())
	if err != nil {
		return brokenBackend{err: err}
	}
	return b
}

// engine returns a plan engine wired to the drivers, the backend and a
// progress printer.
func (a *app) engine(be state.Backend) *plan.Engine {
	return &plan.Engine{
		Drivers:     a.driver,
		State:       be,
		Parallelism: a.g.parallelism,
		Observer:    newProgress(a.cfg.Stdout, a.ci()),
		// The drivers built into this regionctl have its version.
		DefaultDriverVersion: Version,
	}
}

// locks holds the leases of the regions one command works on.
type locks struct {
	leases []*state.Lease
}

// lockRegions takes the lock of every named region, in sorted order so two
// runs over overlapping fleets cannot deadlock. On failure it releases what
// it took.
func (a *app) lockRegions(ctx context.Context, be state.Locker, names []string, operation string) (*locks, error) {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	l := &locks{}
	for _, name := range sorted {
		info := state.NewLockInfo(name, operation)
		lease, err := state.Acquire(ctx, be, name, info, state.LockOptions{
			Timeout: a.g.lockTimeout,
			OnWait: func(h state.LockInfo, wait time.Duration) {
				fmt.Fprintf(a.cfg.Stderr, "Waiting %s for the lock of region %s: %s\n", wait.Round(time.Millisecond), name, h)
			},
			OnBreak: func(h state.LockInfo, why string) {
				fmt.Fprintf(a.cfg.Stderr, "Broke the stale lock of region %s (%s): %s\n", name, why, h)
			},
		})
		if err != nil {
			l.release(a.cfg.Stderr)
			return nil, fmt.Errorf("lock region %s: %w", name, err)
		}
		l.leases = append(l.leases, lease)
	}
	return l, nil
}

// guard returns a context that is cancelled when any lease is lost (another
// run broke the lock): the run then stops starting work, as on Ctrl-C.
func (l *locks) guard(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	for _, lease := range l.leases {
		go func() {
			select {
			case <-lease.Lost():
				cancel(fmt.Errorf("lost the lock of region %s: %w", lease.Info().Region, lease.Err()))
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() { cancel(nil) }
}

// release unlocks every region; failures are printed (the lock would be
// left with a lease deadline, shown as stale later), not returned.
func (l *locks) release(stderr io.Writer) {
	if l == nil {
		return
	}
	for _, lease := range l.leases {
		// The run's context may be cancelled (Ctrl-C); unlocking must still happen.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := lease.Release(ctx); err != nil {
			fmt.Fprintf(stderr, "Warning: could not release lock %s: %v\n", lease.Info().ID, err)
		}
		cancel()
	}
}

// confirm asks the user to type "yes" before changing anything. It refuses,
// rather than guessing, when stdin is not a terminal or under CI.
func (a *app) confirm(question string) error {
	const how = "review the plan and pass --auto-approve, or save it with `plan --out FILE` and run `apply FILE`"
	if a.ci() {
		return errors.New("refusing to apply without confirmation: CI=true means no prompts; " + how)
	}
	if !a.cfg.IsTerminal(a.cfg.Stdin) {
		return errors.New("refusing to apply without confirmation: stdin is not a terminal; " + how)
	}
	fmt.Fprintf(a.cfg.Stdout, "\n%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question)
	line, err := bufio.NewReader(a.cfg.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read confirmation: %w", err)
	}
	if strings.TrimSpace(line) != "yes" {
		return errors.New("apply cancelled: nothing was changed")
	}
	return nil
}

// apply runs a plan and prints what happened. It returns an error when any
// operation failed or the run was interrupted.
func (a *app) apply(ctx context.Context, eng *plan.Engine, p *plan.Plan) error {
	res, err := eng.Apply(ctx, p, plan.ApplyOptions{Parallelism: a.g.parallelism})
	var stale *plan.StaleError
	if errors.As(err, &stale) {
		return err
	}
	var added, changed, destroyed int
	var failures []string
	if res != nil {
		for _, r := range res.Regions {
			added += r.Added
			changed += r.Changed
			destroyed += r.Destroyed
			for _, e := range r.Errors {
				failures = append(failures, e.Error())
			}
			skipped := 0
			for range r.Skipped {
				skipped++
			}
			if skipped > 0 {
				failures = append(failures, fmt.Sprintf("region %s: %d resource(s) not applied (see the skipped lines above)", r.Region, skipped))
			}
		}
	}
	verb := "Apply"
	if p.Destroy {
		verb = "Destroy"
	}
	if err == nil && len(failures) == 0 {
		fmt.Fprintf(a.cfg.Stdout, "\n%s complete! Resources: %d added, %d changed, %d destroyed.\n", verb, added, changed, destroyed)
		return nil
	}
	fmt.Fprintf(a.cfg.Stdout, "\n%s incomplete. Resources: %d added, %d changed, %d destroyed. State records everything done; run the command again to continue.\n",
		verb, added, changed, destroyed)
	for _, f := range failures {
		fmt.Fprintln(a.cfg.Stderr, "Error:", f)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%d problem(s) during %s", len(failures), strings.ToLower(verb))
}

// progress prints one line per apply event: which resource, what, how long.
// Under CI each line starts with a timestamp.
type progress struct {
	mu         sync.Mutex
	w          io.Writer
	timestamps bool
}

func newProgress(w io.Writer, timestamps bool) *progress {
	return &progress{w: w, timestamps: timestamps}
}

// OnEvent implements plan.Observer.
func (p *progress) OnEvent(ev plan.Event) {
	var line string
	verb, done := actionWords(ev.Action)
	switch ev.Kind {
	case plan.EventStart:
		line = fmt.Sprintf("%s: %s...", ev.Address, verb)
	case plan.EventTick:
		line = fmt.Sprintf("%s: Still %s... [%s elapsed]", ev.Address, strings.ToLower(verb), roundDuration(ev.Elapsed))
	case plan.EventFinish:
		line = fmt.Sprintf("%s: %s after %s", ev.Address, done, roundDuration(ev.Elapsed))
	case plan.EventFail:
		line = fmt.Sprintf("%s: %s failed after %s: %v", ev.Address, verb, roundDuration(ev.Elapsed), ev.Err)
	case plan.EventSkip:
		line = fmt.Sprintf("%s: Skipped: %s", ev.Address, ev.Cause)
	default:
		return // refresh events are too many to print one by one
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timestamps {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func actionWords(a plan.Action) (doing, done string) {
	switch a {
	case plan.Create:
		return "Creating", "Creation complete"
	case plan.Update:
		return "Modifying", "Modifications complete"
	case plan.Delete:
		return "Destroying", "Destruction complete"
	default:
		return "Applying", "Complete"
	}
}

func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
