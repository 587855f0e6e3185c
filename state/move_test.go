package state_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/state"
)

func moveFixture() *state.State {
	st := state.New("east", "aws", "l1")
	st.Put(state.Resource{Address: "east/aws_vpc.main", Type: "aws_vpc", ID: "vpc-1", Status: state.StatusCreated})
	st.Put(state.Resource{Address: "east/aws_eks_node_group.old", Type: "aws_eks_node_group", ID: "ng-2", Status: state.StatusCreated, Dependencies: []string{"east/aws_vpc.main"}})
	st.Put(state.Resource{Address: "east/aws_eks_node_group.old", Type: "aws_eks_node_group", ID: "ng-1", Status: state.StatusDeposed})
	st.Put(state.Resource{Address: "east/aws_eks_addon.csi", Type: "aws_eks_addon", ID: "csi", Status: state.StatusCreated, Dependencies: []string{"east/aws_eks_node_group.old", "east/aws_vpc.main"}})
	return st
}

func TestMove(t *testing.T) {
	st := moveFixture()
	moved, err := st.Move("east/aws_eks_node_group.old", "east/aws_eks_node_group.new")
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 2 {
		t.Errorf("moved %d objects, want the current one and the deposed one", len(moved))
	}
	if r, ok := st.Find("east/aws_eks_node_group.new"); !ok || r.ID != "ng-2" {
		t.Errorf("the current object is not at the new address: %+v", r)
	}
	if _, ok := st.Find("east/aws_eks_node_group.old"); ok {
		t.Errorf("the old address is still in state")
	}
	var deposed int
	for _, r := range st.Resources {
		if r.Status == state.StatusDeposed && r.Address == "east/aws_eks_node_group.new" {
			deposed++
		}
	}
	if deposed != 1 {
		t.Errorf("the deposed object did not move with the current one: %+v", st.Resources)
	}
	addon, _ := st.Find("east/aws_eks_addon.csi")
	if want := []string{"east/aws_eks_node_group.new", "east/aws_vpc.main"}; !slices.Equal(addon.Dependencies, want) {
		t.Errorf("dependents point at %v, want %v", addon.Dependencies, want)
	}
	if err := st.Validate(); err != nil {
		t.Errorf("state after the move is invalid: %v", err)
	}
}

func TestMoveRefuses(t *testing.T) {
	tests := []struct{ name, from, to, wantErr string }{
		{"nothing at the source", "east/aws_vpc.gone", "east/aws_vpc.other", "no resource east/aws_vpc.gone"},
		{"the destination is taken", "east/aws_eks_node_group.old", "east/aws_vpc.main", "east/aws_vpc.main is already in state (ID vpc-1)"},
		{"the same address", "east/aws_vpc.main", "east/aws_vpc.main", "the same address"},
	}
	for _, tt := range tests {
		st := moveFixture()
		before := st.Clone()
		_, err := st.Move(tt.from, tt.to)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
		if !slices.EqualFunc(st.Resources, before.Resources, func(a, b state.Resource) bool { return a.Key() == b.Key() && a.ID == b.ID }) {
			t.Errorf("%s: a refused move changed state", tt.name)
		}
	}
}
