package kubernetes

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applyrbacv1 "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// RBAC: a driver whose cloud authenticates people to the cluster but
// leaves authorization to Kubernetes (GKE) maps spec.access onto one
// ClusterRoleBinding per principal, to the built-in cluster-admin or view
// ClusterRole. It declares the type with Handler.AccessTypes.

// TypeClusterRoleBinding is a ClusterRoleBinding in the cluster.
const TypeClusterRoleBinding = "kubernetes_cluster_role_binding"

// Built-in ClusterRoles spec.access maps onto, and the subject kinds.
const (
	RoleClusterAdmin = "cluster-admin"
	RoleView         = "view"
	SubjectUser      = rbacv1.UserKind
	SubjectGroup     = rbacv1.GroupKind
)

// Subject is whom a ClusterRoleBinding binds: a User or a Group, by the
// name the cluster's authenticator gives it.
type Subject struct {
	Kind string `kit:"kind"`
	Name string `kit:"name"`
}

// ClusterRoleBindingInputs are the inputs of a
// kubernetes_cluster_role_binding.
type ClusterRoleBindingInputs struct {
	ClusterInputs
	Name string `kit:"name,replace" why:"a ClusterRoleBinding is known by its name"`
	// Role is the ClusterRole bound (roleRef.name).
	Role     string    `kit:"role,replace" why:"Kubernetes refuses to change a binding's roleRef"`
	Subjects []Subject `kit:"subjects,set"`
}

// ClusterRoleBindingOutputs are its outputs.
type ClusterRoleBindingOutputs struct {
	ID   string `kit:"id"`
	Name string `kit:"name"`
}

// ClusterRoleBindingForceNew are the inputs whose change replaces a
// binding.
var ClusterRoleBindingForceNew = []string{InEndpoint, InCluster, "name", "role"}

// ClusterRoleBindingResource is the resource of one ClusterRoleBinding of
// role to subjects, at REGION/kubernetes_cluster_role_binding.ADDRNAME.
// It is created before the binding it replaces is deleted, so changing a
// principal's role never leaves it without access.
func ClusterRoleBindingResource(region, addrName string, cluster ClusterRefs, name, role string, subjects ...Subject) providers.Resource {
	in := cluster.inputs()
	in["name"] = name
	in["role"] = role
	subs := make([]any, len(subjects))
	for i, s := range subjects {
		subs[i] = map[string]any{"kind": s.Kind, "name": s.Name}
	}
	in["subjects"] = subs
	return providers.Resource{
		Address:             providers.Address(region, TypeClusterRoleBinding, addrName),
		Type:                TypeClusterRoleBinding,
		Inputs:              in,
		ForceNew:            append([]string(nil), ClusterRoleBindingForceNew...),
		CreateBeforeDestroy: true,
	}
}

// AccessTypes declares the RBAC resource type, handled by h, for a driver
// that maps spec.access onto RBAC.
func (h *Handler) AccessTypes() []kit.Declaration {
	return []kit.Declaration{
		kit.Type[kit.None, ClusterRoleBindingInputs, ClusterRoleBindingOutputs]{Name: TypeClusterRoleBinding, Handler: clusterRoleBindings{h},
			Description: "a ClusterRoleBinding of spec.access principals, applied with server-side apply"},
	}
}

type clusterRoleBindings struct{ h *Handler }

type crbCall = kit.Call[kit.None, ClusterRoleBindingInputs, ClusterRoleBindingOutputs]

func (b clusterRoleBindings) Create(ctx context.Context, c *crbCall) (string, error) {
	return b.apply(ctx, c)
}

// Update sets the subjects (server-side apply replaces the list regionctl
// owns).
func (b clusterRoleBindings) Update(ctx context.Context, c *crbCall, _ []string) error {
	_, err := b.apply(ctx, c)
	return err
}

