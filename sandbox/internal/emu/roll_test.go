package emu

import (
	"fmt"
	"strings"
	"testing"
)

func nodes(prefix string, n int) []KubeNode {
	var out []KubeNode
	for i := range n {
		out = append(out, KubeNode{Name: fmt.Sprintf("%s%d", prefix, i)})
	}
	return out
}

// TestRollNodesHonoursSurgeAndUnavailable walks every step of rolling
// replacements and checks, between any two consecutive node sets (what the
// cluster holds while the later one's nodes join), that the pool never
// holds more than size+maxSurge nodes and never has more than
// maxUnavailable of its size missing among nodes that were already there.
func TestRollNodesHonoursSurgeAndUnavailable(t *testing.T) {
	for _, tc := range []struct{ n, surge, unavailable int }{
		{3, 1, 0}, {3, 0, 1}, {5, 2, 1}, {4, 1, 1}, {1, 1, 0}, {6, 3, 0}, {7, 0, 2},
	} {
		t.Run(fmt.Sprintf("n%d-s%d-u%d", tc.n, tc.surge, tc.unavailable), func(t *testing.T) {
			old, new := nodes("old", tc.n), nodes("new", tc.n)
			r := Roll{MaxSurge: tc.surge, MaxUnavailable: tc.unavailable}
			prev := RollNodes(old, new, r)
			if len(prev) != tc.n || !strings.HasPrefix(prev[0].Name, "old") {
				t.Fatalf("step 0: %v", prev)
			}
			for r.Step = 1; r.Step <= r.Steps(tc.n); r.Step++ {
				cur := RollNodes(old, new, r)
				if len(cur) > tc.n+tc.surge {
					t.Errorf("step %d: %d nodes, more than %d+%d", r.Step, len(cur), tc.n, tc.surge)
				}
				// Nodes of cur that were in prev are Ready; the others join.
				ready := 0
				had := map[string]bool{}
				for _, x := range prev {
					had[x.Name] = true
				}
				for _, x := range cur {
					if had[x.Name] {
						ready++
					}
				}
				if ready < tc.n-tc.unavailable {
					t.Errorf("step %d: %d Ready nodes while it applies, fewer than %d-%d", r.Step, ready, tc.n, tc.unavailable)
				}
				prev = cur
			}
			if !r.Done(tc.n) {
				t.Error("not done after every step")
			}
			for _, x := range prev {
				if !strings.HasPrefix(x.Name, "new") {
					t.Errorf("old node %s left at the end", x.Name)
				}
			}
			if len(prev) != tc.n {
				t.Errorf("%d nodes at the end, want %d", len(prev), tc.n)
			}
		})
	}
}
