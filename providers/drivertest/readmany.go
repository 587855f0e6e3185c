package drivertest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/regionctl/regionctl/providers"
)

// ReadManyMatchesRead checks that the driver's batched refresh
// (providers.Lister) reports exactly what one Read per resource reports —
// existence, live inputs, outputs and CreateFailed — for every instance
// given, in order. Give it instances as state records them after the
// cloud changed under them: drifted (changed by hand), deleted, and IDs
// that name nothing, so the batched path's "not in the list" is proved to
// mean what Read's "not found" means. With calls (the cloud's request
// count, e.g. the sandbox's) it also checks that ReadMany made fewer API
// calls than the Reads, and logs both. It returns ReadMany's responses.
func ReadManyMatchesRead(t testing.TB, ctx context.Context, d providers.Driver, insts []providers.Instance, calls func() int) []providers.ReadResponse {
	t.Helper()
	l, ok := d.(providers.Lister)
	if !ok {
		t.Fatalf("driver %s does not implement providers.Lister", d.Capabilities().Name)
	}
	reqs := make([]providers.ReadRequest, len(insts))
	for i, in := range insts {
		reqs[i] = providers.ReadRequest{Instance: in}
	}
	count := func() int {
		if calls == nil {
			return 0
		}
		return calls()
	}
	start := count()
	many, err := l.ReadMany(ctx, reqs)
	batched := count() - start
	if err != nil {
		t.Fatalf("ReadMany: %v", err)
	}
	if len(many) != len(reqs) {
		t.Fatalf("ReadMany of %d resources returned %d responses; want one per request, in order", len(reqs), len(many))
	}
	one := make([]providers.ReadResponse, len(reqs))
	start = count()
	for i, req := range reqs {
		if one[i], err = d.Read(ctx, req); err != nil {
			t.Fatalf("Read %s (%s): %v", req.Instance.Address, req.Instance.ID, err)
		}
		if got, want := canonical(t, many[i]), canonical(t, one[i]); got != want {
			t.Errorf("%s (%s):\nReadMany reports %s\nRead reports     %s", req.Instance.Address, req.Instance.ID, got, want)
		}
	}
	if calls != nil {
		single := count() - start
		t.Logf("%d resources: ReadMany made %d API calls, one Read each %d", len(reqs), batched, single)
		if batched >= single {
			t.Errorf("ReadMany made %d API calls, one Read each %d: batching saved nothing", batched, single)
		}
	}
	return many
}

// Drift changes a resource in the cloud behind state's back: it updates
// it in place to the inputs change makes, while the recorded instance
// keeps the old ones (as a hand edit would leave them).
func Drift(t testing.TB, ctx context.Context, d providers.Driver, in providers.Instance, change func(providers.Values)) {
	t.Helper()
	want := providers.Values{}
	for k, v := range in.Inputs {
		want[k] = v
	}
	change(want)
	var changed []string
	for k, v := range want {
		if !sameValue(in.Inputs[k], v) {
			changed = append(changed, k)
		}
	}
	if _, err := d.Update(ctx, providers.UpdateRequest{Instance: in, Inputs: want, Changed: changed}); err != nil {
		t.Fatalf("drift %s: %v", in.Address, err)
	}
}

// Gone counts the responses that say the resource does not exist.
func Gone(resps []providers.ReadResponse) int {
	n := 0
	for _, r := range resps {
		if !r.Exists {
			n++
		}
	}
	return n
}

// canonical is a response as JSON with sorted keys (numbers as JSON has
// them), so values that differ only in Go types compare equal.
func canonical(t testing.TB, r providers.ReadResponse) string {
	t.Helper()
	v := map[string]any{"exists": r.Exists, "inputs": r.Inputs, "outputs": r.Outputs, "createFailed": r.CreateFailed}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %v: %v", v, err)
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode: %v", err)
	}
	b, _ = json.Marshal(back) // maps marshal with sorted keys
	return string(b)
}
