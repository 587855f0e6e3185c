package providers_test

import (
	"slices"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

func TestNotMapped(t *testing.T) {
	r := &spec.Region{}
	r.Spec.Access.Viewers = []string{"group:ops@example.com"}
	r.Spec.Cluster.WorkloadIdentity = true
	r.Spec.Cluster.NodePools = []spec.NodePool{
		{Name: "a", OS: spec.OS{Family: spec.OSLinux, Image: spec.ImageDefault}},
		{Name: "b", Disk: spec.Disk{SizeGiB: 50}, MaxPods: 30, OS: spec.OS{Family: spec.OSWindows, Image: spec.ImageDefault}},
	}
	tests := []struct {
		name string
		n    providers.NotMapped
		want []string
	}{
		{"everything mapped", providers.NotMapped{Driver: "x"}, nil},
		{"nothing mapped", providers.NotMapped{Driver: "x", Access: true, WorkloadIdentity: true, NodeOptions: true},
			[]string{"spec.access", "spec.cluster.workloadIdentity", "spec.cluster.nodePools[1].disk", "spec.cluster.nodePools[1].maxPods", "spec.cluster.nodePools[1].os"}},
		{"only access", providers.NotMapped{Driver: "x", Access: true}, []string{"spec.access"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range tc.n.Check(r) {
				got = append(got, d.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("refused %v, want %v", got, tc.want)
			}
		})
	}
}
