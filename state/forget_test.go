package state_test

import (
	"testing"

	"github.com/regionctl/regionctl/state"
)

// TestForget: state rm remembers the object it drops, so the next plan can
// adopt it by its ID; a deposed or pending object is not remembered, and
// recording an object at the address again ends the memory.
func TestForget(t *testing.T) {
	st := moveFixture()
	st.Put(state.Resource{Address: "east/aws_eks_addon.pending", Type: "aws_eks_addon", Status: state.StatusPending})
	if !st.Forget("east/aws_eks_node_group.old") {
		t.Fatal("Forget did not find the current node group")
	}
	if !st.Forget("east/aws_eks_node_group.old (deposed ng-1)") {
		t.Fatal("Forget did not find the deposed node group")
	}
	if !st.Forget("east/aws_eks_addon.pending") {
		t.Fatal("Forget did not find the pending add-on")
	}
	if st.Forget("east/aws_vpc.gone") {
		t.Error("Forget reported removing an address state does not hold")
	}
	want := []state.Forgotten{{Address: "east/aws_eks_node_group.old", Type: "aws_eks_node_group", ID: "ng-2"}}
	if len(st.Forgotten) != 1 || st.Forgotten[0] != want[0] {
		t.Fatalf("Forgotten = %+v, want %+v (no deposed, no pending object)", st.Forgotten, want)
	}
	if f, ok := st.ForgottenAt("east/aws_eks_node_group.old", "aws_eks_node_group"); !ok || f.ID != "ng-2" {
		t.Errorf("ForgottenAt = %+v, %v", f, ok)
	}
	if _, ok := st.ForgottenAt("east/aws_eks_node_group.old", "aws_eks_addon"); ok {
		t.Error("ForgottenAt matched another type")
	}

	b, err := state.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := state.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Forgotten) != 1 || back.Forgotten[0] != want[0] {
		t.Errorf("Forgotten does not survive encoding: %+v\n%s", back.Forgotten, b)
	}
	c := back.Clone()
	c.Forgotten[0].ID = "changed"
	if back.Forgotten[0].ID != "ng-2" {
		t.Error("Clone shares Forgotten with the original")
	}

	back.Put(state.Resource{Address: "east/aws_eks_node_group.old", Type: "aws_eks_node_group", ID: "ng-9", Status: state.StatusDeposed})
	if len(back.Forgotten) != 1 {
		t.Error("a deposed object ended the memory of the current one")
	}
	back.Put(state.Resource{Address: "east/aws_eks_node_group.old", Type: "aws_eks_node_group", Status: state.StatusPending})
	if len(back.Forgotten) != 0 {
		t.Errorf("a pending create at the address left %+v", back.Forgotten)
	}

	bad := moveFixture()
	bad.Forgotten = []state.Forgotten{{Address: "east/x.y", Type: "x"}}
	if err := bad.Validate(); err == nil {
		t.Error("a forgotten object without an ID passed Validate")
	}
}
