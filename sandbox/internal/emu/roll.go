package emu

// Roll is a node pool's rolling replacement in progress, as an emulator
// keeps it with the pool's update: the new nodes replace the old ones in
// batches, at most MaxSurge nodes beyond the pool's size and at most
// MaxUnavailable of its nodes missing at any time, each batch's new nodes
// Ready (KubeState.NodesReady) before its old nodes go. Step counts the
// node sets applied so far (RollNodes).
type Roll struct {
	MaxSurge       int `json:"maxSurge"`
	MaxUnavailable int `json:"maxUnavailable"`
	Step           int `json:"step"`
}

// Steps is how many node sets replacing n nodes goes through: two per
// batch (the batch's surge nodes join and its unavailable ones leave; then
// its other old nodes leave and the rest of its new ones join).
func (r Roll) Steps(n int) int {
	b := max(r.MaxSurge+r.MaxUnavailable, 1)
	return 2 * ((n + b - 1) / b)
}

// Done reports whether every step of replacing n nodes was applied.
func (r Roll) Done(n int) bool { return r.Step >= r.Steps(n) }

// RollNodes is a pool's node set after r.Step steps of replacing old by
// new (new[i] takes old[i]'s place; a longer list's tail joins or leaves
// with the last batch).
func RollNodes(old, new []KubeNode, r Roll) []KubeNode {
	n := max(len(old), len(new))
	surge, unavailable := r.MaxSurge, r.MaxUnavailable
	if surge+unavailable < 1 {
		surge = 1
	}
	b := surge + unavailable
	batch, phase := r.Step/2, r.Step%2
	done := min(batch*b, n) // replaced before this batch
	k := min(b, n-done)
	s := min(surge, k)
	u := k - s
	var out []KubeNode
	take := func(l []KubeNode, from, to int) {
		for i := max(from, 0); i < min(to, len(l)); i++ {
			out = append(out, l[i])
		}
	}
	switch {
	case r.Step >= r.Steps(n):
		take(new, 0, len(new))
	case phase == 0 && r.Step == 0:
		take(old, 0, len(old))
	case phase == 1: // the batch's surge nodes joined, its unavailable ones left
		take(new, 0, done+s)
		take(old, done+u, n)
	default: // the previous batch completed
		take(new, 0, done)
		take(old, done, n)
	}
	return out
}
