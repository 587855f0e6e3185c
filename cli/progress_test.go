package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/plan"
)

// A plan that reads the cloud for longer than refreshEvery prints how far
// it got, on stderr; a quick one prints nothing.
func TestRefreshProgress(t *testing.T) {
	var out, errb strings.Builder
	p := newProgress(&out, &errb, false)
	clock := time.Unix(0, 0)
	p.now = func() time.Time { return clock }
	p.OnEvent(plan.Event{Kind: plan.EventRefreshStart, Region: "a", Total: 80})
	p.OnEvent(plan.Event{Kind: plan.EventRefreshStart, Region: "b", Total: 20})
	for i := 0; i < 30; i++ {
		p.OnEvent(plan.Event{Kind: plan.EventRefresh, Region: "a"})
	}
	if errb.Len() != 0 {
		t.Fatalf("progress printed before %s: %q", refreshEvery, errb.String())
	}
	clock = clock.Add(refreshEvery)
	p.OnEvent(plan.Event{Kind: plan.EventRefresh, Region: "b"})
	if got, want := errb.String(), "Refreshing: 31 of 100 resources read in 2 region(s)...\n"; got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	if out.Len() != 0 {
		t.Errorf("refresh progress went to stdout (the plan document): %q", out.String())
	}
}
