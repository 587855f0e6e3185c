package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Namespace-scoped access policies grant their permissions through
// RoleBindings in the namespaces their scope names: one per (policy,
// namespace pattern) in each matching namespace, binding the group
// NamespacePolicyGroup to the policy's ClusterRole. An accessController per
// cluster keeps them, as namespaces come and associations change.

// accessControllerLabel marks the RoleBindings an accessController owns.
const accessControllerLabel = "regionctl-sandbox/eks-access-policy"

// NamespacePolicyGroup is the Kubernetes group an authenticated principal
// gets for an access policy associated at namespace scope with namespace
// pattern ns ("dev", or "dev-*": EKS allows a trailing wildcard).
func NamespacePolicyGroup(policy, ns string) string {
	return AccessPolicyGroup(policy) + ":" + ns
}

// namespaceMatches reports whether namespace ns is in an access scope's
// namespace pattern.
func namespaceMatches(pattern, ns string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(ns, prefix)
	}
	return pattern == ns
}

// scopedPolicy is a policy associated at namespace scope with a pattern.
type scopedPolicy struct{ policy, pattern string }

func (p scopedPolicy) bindingName() string {
	sum := sha256.Sum256([]byte(p.pattern))
	return "regionctl-sandbox:eks-access-policy:" + p.policy + ":" + hex.EncodeToString(sum[:4])
}

// namespacePolicies are the (policy, pattern) pairs a cluster's access
// entries use (none when its authentication mode ignores entries).
func (c *clusterRec) namespacePolicies() map[scopedPolicy]bool {
	out := map[scopedPolicy]bool{}
	if !c.usesAccessEntries() {
		return out
	}
	for _, a := range c.AccessEntries {
		for arn, p := range a.Policies {
			if p.AccessScope.Type != ekstypes.AccessScopeTypeNamespace {
				continue
			}
			for _, ns := range p.AccessScope.Namespaces {
				out[scopedPolicy{policy: strings.TrimPrefix(arn, accessPolicyARN), pattern: ns}] = true
			}
		}
	}
	return out
}

// accessController reconciles one cluster's namespace-scoped RoleBindings.
type accessController struct {
	poke   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// nudge asks the controller to reconcile soon (never blocks).
func (ac *accessController) nudge() {
	select {
	case ac.poke <- struct{}{}:
	default:
	}
}

// startAccessController runs the access controller of cluster key
// (region/name) until stopAccessController, once its API server is ready.
func (e *Emulator) startAccessController(key, kubeID string, info rest.Config) {
	if _, ok := e.controllers[key]; ok {
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	ac := &accessController{poke: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	e.controllers[key] = ac
	go func() {
		defer close(ac.done)
		e.runAccessController(ctx, ac, key, kubeID, info)
	}()
}

// stopAccessController stops cluster key's controller (its bindings go with
// the cluster's data).
func (e *Emulator) stopAccessController(key string) {
	if ac, ok := e.controllers[key]; ok {
		ac.cancel()
		delete(e.controllers, key)
	}
}

// nudgeAccessController asks cluster key's controller to reconcile.
func (e *Emulator) nudgeAccessController(key string) {
	if ac, ok := e.controllers[key]; ok {
		ac.nudge()
	}
}

// Close stops the emulator's background work (the access controllers) and
// waits for it.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.cancel()
	var dones []chan struct{}
	for key, ac := range e.controllers {
		dones = append(dones, ac.done)
		delete(e.controllers, key)
	}
	e.mu.Unlock()
	for _, d := range dones {
		<-d
	}
	return nil
}

func (e *Emulator) runAccessController(ctx context.Context, ac *accessController, key, kubeID string, info rest.Config) {
	// Wait for the API server (it starts in the background).
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for st := e.env.Kube.State(kubeID); !st.Ready; st = e.env.Kube.State(kubeID) {
		if st.Err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	cs, err := kubernetes.NewForConfig(&info)
	if err != nil {
		return // a rest.Config with a URL and CA always makes a client
	}
	// List the namespaces and reconcile, then again on every namespace
	// event and every nudge; start over (after a second) when the watch
	// ends or a call fails, e.g. while the API server restarts.
	for ctx.Err() == nil {
		if err := e.reconcileAccess(ctx, cs, key, ac); err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// reconcileAccess reconciles cluster key's bindings until its namespace
// watch ends, ctx ends or a call fails.
func (e *Emulator) reconcileAccess(ctx context.Context, cs kubernetes.Interface, key string, ac *accessController) error {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	w, err := cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		e.mu.Lock()
		c, ok := e.clusterAt(key)
		var want map[scopedPolicy]bool
		if ok {
			want = c.namespacePolicies()
		}
		e.mu.Unlock()
		if !ok {
			return errors.New("the cluster is gone") // its controller is being stopped
		}
		if err := reconcileBindings(ctx, cs, list.Items, want); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ac.poke:
		case _, open := <-w.ResultChan():
			if !open {
				return nil
			}
		}
		if list, err = cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
			return err
		}
	}
}

// reconcileBindings makes the RoleBindings of want exist in every matching
// namespace, and removes the ones nothing wants any more.
func reconcileBindings(ctx context.Context, cs kubernetes.Interface, nss []corev1.Namespace, want map[scopedPolicy]bool) error {
	desired := map[string]*rbacv1.RoleBinding{} // namespace/name
	for _, ns := range nss {
		for p := range want {
			if !namespaceMatches(p.pattern, ns.Name) || ns.DeletionTimestamp != nil {
				continue
			}
			meta := objectMeta(p.bindingName())
			meta.Namespace = ns.Name
			meta.Labels[accessControllerLabel] = "true"
			desired[ns.Name+"/"+meta.Name] = &rbacv1.RoleBinding{ObjectMeta: meta,
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: accessPolicies[p.policy]},
				Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: NamespacePolicyGroup(p.policy, p.pattern)}}}
		}
	}
	have, err := cs.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{LabelSelector: accessControllerLabel + "=true"})
	if err != nil {
		return err
	}
	for _, b := range have.Items {
		if _, ok := desired[b.Namespace+"/"+b.Name]; ok {
			delete(desired, b.Namespace+"/"+b.Name)
			continue
		}
		if err := cs.RbacV1().RoleBindings(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	for _, b := range desired {
		if _, err := cs.RbacV1().RoleBindings(b.Namespace).Create(ctx, b, metav1.CreateOptions{FieldManager: "eks"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
