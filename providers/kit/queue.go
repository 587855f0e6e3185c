package kit

import (
	"context"
	"sync"
)

// Queues runs operations on a parent one at a time, for
// clouds that refuse a second operation on a parent while one runs (GKE:
// one operation per cluster; AKS: one per managed cluster). A driver wraps
// each such call and its wait in Do, keyed by the parent, instead of
// retrying it against the cloud's refusal. The zero value is ready to use.
type Queues struct {
	mu sync.Mutex
	m  map[string]*queue
}

type queue struct {
	turn  chan struct{} // holds a token while an operation runs
	users int
}

// Do runs fn once no other operation of key runs, or returns ctx's error
// if ctx ends while it waits. fn must not call Do with the same key.
func (q *Queues) Do(ctx context.Context, key string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	if q.m == nil {
		q.m = map[string]*queue{}
	}
	qu := q.m[key]
	if qu == nil {
		qu = &queue{turn: make(chan struct{}, 1)}
		q.m[key] = qu
	}
	qu.users++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		if qu.users--; qu.users == 0 {
			delete(q.m, key)
		}
		q.mu.Unlock()
	}()
	select {
	case qu.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-qu.turn }()
	return fn()
}
