package kubernetes_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox/kube"
)

const token = "test-token-not-a-secret"

// cluster starts one real API server for the whole test (about 20 s) and
// returns the inputs that name it, plus an admin client for checks.
func cluster(t *testing.T) (providers.Values, k8s.Interface) {
	t.Helper()
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
	m := kube.New(kube.Options{Dir: t.TempDir()})
	t.Cleanup(func() { m.Close() })
	auth := func(tok string) (kube.User, error) {
		if tok != token {
			return kube.User{}, errors.New("bad token")
		}
		return kube.User{Name: "admin", Groups: []string{"system:masters"}}, nil
	}
	boot := func(ctx context.Context, cs k8s.Interface) error {
		// The cloud's own default class, as EKS makes gp2.
		_, err := cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta:  metav1.ObjectMeta{Name: "cloud-default", Annotations: map[string]string{kubernetes.DefaultClassAnnotation: "true"}},
			Provisioner: "example.com/disk",
		}, metav1.CreateOptions{FieldManager: "cloud"})
		return err
	}
	info, err := m.Ensure("k8s-test", kube.Spec{Auth: auth, Bootstrap: boot})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := m.Wait(ctx, "k8s-test"); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewClient(kubernetes.Conn{Endpoint: info.Endpoint, CAPEM: info.CAPEM, Token: func(context.Context) (string, error) { return token, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return providers.Values{
		kubernetes.InEndpoint: info.Endpoint,
		kubernetes.InCA:       base64.StdEncoding.EncodeToString(info.CAPEM),
		kubernetes.InCluster:  "k8s-test",
	}, cs
}

// resolve replaces the cluster references of a built resource with conn.
func resolve(r providers.Resource, conn providers.Values) providers.Values {
	in := providers.Values{}
	for k, v := range r.Inputs {
		in[k] = v
	}
	for k, v := range conn {
		in[k] = v
	}
	return in
}

func handler(force bool) *kubernetes.Handler {
	return &kubernetes.Handler{
		Token:          func(context.Context, kubernetes.ClusterInputs) (string, error) { return token, nil },
		ForceConflicts: force,
	}
}

var refs = kubernetes.ClusterRefs{Address: "r/x_cluster.main", Endpoint: "endpoint", CA: "ca", ID: "id"}

// TestInCluster runs every in-cluster behaviour against one real API
// server, as subtests in order.
func TestInCluster(t *testing.T) {
	conn, cs := cluster(t)
	ctx := context.Background()
	h := handler(false)

	fast := kubernetes.StorageClassResource("r", refs, kubernetes.StorageClass{
		Name: "fast", Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"type": "gp3", "iops": "6000"},
		ReclaimPolicy: "Delete", VolumeBindingMode: "WaitForFirstConsumer", AllowVolumeExpansion: true, Default: true,
	})
	fastIn := resolve(fast, conn)
	var fastID string

	t.Run("StorageClassCreateMarksOnlyOneDefault", func(t *testing.T) {
		resp, err := h.Create(ctx, providers.CreateRequest{Address: fast.Address, Type: fast.Type, Inputs: fastIn})
		if err != nil {
			t.Fatal(err)
		}
		fastID = resp.ID
		list, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var defaults []string
		for _, sc := range list.Items {
			if sc.Annotations[kubernetes.DefaultClassAnnotation] == "true" {
				defaults = append(defaults, sc.Name)
			}
		}
		if len(defaults) != 1 || defaults[0] != "fast" {
			t.Errorf("default classes = %v, want only fast (the cloud's default unmarked)", defaults)
		}
		sc, err := cs.StorageV1().StorageClasses().Get(ctx, "fast", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		managers := map[string]bool{}
		for _, mf := range sc.ManagedFields {
			managers[mf.Manager+"/"+string(mf.Operation)] = true
		}
		if !managers["regionctl/Apply"] {
			t.Errorf("managed fields %v: want server-side apply by regionctl", managers)
		}
	})

	t.Run("ReadMatchesInputs", func(t *testing.T) {
		r, err := h.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: fast.Address, Type: fast.Type, ID: fastID, Inputs: fastIn}})
		if err != nil || !r.Exists {
			t.Fatalf("Read = %+v, %v", r, err)
		}
		for k, want := range fastIn {
			if got := r.Inputs[k]; !equalJSON(got, want) {
				t.Errorf("live %s = %#v, want %#v", k, got, want)
			}
		}
	})

	t.Run("HandEditIsDrift", func(t *testing.T) {
		_, err := cs.StorageV1().StorageClasses().Patch(ctx, "fast", types.MergePatchType, []byte(`{"allowVolumeExpansion":false}`), metav1.PatchOptions{FieldManager: "kubectl-patch"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: fast.Address, Type: fast.Type, ID: fastID, Inputs: fastIn}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Inputs["allow_volume_expansion"] != false {
			t.Errorf("after a hand edit Read says allow_volume_expansion = %v, want false", r.Inputs["allow_volume_expansion"])
		}
	})

	t.Run("ConflictReportedNotForced", func(t *testing.T) {
		// kubectl-patch now owns allowVolumeExpansion: applying true again
		// conflicts.
		_, err := h.Update(ctx, providers.UpdateRequest{Instance: providers.Instance{Address: fast.Address, Type: fast.Type, ID: fastID, Inputs: fastIn}, Inputs: fastIn, Changed: []string{"allow_volume_expansion"}})
		if err == nil || !strings.Contains(err.Error(), "--force-conflicts") || !strings.Contains(err.Error(), "kubectl-patch") {
			t.Fatalf("Update over a field another manager owns = %v, want a conflict naming kubectl-patch and --force-conflicts", err)
		}
		if _, err := handler(true).Update(ctx, providers.UpdateRequest{Instance: providers.Instance{Address: fast.Address, Type: fast.Type, ID: fastID, Inputs: fastIn}, Inputs: fastIn}); err != nil {
			t.Fatalf("Update with ForceConflicts: %v", err)
		}
		sc, _ := cs.StorageV1().StorageClasses().Get(ctx, "fast", metav1.GetOptions{})
		if sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
			t.Errorf("forced apply left allowVolumeExpansion %v", sc.AllowVolumeExpansion)
		}
	})

	t.Run("ImmutableFieldsForceNew", func(t *testing.T) {
		// Kubernetes refuses to change parameters in place; the resource
		// must say so through ForceNew.
		changed := resolve(fast, conn)
		changed["parameters"] = map[string]any{"type": "gp3", "iops": "9000"}
		_, err := handler(true).Update(ctx, providers.UpdateRequest{Instance: providers.Instance{Address: fast.Address, Type: fast.Type, ID: fastID, Inputs: fastIn}, Inputs: changed})
		if err == nil {
			t.Fatal("the API server accepted a parameters change; ForceNew would be wrong")
		}
		for _, k := range []string{"parameters", "provisioner", "reclaim_policy", "volume_binding_mode"} {
			if !contains(fast.ForceNew, k) {
				t.Errorf("ForceNew %v lacks %s", fast.ForceNew, k)
			}
		}
	})

	web := kubernetes.ServiceResource("r", refs, kubernetes.Service{
		Name:            "web",
		Annotations:     map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
		AnnotationLists: map[string][]any{"service.beta.kubernetes.io/aws-load-balancer-eip-allocations": {"eipalloc-1", "eipalloc-2"}},
		Ports:           []kubernetes.Port{{Port: 443, TargetPort: 8443}, {Port: 53, Protocol: "UDP"}},
		Selector:        map[string]string{"app": "web"},
	})
	webIn := resolve(web, conn)
	var webID string

	t.Run("ServiceApplyAndRead", func(t *testing.T) {
		resp, err := h.Create(ctx, providers.CreateRequest{Address: web.Address, Type: web.Type, Inputs: webIn})
		if err != nil {
			t.Fatal(err)
		}
		webID = resp.ID
		svc, err := cs.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Spec.Type != "LoadBalancer" || svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"] != "eipalloc-1,eipalloc-2" || len(svc.Spec.Ports) != 2 {
			t.Errorf("service = %+v %+v", svc.Annotations, svc.Spec)
		}
		r, err := h.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: web.Address, Type: web.Type, ID: webID, Inputs: webIn}})
		if err != nil || !r.Exists {
			t.Fatalf("Read = %+v, %v", r, err)
		}
		for k, want := range webIn {
			if got := r.Inputs[k]; !equalJSON(got, want) {
				t.Errorf("live %s = %#v, want %#v", k, got, want)
			}
		}
		// Another controller's annotation is not drift.
		if _, err := cs.CoreV1().Services("default").Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"annotations":{"other/thing":"x"}},"spec":{"selector":{"app":"hacked"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		r, _ = h.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: web.Address, Type: web.Type, ID: webID, Inputs: webIn}})
		if !equalJSON(r.Inputs["annotations"], webIn["annotations"]) {
			t.Errorf("annotations = %v: another controller's annotation shows as drift", r.Inputs["annotations"])
		}
		if !equalJSON(r.Inputs["selector"], map[string]any{"app": "hacked"}) {
			t.Errorf("selector = %v, want the hand edit", r.Inputs["selector"])
		}
	})

	t.Run("ReadManyMatchesRead", func(t *testing.T) {
		// The batched refresh (one List per cluster and type) reports
		// what Read reports: web drifted (its selector, above), a class
		// deleted by hand, and names that name nothing.
		bulk := kubernetes.StorageClassResource("r", refs, kubernetes.StorageClass{Name: "bulk", Provisioner: "ebs.csi.aws.com", ReclaimPolicy: "Delete", VolumeBindingMode: "Immediate"})
		bulkIn := resolve(bulk, conn)
		resp, err := h.Create(ctx, providers.CreateRequest{Address: bulk.Address, Type: bulk.Type, Inputs: bulkIn})
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.StorageV1().StorageClasses().Delete(ctx, "bulk", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		insts := []providers.Instance{
			{Address: fast.Address, Type: fast.Type, ID: fastID, Inputs: fastIn},
			{Address: web.Address, Type: web.Type, ID: webID, Inputs: webIn},
			{Address: bulk.Address, Type: bulk.Type, ID: resp.ID, Inputs: bulkIn},
			{Address: fast.Address + "-bogus", Type: fast.Type, ID: "no-such-class", Inputs: fastIn},
			{Address: web.Address + "-bogus", Type: web.Type, ID: "default/no-such-service", Inputs: webIn},
		}
		d := routerDriver{kit.MustNew(kit.Options{Name: "in-cluster"}, h.Types()...)}
		many := drivertest.ReadManyMatchesRead(t, ctx, d, insts, nil)
		if n := drivertest.Gone(many); n != 3 {
			t.Errorf("%d objects read as gone; want 3 (bulk and the two bogus names)", n)
		}
	})

	t.Run("FindAndDelete", func(t *testing.T) {
		f, err := h.Find(ctx, providers.FindRequest{Address: web.Address, Type: web.Type, Inputs: webIn})
		if err != nil || !f.Found || f.ID != webID {
			t.Errorf("Find = %+v, %v", f, err)
		}
		for _, r := range []struct {
			addr, typ, id string
			in            providers.Values
		}{{web.Address, web.Type, webID, webIn}, {fast.Address, fast.Type, fastID, fastIn}} {
			inst := providers.Instance{Address: r.addr, Type: r.typ, ID: r.id, Inputs: r.in}
			for i := range 2 { // the second delete finds nothing and succeeds
				if _, err := h.Delete(ctx, providers.DeleteRequest{Instance: inst}); err != nil {
					t.Fatalf("Delete %s #%d: %v", r.addr, i+1, err)
				}
			}
			if rr, err := h.Read(ctx, providers.ReadRequest{Instance: inst}); err != nil || rr.Exists {
				t.Errorf("Read after delete = %+v, %v", rr, err)
			}
		}
	})

	t.Run("HealthGate", func(t *testing.T) {
		node := func(name, pool, kubelet string, ready, cordoned bool) {
			n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": pool}},
				Spec:       corev1.NodeSpec{Unschedulable: cordoned},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			status := corev1.ConditionTrue
			if !ready {
				status = corev1.ConditionFalse
			}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
			n.Status.NodeInfo.KubeletVersion = kubelet
			if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		node("good-1", "good", "v1.33.5-eks-ba74326", true, false)
		node("good-2", "good", "v1.33.5-eks-ba74326", true, false)
		node("bad-1", "bad", "v1.33.5", true, false)
		node("bad-stale", "bad", "v1.32.9", true, false)
		node("bad-cordoned", "bad", "v1.33.5", true, true)
		node("bad-notready", "bad", "v1.33.5", false, false)
		service := func(name string, typ corev1.ServiceType, ingress string) {
			svc, err := cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec:       corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{{Port: 80}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ingress != "" {
				svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ingress}}
				if _, err := cs.CoreV1().Services("default").UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		service("kept", corev1.ServiceTypeLoadBalancer, "203.0.113.10")
		service("moved", corev1.ServiceTypeLoadBalancer, "203.0.113.99")
		service("internal", corev1.ServiceTypeClusterIP, "")
		before := func(name, ip string) providers.Instance {
			return providers.Instance{Address: "r/kubernetes_service." + name, Type: kubernetes.TypeService,
				Outputs: providers.Values{"namespace": "default", "name": name, "ingress": []any{ip}}}
		}
		cluster := providers.Instance{Address: "r/x_cluster.main", Type: "x_cluster", Outputs: providers.Values{
			"endpoint": conn[kubernetes.InEndpoint], "ca": conn[kubernetes.InCA], "id": "k8s-test"}}
		was := []providers.Instance{cluster, before("kept", "203.0.113.10"), before("moved", "203.0.113.10"),
			before("internal", "10.0.0.1"), before("gone", "203.0.113.11"), before("removed", "203.0.113.12")}
		now := slices.Clone(was[:len(was)-1]) // the apply removed "removed": it need keep nothing
		for _, name := range []string{"good", "bad"} {
			now = append(now, providers.Instance{Address: "r/x_pool." + name, Type: "x_pool", Inputs: providers.Values{"name": name}})
		}
		rh := kubernetes.RegionHealth{ClusterType: "x_cluster", Refs: refs, PoolLabel: "pool", Pool: func(r providers.Instance) (kubernetes.PoolHealth, bool) {
			name, _ := r.Inputs["name"].(string)
			return kubernetes.PoolHealth{Name: name, Version: "1.33", MinNodes: 2}, r.Type == "x_pool"
		}}
		resp, err := h.CheckRegion(ctx, providers.HealthRequest{Region: "r", Resources: now, Before: was}, rh)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range resp.Checks {
			got[c.Name] = fmt.Sprintf("%v %s", c.OK, c.Detail)
		}
		want := map[string]string{
			"API server":               "true answers, serving Kubernetes 1.34",
			"node pool good":           "true 2 nodes Ready at 1.33",
			"node pool bad":            "false bad-cordoned is cordoned; bad-notready is not Ready; bad-stale runs v1.32.9, not 1.33; 1 of at least 2 nodes Ready at 1.33",
			"Service default/kept":     "true keeps its 1 address(es)",
			"Service default/moved":    "false lost its address(es) 203.0.113.10 (has 203.0.113.99)",
			"Service default/internal": "false is of type ClusterIP, not LoadBalancer",
			"Service default/gone":     "false is gone",
		}
		if !maps.Equal(got, want) {
			for k := range maps.Keys(want) {
				if got[k] != want[k] {
					t.Errorf("check %q = %q, want %q", k, got[k], want[k])
				}
			}
			t.Errorf("checks %v", got)
		}
		if resp.Healthy() || len(resp.Failing()) != 4 {
			t.Errorf("Healthy() = %v with %d failing checks, want false with 4", resp.Healthy(), len(resp.Failing()))
		}
	})

	t.Run("ClusterRoleBinding", func(t *testing.T) {
		res := kubernetes.ClusterRoleBindingResource("r", "alice", refs, "regionctl-access:view:user:alice@example.com", kubernetes.RoleView,
			kubernetes.Subject{Kind: kubernetes.SubjectUser, Name: "alice@example.com"})
		in := resolve(res, conn)
		created, err := h.Create(ctx, providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		crb, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, created.ID, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if crb.RoleRef.Name != "view" || len(crb.Subjects) != 1 || crb.Subjects[0].Kind != "User" || crb.Subjects[0].Name != "alice@example.com" ||
			crb.Labels[kubernetes.ManagedByLabel] != "regionctl" {
			t.Errorf("binding = %+v", crb)
		}
		inst := providers.Instance{Address: res.Address, Type: res.Type, ID: created.ID, Inputs: in, Outputs: created.Outputs}
		// A subject added by hand is drift.
		crb.Subjects = append(crb.Subjects, rbacv1.Subject{Kind: "Group", Name: "intruders", APIGroup: rbacv1.GroupName})
		if _, err := cs.RbacV1().ClusterRoleBindings().Update(ctx, crb, metav1.UpdateOptions{FieldManager: "hand"}); err != nil {
			t.Fatal(err)
		}
		read, err := h.Read(ctx, providers.ReadRequest{Instance: inst})
		if err != nil || !read.Exists || len(read.Inputs["subjects"].([]any)) != 2 {
			t.Fatalf("Read after a hand-added subject: %v %+v", err, read.Inputs)
		}
		// Find adopts it by name and label (after a crash or state rm).
		found, err := h.Find(ctx, providers.FindRequest{Address: res.Address, Type: res.Type, Inputs: in})
		if err != nil || found.ID != created.ID {
			t.Errorf("Find = %q, %v; want %q", found.ID, err, created.ID)
		}
		if _, err := h.Delete(ctx, providers.DeleteRequest{Instance: inst}); err != nil {
			t.Fatal(err)
		}
		if read, err := h.Read(ctx, providers.ReadRequest{Instance: inst}); err != nil || read.Exists {
			t.Errorf("Read after Delete: exists %v, %v", read.Exists, err)
		}
	})

	t.Run("BadTokenIsRefused", func(t *testing.T) {
		bad := &kubernetes.Handler{Token: func(context.Context, kubernetes.ClusterInputs) (string, error) { return "wrong", nil }}
		_, err := bad.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: fast.Address, Type: fast.Type, ID: "x", Inputs: fastIn}})
		if err == nil || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Read with a rejected token = %v, want Unauthorized without the token in the message", err)
		}
	})
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// equalJSON compares two values as JSON (ints and float64 alike).
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// TestDrainPoolWithoutAClient: a cluster no client can be made for (a CA
// that is not PEM, as the sandbox's clusters without Kubernetes have) is
// left to the cloud's own delete, which drains too; a driver that gave no
// token source is told so.
func TestDrainPoolWithoutAClient(t *testing.T) {
	in := kubernetes.ClusterInputs{Endpoint: "https://127.0.0.1:1", CA: base64.StdEncoding.EncodeToString([]byte("not a certificate")), Cluster: "c"}
	if err := handler(false).DrainPool(context.Background(), in, kubernetes.DrainOptions{Label: "pool", Value: "a"}); err != nil {
		t.Errorf("DrainPool = %v, want nil (the cloud's delete drains)", err)
	}
	if err := (&kubernetes.Handler{}).DrainPool(context.Background(), in, kubernetes.DrainOptions{Label: "pool", Value: "a"}); err == nil || !strings.Contains(err.Error(), "no token source") {
		t.Errorf("DrainPool without a token source = %v, want the driver's bug named", err)
	}
}

// routerDriver is the in-cluster types' router as a driver, for the
// drivertest checks that take one (a cloud driver routes the same types).
type routerDriver struct{ *kit.Router }

func (routerDriver) Capabilities() providers.Capabilities {
	return providers.Capabilities{Name: "in-cluster"}
}

func (routerDriver) Expand(context.Context, providers.ExpandRequest) (providers.ExpandResponse, error) {
	return providers.ExpandResponse{}, nil
}
