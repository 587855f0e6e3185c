package kit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Batcher coalesces the lists many concurrent reads need into one cloud
// call per key (a location, a project, a subscription): the first request
// for a key opens a batch; every request for the same key that arrives
// while it is open joins it, adding the IDs it wants, and gets the same
// result. The batch is sent once Linger passes without a new request, or
// MaxLinger after it opened. A request never joins a call already sent, so
// what it reads was fetched after it asked. The engine refreshes all
// regions of a fleet at once, so their ReadMany calls meet in the same
// batches: one DescribeSubnets per AWS region for every fleet region
// there, while a lone region's refresh waits only Linger.
type Batcher[V any] struct {
	// Linger is how long a batch waits for another request to join;
	// MaxLinger (default 10 × Linger) bounds how long it stays open.
	Linger, MaxLinger time.Duration

	mu      sync.Mutex
	pending map[string]*batch[V]
}

type batch[V any] struct {
	ids []string
	// joins counts the requests that joined, to see whether the batch is
	// still filling.
	joins int
	done  chan struct{}
	val   V
	err   error
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
	bt.joins++
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
		maxLinger := b.MaxLinger
		if maxLinger <= 0 {
			maxLinger = 10 * b.Linger
		}
		deadline := time.Now().Add(maxLinger)
		for seen := -1; ; {
			b.mu.Lock()
			joins := bt.joins
			b.mu.Unlock()
			if joins == seen || !time.Now().Before(deadline) {
				break // quiet for a whole Linger, or open long enough
			}
			seen = joins
			time.Sleep(min(b.Linger, time.Until(deadline)))
		}
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
