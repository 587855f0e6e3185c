package kit_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// A queue type: its inputs and outputs as structs, the schema in the tags.
type queueIn struct {
	Name      string   `kit:"name,replace" why:"a queue is known by its name"`
	Retention int      `kit:"retention_hours"`
	Readers   []string `kit:"readers,set"`
}

type queueOut struct {
	ID  string `kit:"id"`
	URL string `kit:"url"`
}

// queues is its handler, over an in-memory cloud.
type queues struct {
	mu sync.Mutex
	m  map[string]queueIn
}

type queueCall = kit.Call[kit.None, queueIn, queueOut]

func (q *queues) Create(_ context.Context, c *queueCall) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.m[c.In.Name] = c.In
	return c.In.Name, nil
}

func (q *queues) Read(_ context.Context, c *queueCall) (*kit.Live[queueIn, queueOut], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	in, ok := q.m[c.ID]
	if !ok {
		return nil, nil // gone
	}
	return c.Found(in, queueOut{ID: c.ID, URL: "https://queues.example/" + c.ID}), nil
}

func (q *queues) Delete(_ context.Context, c *queueCall) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.m, c.ID)
	return nil
}

// Declare a type, then let the Router do a driver's Create, Finish and
// schema.
func Example() {
	r := kit.MustNew(kit.Options{Name: "acme"},
		kit.Type[kit.None, queueIn, queueOut]{Name: "acme_queue", Handler: &queues{m: map[string]queueIn{}}})

	res := []providers.Resource{{Address: "eu/acme_queue.jobs", Type: "acme_queue",
		Inputs: providers.Values{"name": "jobs", "retention_hours": 24, "readers": []any{"b", "a"}}}}
	if err := r.Finish(res); err != nil { // at the end of Expand
		panic(err)
	}
	fmt.Println("ForceNew:", res[0].ForceNew)

	created, err := r.Create(context.Background(), providers.CreateRequest{Address: res[0].Address, Type: "acme_queue", Inputs: res[0].Inputs})
	fmt.Println("created:", created.ID, created.Outputs["url"], err)

	bad := providers.Values{"name": "jobs", "retention_hours": "a day", "readers": []any{}}
	_, err = r.Create(context.Background(), providers.CreateRequest{Address: "eu/acme_queue.bad", Type: "acme_queue", Inputs: bad})
	fmt.Println(err)

	name, _ := r.Schemas()[0].Input("name")
	fmt.Printf("%s: requires replacement %v (%s)\n", name.Name, name.RequiresReplace, name.ReplaceReason)
	// Output:
	// ForceNew: [name]
	// created: jobs https://queues.example/jobs <nil>
	// acme: create eu/acme_queue.bad: input retention_hours: want an integer, got string "a day"
	// name: requires replacement true (a queue is known by its name)
}