func (b clusterRoleBindings) apply(ctx context.Context, c *crbCall) (string, error) {
	in := c.In
	cs, err := b.h.client(in.ClusterInputs)
	if err != nil {
		return "", err
	}
	ac := applyrbacv1.ClusterRoleBinding(in.Name).
		WithLabels(map[string]string{ManagedByLabel: FieldManager}).
		WithRoleRef(applyrbacv1.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(in.Role))
	for _, s := range in.Subjects {
		ac.WithSubjects(applyrbacv1.Subject().WithAPIGroup(rbacv1.GroupName).WithKind(s.Kind).WithName(s.Name))
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Apply(ctx, ac, b.h.applyOptions()); err != nil {
		return "", fmt.Errorf("apply ClusterRoleBinding %s: %w", in.Name, conflict(err))
	}
	return in.Name, nil
}

func (b clusterRoleBindings) get(ctx context.Context, in ClusterInputs, name string) (*rbacv1.ClusterRoleBinding, error) {
	cs, err := b.h.client(in)
	if err != nil {
		return nil, err
	}
	crb, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || b.h.gone(ctx, in, err) {
		return nil, nil
	}
	return crb, err
}

// Read returns the live binding: its role and every subject, so a subject
// added or removed by hand shows as drift.
func (b clusterRoleBindings) Read(ctx context.Context, c *crbCall) (*kit.Live[ClusterRoleBindingInputs, ClusterRoleBindingOutputs], error) {
	crb, err := b.get(ctx, c.Prev.ClusterInputs, c.ID)
	if err != nil || crb == nil {
		return nil, err
	}
	return b.live(ctx, c, crb)
}

func (clusterRoleBindings) live(_ context.Context, c *crbCall, crb *rbacv1.ClusterRoleBinding) (*kit.Live[ClusterRoleBindingInputs, ClusterRoleBindingOutputs], error) {
	live := ClusterRoleBindingInputs{ClusterInputs: c.Prev.ClusterInputs, Name: crb.Name, Role: crb.RoleRef.Name, Subjects: []Subject{}}
	if crb.RoleRef.Kind != "ClusterRole" {
		live.Role = crb.RoleRef.Kind + "/" + crb.RoleRef.Name
	}
	for _, s := range crb.Subjects {
		live.Subjects = append(live.Subjects, Subject{Kind: s.Kind, Name: s.Name})
	}
	return c.Found(live, ClusterRoleBindingOutputs{ID: crb.Name, Name: crb.Name}), nil
}

func (b clusterRoleBindings) Delete(ctx context.Context, c *crbCall) error {
	cs, err := b.h.client(c.In.ClusterInputs)
	if err != nil {
		return err
	}
	err = cs.RbacV1().ClusterRoleBindings().Delete(ctx, c.ID, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !b.h.gone(ctx, c.In.ClusterInputs, err) {
		return err
	}
	return nil
}

// Find adopts the binding of the resource's name that carries regionctl's
// managed-by label (an interrupted create, or a `state rm`).
func (b clusterRoleBindings) Find(ctx context.Context, c *crbCall) (string, error) {
	crb, err := b.get(ctx, c.In.ClusterInputs, c.In.Name)
	if err != nil || crb == nil || !managed(crb.Labels) {
		return "", err
	}
	return crb.Name, nil
}

// ReadMany reads a cluster's bindings with one List (of all of them, so
// it reports exactly what Read does, also of a binding whose label was
// removed by hand).
func (b clusterRoleBindings) ReadMany(ctx context.Context, calls []*crbCall) ([]*kit.Live[ClusterRoleBindingInputs, ClusterRoleBindingOutputs], error) {
	return listed(ctx, calls, func(c *crbCall) string { return clusterKey(c.Prev.ClusterInputs) },
		func(ctx context.Context, c *crbCall) (map[string]*rbacv1.ClusterRoleBinding, error) {
			in := c.Prev.ClusterInputs
			cs, err := b.h.client(in)
			if err != nil {
				return nil, err
			}
			list, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
			if b.h.gone(ctx, in, err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("list ClusterRoleBindings: %w", err)
			}
			out := make(map[string]*rbacv1.ClusterRoleBinding, len(list.Items))
			for i := range list.Items {
				out[list.Items[i].Name] = &list.Items[i]
			}
			return out, nil
		},
		func(c *crbCall) string { return c.ID }, b.live)
}
