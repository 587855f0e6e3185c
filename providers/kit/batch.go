package kit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Batcher coalesces the lists many concurrent reads need into one cloud
// call per key (a location, a project, a subscription): the first request
// for a key opens a batch and sends it after Linger; every request for the
// same key that arrives before then joins it, adding the IDs it wants, and
// gets the same result. A request never joins a call already sent, so what
// it reads was fetched after it asked. The engine refreshes all regions
// of a fleet at once, so their ReadMany calls meet in the same batches:
// one DescribeSubnets per AWS region for every fleet region there.
type Batcher[V any] struct {
	// Linger is how long a batch waits for others to join.
	Linger time.Duration

	mu      sync.Mutex
	pending map[string]*batch[V]
}

type batch[V any] struct {
	ids  []string
	done chan struct{}
	val  V
	err  error
}

// Do returns fetch's result for key, fetched with the IDs of every request
// of the batch (sorted, without duplicates; nil when none asked for IDs).
// fetch runs once per batch, with the context of the request that opened
// it, detached from its cancellation (others wait on it).
func (b *Batcher[V]) Do(ctx context.Context, key string, ids []string, fetch func(ctx context.Context, ids []string) (V, error)) (V, error) {
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[string]*batch[V]{}
	}
	bt, joined := b.pending[key]
	if !joined {
		bt = &batch[V]{done: make(chan struct{})}
		b.pending[key] = bt
	}
	bt.ids = append(bt.ids, ids...)
	b.mu.Unlock()
	if !joined {
		go b.send(context.WithoutCancel(ctx), key, bt, fetch)
	}
	select {
	case <-bt.done:
		return bt.val, bt.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

func (b *Batcher[V]) send(ctx context.Context, key string, bt *batch[V], fetch func(context.Context, []string) (V, error)) {
	if b.Linger > 0 {
		t := time.NewTimer(b.Linger)
		<-t.C
	}
	b.mu.Lock()
	delete(b.pending, key)
	ids := bt.ids
	b.mu.Unlock()
	if ids != nil {
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	bt.val, bt.err = fetch(ctx, ids)
	close(bt.done)
}
