package kubernetes_test

import (
	"slices"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
)

// TestResourcesMatchTheSchemas checks the builders against the types'
// schemas: every input declared and of its type, and ForceNew exactly the
// inputs the schema marks "replace".
func TestResourcesMatchTheSchemas(t *testing.T) {
	h := &kubernetes.Handler{}
	r := kit.MustNew(kit.Options{Name: "test"}, h.Types()...)
	sc := kubernetes.StorageClassResource("r", refs, kubernetes.StorageClass{Name: "fast", Provisioner: "p", Parameters: map[string]string{"a": "b"}})
	svc := kubernetes.ServiceResource("r", refs, kubernetes.Service{
		Name: "web", AnnotationLists: map[string][]any{"x": {"a"}}, Ports: []kubernetes.Port{{Port: 80}}, LoadBalancerIP: "",
	})
	res := []kubernetesResource{{sc.ForceNew, kubernetes.StorageClassForceNew}, {svc.ForceNew, kubernetes.ServiceForceNew}}
	all := []providers.Resource{sc, svc}
	if err := r.Finish(all); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	for i, x := range res {
		if !slices.Equal(all[i].ForceNew, x.built) || !slices.Equal(x.built, x.declared) {
			t.Errorf("%s: ForceNew from the schema %v, built %v, declared %v", all[i].Type, all[i].ForceNew, x.built, x.declared)
		}
	}
}

type kubernetesResource struct{ built, declared []string }
