package aws

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestGP2DefaultByVersion: EKS's gp2 StorageClass is marked default only in
// clusters created before Kubernetes 1.30 (EKS 1.30 release notes). The
// emulator serves 1.30 and later, so the real API server tests see only the
// second case; this checks the rule itself.
func TestGP2DefaultByVersion(t *testing.T) {
	for version, wantDefault := range map[string]bool{"1.28": true, "1.29": true, "1.30": false, "1.34": false} {
		cs := fake.NewClientset()
		if err := eksBootstrap(version)(context.Background(), cs); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		gp2, err := cs.StorageV1().StorageClasses().Get(context.Background(), "gp2", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		if got := gp2.Annotations["storageclass.kubernetes.io/is-default-class"] == "true"; got != wantDefault {
			t.Errorf("cluster created at %s: gp2 default = %v, want %v", version, got, wantDefault)
		}
	}
}
