package kit_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// listedDisks is diskHandler with a batched read that counts its calls.
type listedDisks struct {
	diskHandler
	batches *atomic.Int32
}

func (h listedDisks) ReadMany(ctx context.Context, calls []*kit.Call[env, diskIn, diskOut]) ([]*kit.Live[diskIn, diskOut], error) {
	h.batches.Add(1)
	return kit.ReadEach(ctx, calls, h.Read)
}

func TestRouterReadMany(t *testing.T) {
	ctx := context.Background()
	cl := newCloud()
	cl.order = true // Read reverses tags: ReadMany must keep recorded order too
	var batches atomic.Int32
	connect := func(context.Context, kit.Target) (env, error) { return env{cloud: cl}, nil }
	r, err := kit.New(kit.Options{Name: "toy"},
		kit.Type[env, diskIn, diskOut]{Name: "toy_disk", Handler: diskHandler{}, Connect: connect},
		kit.Type[env, diskIn, diskOut]{Name: "toy_listed", Handler: listedDisks{batches: &batches}, Connect: connect},
	)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []providers.ReadRequest
	for i, typ := range []string{"toy_disk", "toy_listed", "toy_listed", "toy_disk", "toy_listed"} {
		resp, err := r.Create(ctx, providers.CreateRequest{Address: fmt.Sprintf("r/%s.d%d", typ, i), Type: typ, Inputs: diskInputs()})
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, providers.ReadRequest{Instance: providers.Instance{Address: fmt.Sprintf("r/%s.d%d", typ, i), Type: typ, ID: resp.ID, Inputs: diskInputs(), Outputs: resp.Outputs}})
	}
	delete(cl.disks, reqs[2].Instance.ID)                                                                                      // gone
	reqs = append(reqs, providers.ReadRequest{Instance: providers.Instance{Address: "r/toy_listed.none", Type: "toy_listed"}}) // no ID
	got, err := r.ReadMany(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(reqs) {
		t.Fatalf("%d responses for %d requests", len(got), len(reqs))
	}
	for i, req := range reqs {
		want, err := r.Read(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("ReadMany[%d] = %+v; Read = %+v", i, got[i], want)
		}
	}
	if got[2].Exists || got[5].Exists || !got[0].Exists || !got[4].Exists {
		t.Errorf("exists = %v %v %v %v; want the deleted and the ID-less one gone", got[0].Exists, got[2].Exists, got[4].Exists, got[5].Exists)
	}
	if tags := got[1].Inputs["tags"]; !reflect.DeepEqual(tags, []any{"b", "a"}) {
		t.Errorf("tags = %v; want the recorded order b, a", tags)
	}
	if _, ok := got[1].Outputs["secret"]; ok {
		t.Error("a sensitive output reached ReadMany's outputs")
	}
	if n := batches.Load(); n != 1 {
		t.Errorf("the listing handler's ReadMany ran %d times; want once for its three resources", n)
	}
	if _, err := r.ReadMany(ctx, []providers.ReadRequest{{Instance: providers.Instance{Address: "r/x.y", Type: "toy_nope", ID: "1"}}}); err == nil {
		t.Error("ReadMany of an unknown type: no error")
	}
}

func TestBatcherCoalescesConcurrentRequests(t *testing.T) {
	b := &kit.Batcher[[]string]{Linger: 50 * time.Millisecond}
	var fetches atomic.Int32
	fetch := func(_ context.Context, ids []string) ([]string, error) {
		fetches.Add(1)
		return ids, nil
	}
	var wg sync.WaitGroup
	results := make([][]string, 4)
	for i, ids := range [][]string{{"b", "a"}, {"c"}, {"a"}, nil} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Do(context.Background(), "k", ids, fetch)
			if err != nil {
				t.Error(err)
			}
			results[i] = got
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for four concurrent requests of one key; want 1", n)
	}
	for _, r := range results {
		if !reflect.DeepEqual(r, []string{"a", "b", "c"}) {
			t.Errorf("result %v; want every request's IDs, sorted, once: [a b c]", r)
		}
	}
	// A request after the batch was sent gets a fetch of its own.
	if _, err := b.Do(context.Background(), "k", []string{"d"}, fetch); err != nil || fetches.Load() != 2 {
		t.Errorf("a later request: %v, %d fetches; want a second fetch", err, fetches.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Do(ctx, "k2", nil, fetch); err == nil {
		t.Error("Do with a cancelled context returned no error")
	}
}

func TestQueuesRunOneOperationPerParent(t *testing.T) {
	var q kit.Queues
	var running, most atomic.Int32
	op := func() error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // hold the parent while others try
		running.Add(-1)
		return nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Do(context.Background(), "cluster-a", op); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d operations ran at once on one parent; want 1", most.Load())
	}
	// Different parents do not wait for each other.
	hold, held := make(chan struct{}), make(chan struct{})
	go func() { _ = q.Do(context.Background(), "cluster-a", func() error { close(held); <-hold; return nil }) }()
	<-held
	done := make(chan error, 1)
	go func() { done <- q.Do(context.Background(), "cluster-b", func() error { return nil }) }()
	if err := <-done; err != nil {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Do(ctx, "cluster-a", func() error { return nil }); err == nil {
		t.Error("Do on a busy parent with a cancelled context returned no error")
	}
	close(hold)
}
