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
		return brokenBackend{err: &backendError{err: err}}
	}
	return b
}

// backendError is a state backend that could not be opened.
type backendError struct{ err error }

func (e *backendError) Error() string { return e.err.Error() }
func (e *backendError) Unwrap() error { return e.err }

// engine returns a plan engine wired to the drivers, the backend, the run's
// target and the progress printers. Rate budgets that name a bucket no
// driver has are refused first, as a bad flag (or file) rather than as
// each driver fails to build.
func (a *app) engine(ctx context.Context, be state.Backend) (*plan.Engine, error) {
	if err := a.checkRateBudgets(ctx); err != nil {
		return nil, err
	}
	eng := &plan.Engine{
		Drivers:     a.driver,
		State:       be,
		Parallelism: a.g.parallelism,
		Observer:    a.observer(),
		// The drivers built into this regionctl have its version.
		DefaultDriverVersion: Version,
	}
	if a.useSandbox() {
		t, err := a.sandboxTarget()
		if err != nil {
			return nil, err
		}
		eng.Sandbox, eng.SandboxDir = t.Sandbox, t.SandboxDir
	}
	return eng, nil
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
		info.Version = versionString()
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

// apply runs a plan and prints what happened: every failure once, the
// engine's notes, the totals and the elapsed time. It returns an error when
// the plan was refused, any operation failed or the run was interrupted.
func (a *app) apply(ctx context.Context, eng *plan.Engine, p *plan.Plan) error {
	res, err := eng.Apply(ctx, p, plan.ApplyOptions{Parallelism: a.g.parallelism, Abort: a.intr.aborted()})
	if res == nil {
		return err // refused before anything started (stale, target, state)
	}
	var added, changed, destroyed int
	var failures []string
	for _, w := range res.Waves {
		if w.Err != nil {
			failures = append(failures, w.Err.Error())
		}
	}
	for _, r := range res.Regions {
		added += r.Added
		changed += r.Changed
		destroyed += r.Destroyed
		for _, n := range r.Notes {
			fmt.Fprintln(a.cfg.Stderr, "Note:", n)
		}
		for _, e := range r.Errors {
			failures = append(failures, e.Error())
		}
		if len(r.Skipped) > 0 {
			failures = append(failures, fmt.Sprintf("region %s: %d operation(s) not started (see the skipped lines above)", r.Region, len(r.Skipped)))
		}
	}
	if err != nil && len(failures) == 0 {
		failures = append(failures, err.Error()) // e.g. state could not be written
	}
	verb := "Apply"
	if p.Destroy {
		verb = "Destroy"
	}
	elapsed := roundDuration(time.Since(a.started))
	if err == nil && len(failures) == 0 {
		fmt.Fprintf(a.cfg.Stdout, "\n%s complete! Resources: %d added, %d changed, %d destroyed. (%s)\n", verb, added, changed, destroyed, elapsed)
		a.events.summary(verb, added, changed, destroyed, elapsed, nil)
		return nil
	}
	fmt.Fprintf(a.cfg.Stdout, "\n%s incomplete. Resources: %d added, %d changed, %d destroyed. (%s)\n", verb, added, changed, destroyed, elapsed)
	for _, f := range failures {
		fmt.Fprintln(a.cfg.Stderr, "Error:", f)
	}
	a.events.summary(verb, added, changed, destroyed, elapsed, failures)
	return &applyFailedError{verb: strings.ToLower(verb), failures: len(failures), cause: err}
}

// done prints how long the command took, on stderr (stdout may be a
// document: a plan in JSON or markdown).
func (a *app) done(what string) {
	fmt.Fprintf(a.cfg.Stderr, "%s took %s.\n", what, roundDuration(time.Since(a.started)))
}

// progress prints one line per apply event: which resource, what, how long;
// and, on stderr, refresh progress of large plans. Under CI each line
// starts with a timestamp. A failure's error is not part of its line: it is
// printed once, in the summary at the end.
type progress struct {
	mu         sync.Mutex
	w, stderr  io.Writer
	timestamps bool
	// refresh progress, per region: resources read so far and in all.
	refreshed map[string][2]int
	lastPrint time.Time
	now       func() time.Time
}

func newProgress(w, stderr io.Writer, timestamps bool) *progress {
	return &progress{w: w, stderr: stderr, timestamps: timestamps, refreshed: map[string][2]int{}, now: time.Now}
}

// refreshEvery is how often refresh progress is printed while a plan reads
// the cloud; plans that finish sooner print nothing.
const refreshEvery = 5 * time.Second

// OnEvent implements plan.Observer.
func (p *progress) OnEvent(ev plan.Event) {
	var line string
	w := p.w
	verb, done := actionWords(ev.Action)
	switch ev.Kind {
	case plan.EventStart:
		line = fmt.Sprintf("%s: %s...", ev.Address, verb)
	case plan.EventTick:
		line = fmt.Sprintf("%s: Still %s... [%s elapsed]", ev.Address, strings.ToLower(verb), roundDuration(ev.Elapsed))
	case plan.EventFinish:
		line = fmt.Sprintf("%s: %s after %s", ev.Address, done, roundDuration(ev.Elapsed))
	case plan.EventFail:
		line = fmt.Sprintf("%s: %s failed after %s (error below)", ev.Address, verb, roundDuration(ev.Elapsed))
	case plan.EventSkip:
		line = fmt.Sprintf("%s: Skipped: %s", ev.Address, ev.Cause)
	case plan.EventRefresh, plan.EventRefreshStart:
		line, w = p.refreshLine(ev), p.stderr
		if line == "" {
			return
		}
	default:
		if line = rolloutLine(ev); line == "" {
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timestamps {
		fmt.Fprintf(w, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
		return
	}
	fmt.Fprintln(w, line)
}

// refreshLine counts a refreshed resource and returns a progress line at
// most every refreshEvery: resources read so far, per region.
func (p *progress) refreshLine(ev plan.Event) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.refreshed[ev.Region]
	if ev.Kind == plan.EventRefreshStart {
		c[1] = ev.Total
		p.refreshed[ev.Region] = c
		return ""
	}
	c[0]++
	p.refreshed[ev.Region] = c
	now := p.now()
	if p.lastPrint.IsZero() {
		p.lastPrint = now // the first line comes refreshEvery after the first read
		return ""
	}
	if now.Sub(p.lastPrint) < refreshEvery {
		return ""
	}
	p.lastPrint = now
	done, total := 0, 0
	for _, c := range p.refreshed {
		done += c[0]
		total += c[1]
	}
	return fmt.Sprintf("Refreshing: %d of %d resources read in %d region(s)...", done, total, len(p.refreshed))
}

// rolloutLine is the progress line of a rollout event ("" for others).
func rolloutLine(ev plan.Event) string {
	switch ev.Kind {
	case plan.EventWaveStart:
		return fmt.Sprintf("Wave %s: applying %s...", ev.Wave, ev.Cause)
	case plan.EventGateStart:
		return fmt.Sprintf("Wave %s: checking the health of %d region(s), for up to %s...", ev.Wave, ev.Total, roundDuration(ev.Elapsed))
	case plan.EventGateCheck:
		if ev.Err != nil {
			return fmt.Sprintf("Wave %s: %s: not checked yet (%v) [%s elapsed]", ev.Wave, ev.Region, ev.Err, roundDuration(ev.Elapsed))
		}
		return fmt.Sprintf("Wave %s: %s: %s [%s elapsed]", ev.Wave, ev.Region, ev.Cause, roundDuration(ev.Elapsed))
	case plan.EventGatePass:
		return fmt.Sprintf("Wave %s: healthy after %s", ev.Wave, roundDuration(ev.Elapsed))
	case plan.EventGateFail:
		return fmt.Sprintf("Wave %s: unhealthy after %s; the rollout stops (error below)", ev.Wave, roundDuration(ev.Elapsed))
	case plan.EventPause:
		return fmt.Sprintf("Wave %s: done; pausing %s before the next wave...", ev.Wave, roundDuration(ev.Elapsed))
	}
	return ""
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

// observer is what the engine reports progress to: the human progress
// lines (unless --log-format json), the JSON event log, and the interrupt
// handler (which operations are in flight).
func (a *app) observer() plan.Observer {
	obs := observers{a.intr}
	if a.g.logFormat != logJSON {
		obs = append(obs, newProgress(a.cfg.Stdout, a.cfg.Stderr, a.ci()))
	}
	if a.events != nil {
		obs = append(obs, a.events)
	}
	return obs
}
