package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	applystoragev1 "k8s.io/client-go/applyconfigurations/storage/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// ManagedByLabel marks the objects regionctl applied (Find looks for it).
const ManagedByLabel = "app.kubernetes.io/managed-by"

// betaDefaultClassAnnotation is the old spelling some clusters still use.
const betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

// Handler creates, reads, updates and deletes the in-cluster resource types
// for a driver. A driver declares Types() among its own kit types, so its
// router sends these two types here.
type Handler struct {
	// Token returns a short-lived bearer token for the cluster the inputs
	// name (Cluster, Endpoint, Location). Required.
	Token func(ctx context.Context, in ClusterInputs) (string, error)
	// ForceConflicts makes server-side apply take over fields another
	// field manager owns (--force-conflicts); without it a conflict is an
	// error that names the other manager.
	ForceConflicts bool
	// ServiceAddresses returns the cloud addresses bound to a Service
	// (the output "addresses"), e.g. the public IPs of the AWS EIPs it
	// names. Optional; without it a Service has no "addresses" output.
	ServiceAddresses func(ctx context.Context, in ClusterInputs, svc *corev1.Service) ([]string, error)
	// ClusterGone reports whether the cluster the inputs name no longer
	// exists, asked when its API server cannot be reached: objects of a
	// deleted cluster are gone (Read says Exists false, Delete succeeds)
	// rather than an error. Optional; without it an unreachable API server
	// is always an error.
	ClusterGone func(ctx context.Context, in ClusterInputs) (bool, error)

	once   sync.Once
	router *kit.Router
}

// Types declares the two in-cluster resource types, handled by h, for a
// driver's kit.New.
func (h *Handler) Types() []kit.Declaration {
	return []kit.Declaration{
		kit.Type[kit.None, StorageClassInputs, StorageClassOutputs]{Name: TypeStorageClass, Handler: storageClasses{h},
			Description: "a StorageClass, applied with server-side apply"},
		kit.Type[kit.None, ServiceInputs, ServiceOutputs]{Name: TypeService, Handler: services{h},
			Description: "a Service of type LoadBalancer, applied with server-side apply"},
	}
}

// routed returns a router of this package's types alone (Types and
// AccessTypes), for the methods below.
func (h *Handler) routed() *kit.Router {
	h.once.Do(func() { h.router = kit.MustNew(kit.Options{}, append(h.Types(), h.AccessTypes()...)...) })
	return h.router
}

// Create applies the object and returns its ID (name, or namespace/name).
func (h *Handler) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	return h.routed().Create(ctx, req)
}

// Update applies the new inputs; fields regionctl no longer sets are
// released (server-side apply removes them when nobody else owns them).
func (h *Handler) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	return h.routed().Update(ctx, req)
}

// Read returns the live fields regionctl manages, so hand edits show as
// drift. A missing object is Exists false.
func (h *Handler) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return h.routed().Read(ctx, req)
}

// Delete removes the object; one that is gone is deleted.
func (h *Handler) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	return h.routed().Delete(ctx, req)
}

// Find returns the object an interrupted create applied: the object with
// the resource's name that carries regionctl's managed-by label.
func (h *Handler) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	return h.routed().Find(ctx, req)
}

// gone reports whether err is a failure to reach an API server whose
// cluster no longer exists.
func (h *Handler) gone(ctx context.Context, in ClusterInputs, err error) bool {
	var status apierrors.APIStatus
	if err == nil || h.ClusterGone == nil || errors.As(err, &status) {
		return false
	}
	g, gerr := h.ClusterGone(ctx, in)
	return gerr == nil && g
}

func (h *Handler) client(in ClusterInputs) (kubernetes.Interface, error) {
	if h.Token == nil {
		return nil, errors.New("kubernetes: the driver gave no token source")
	}
	ca, err := DecodeCA(in.CA)
	if err != nil {
		return nil, err
	}
	return NewClient(Conn{Endpoint: in.Endpoint, CAPEM: ca, Token: func(ctx context.Context) (string, error) { return h.Token(ctx, in) }})
}

func (h *Handler) applyOptions() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: FieldManager, Force: h.ForceConflicts}
}

// conflict explains a server-side apply conflict.
func conflict(err error) error {
	if apierrors.IsConflict(err) {
		return fmt.Errorf("%w (another field manager owns these fields; regionctl does not take them over unless run with --force-conflicts)", err)
	}
	return err
}

// managed reports whether an object carries regionctl's label.
func managed(labels map[string]string) bool { return labels[ManagedByLabel] == FieldManager }

// ---- kubernetes_storage_class ----

type storageClasses struct{ h *Handler }

type scCall = kit.Call[kit.None, StorageClassInputs, StorageClassOutputs]

func (s storageClasses) Create(ctx context.Context, c *scCall) (string, error) {
	return s.apply(ctx, c)
}

func (s storageClasses) Update(ctx context.Context, c *scCall, _ []string) error {
	_, err := s.apply(ctx, c)
	return err
}

func (s storageClasses) apply(ctx context.Context, c *scCall) (string, error) {
	in := c.In
	cs, err := s.h.client(in.ClusterInputs)
	if err != nil {
		return "", err
	}
	ac := applystoragev1.StorageClass(in.Name).
		WithLabels(map[string]string{ManagedByLabel: FieldManager}).
		WithProvisioner(in.Provisioner).
		WithParameters(in.Parameters).
		WithReclaimPolicy(corev1.PersistentVolumeReclaimPolicy(in.ReclaimPolicy)).
		WithVolumeBindingMode(storagev1.VolumeBindingMode(in.VolumeBindingMode)).
		WithAllowVolumeExpansion(in.AllowVolumeExpansion)
	if in.Default {
		ac.WithAnnotations(map[string]string{DefaultClassAnnotation: "true"})
	}
	if _, err := cs.StorageV1().StorageClasses().Apply(ctx, ac, s.h.applyOptions()); err != nil {
		return "", fmt.Errorf("apply StorageClass %s: %w", in.Name, conflict(err))
	}
	if in.Default {
		if err := unmarkOtherDefaults(ctx, cs, in.Name); err != nil {
			return in.Name, err
		}
	}
	return in.Name, nil
}

// unmarkOtherDefaults removes the default mark from every other class (the
// cloud's own default, EKS gp2 or GKE standard-rwo), so exactly one class
// is the default. It sets the annotation to "false", as the Kubernetes docs
// do, rather than fight over a field another manager owns.
func unmarkOtherDefaults(ctx context.Context, cs kubernetes.Interface, keep string) error {
	list, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list StorageClasses: %w", err)
	}
	for _, sc := range list.Items {
		if sc.Name == keep || (sc.Annotations[DefaultClassAnnotation] != "true" && sc.Annotations[betaDefaultClassAnnotation] != "true") {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"false"`, DefaultClassAnnotation)
		if _, ok := sc.Annotations[betaDefaultClassAnnotation]; ok {
			patch += fmt.Sprintf(`,%q:"false"`, betaDefaultClassAnnotation)
		}
		patch += "}}}"
		if _, err := cs.StorageV1().StorageClasses().Patch(ctx, sc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("remove the default mark from StorageClass %s: %w", sc.Name, err)
		}
	}
	return nil
}

func (s storageClasses) get(ctx context.Context, in ClusterInputs, name string) (*storagev1.StorageClass, error) {
	cs, err := s.h.client(in)
	if err != nil {
		return nil, err
	}
	sc, err := cs.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || s.h.gone(ctx, in, err) {
		return nil, nil
	}
	return sc, err
}

// Read returns the live fields in the shape StorageClassResource builds,
// with the recorded cluster inputs.
func (s storageClasses) Read(ctx context.Context, c *scCall) (*kit.Live[StorageClassInputs, StorageClassOutputs], error) {
	sc, err := s.get(ctx, c.Prev.ClusterInputs, c.ID)
	if err != nil || sc == nil {
		return nil, err
	}
	return s.live(ctx, c, sc)
}

func (storageClasses) live(_ context.Context, c *scCall, sc *storagev1.StorageClass) (*kit.Live[StorageClassInputs, StorageClassOutputs], error) {
	live := StorageClassInputs{
		ClusterInputs: c.Prev.ClusterInputs,
		Name:          sc.Name, Provisioner: sc.Provisioner, Parameters: sc.Parameters,
		ReclaimPolicy: "Delete", VolumeBindingMode: string(storagev1.VolumeBindingImmediate),
		AllowVolumeExpansion: sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion,
		Default:              sc.Annotations[DefaultClassAnnotation] == "true",
	}
	if sc.ReclaimPolicy != nil {
		live.ReclaimPolicy = string(*sc.ReclaimPolicy)
	}
	if sc.VolumeBindingMode != nil {
		live.VolumeBindingMode = string(*sc.VolumeBindingMode)
	}
	return c.Found(live, StorageClassOutputs{ID: sc.Name, Name: sc.Name}), nil
}

func (s storageClasses) Delete(ctx context.Context, c *scCall) error {
	cs, err := s.h.client(c.In.ClusterInputs)
	if err != nil {
		return err
	}
	err = cs.StorageV1().StorageClasses().Delete(ctx, c.ID, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !s.h.gone(ctx, c.In.ClusterInputs, err) {
		return err
	}
	return nil
}

func (s storageClasses) Find(ctx context.Context, c *scCall) (string, error) {
	sc, err := s.get(ctx, c.In.ClusterInputs, c.In.Name)
	if err != nil || sc == nil || !managed(sc.Labels) {
		return "", err
	}
	return sc.Name, nil
}

// ---- kubernetes_service ----

type services struct{ h *Handler }

type svcCall = kit.Call[kit.None, ServiceInputs, ServiceOutputs]

func splitID(id string) (ns, name string) {
	ns, name, ok := strings.Cut(id, "/")
	if !ok {
		return "default", id
	}
	return ns, name
}

// targetPort is a port number, or a container port's name.
func targetPort(v any) intstr.IntOrString {
	switch t := v.(type) {
	case string:
		return intstr.FromString(t)
	case int:
		return intstr.FromInt32(int32(t))
	case float64:
		return intstr.FromInt32(int32(t))
	}
	return intstr.FromInt32(0)
}

func (s services) Create(ctx context.Context, c *svcCall) (string, error) {
	return s.apply(ctx, c)
}

func (s services) Update(ctx context.Context, c *svcCall, _ []string) error {
	_, err := s.apply(ctx, c)
	return err
}

func (s services) apply(ctx context.Context, c *svcCall) (string, error) {
	in := c.In
	cs, err := s.h.client(in.ClusterInputs)
	if err != nil {
		return "", err
	}
	id := in.Namespace + "/" + in.Name
	ann := map[string]string{}
	for k, v := range in.Annotations {
		ann[k] = v
	}
	for k, v := range in.AnnotationLists {
		ann[k] = strings.Join(v, ",")
	}
	spec := applycorev1.ServiceSpec().WithType(corev1.ServiceTypeLoadBalancer).WithSelector(in.Selector)
	for _, p := range in.Ports {
		spec.WithPorts(applycorev1.ServicePort().
			WithName(p.Name).
			WithPort(int32(p.Port)).
			WithTargetPort(targetPort(p.TargetPort)).
			WithProtocol(corev1.Protocol(p.Protocol)))
	}
	if in.LoadBalancerIP != "" {
		spec.WithLoadBalancerIP(in.LoadBalancerIP)
	}
	ac := applycorev1.Service(in.Name, in.Namespace).
		WithLabels(map[string]string{ManagedByLabel: FieldManager}).
		WithAnnotations(ann).
		WithSpec(spec)
	if _, err := cs.CoreV1().Services(in.Namespace).Apply(ctx, ac, s.h.applyOptions()); err != nil {
		return "", fmt.Errorf("apply Service %s: %w", id, conflict(err))
	}
	return id, nil
}

func (s services) get(ctx context.Context, in ClusterInputs, id string) (*corev1.Service, error) {
	cs, err := s.h.client(in)
	if err != nil {
		return nil, err
	}
	ns, name := splitID(id)
	svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || s.h.gone(ctx, in, err) {
		return nil, nil
	}
	return svc, err
}

// Read returns the live fields regionctl sets, with the recorded cluster
// inputs: only the annotations it applied, so other controllers'
// annotations are not drift.
func (s services) Read(ctx context.Context, c *svcCall) (*kit.Live[ServiceInputs, ServiceOutputs], error) {
	svc, err := s.get(ctx, c.Prev.ClusterInputs, c.ID)
	if err != nil || svc == nil {
		return nil, err
	}
	return s.live(ctx, c, svc)
}

func (s services) live(ctx context.Context, c *svcCall, svc *corev1.Service) (*kit.Live[ServiceInputs, ServiceOutputs], error) {
	prev := c.Prev
	live := ServiceInputs{
		ClusterInputs: prev.ClusterInputs, Name: svc.Name, Namespace: svc.Namespace,
		Annotations: map[string]string{}, AnnotationLists: map[string][]string{},
		Selector:       svc.Spec.Selector,
		LoadBalancerIP: svc.Spec.LoadBalancerIP, //nolint:staticcheck // deprecated in Kubernetes, still how GKE binds a reserved address
	}
	for k := range prev.Annotations {
		if v, ok := svc.Annotations[k]; ok {
			live.Annotations[k] = v
		}
	}
	for k := range prev.AnnotationLists {
		if v, ok := svc.Annotations[k]; ok {
			var parts []string
			for _, p := range strings.Split(v, ",") {
				if p != "" {
					parts = append(parts, p)
				}
			}
			live.AnnotationLists[k] = parts
		}
	}
	for _, p := range svc.Spec.Ports {
		var target any = p.TargetPort.IntValue()
		if p.TargetPort.Type == intstr.String {
			target = p.TargetPort.StrVal
		}
		live.Ports = append(live.Ports, ServicePort{Name: p.Name, Port: int(p.Port), TargetPort: target, Protocol: string(p.Protocol)})
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t := string(svc.Spec.Type)
		live.Type = &t
	}
	out := ServiceOutputs{ID: c.ID, Name: svc.Name, Namespace: svc.Namespace, Ingress: []string{}}
	for _, i := range svc.Status.LoadBalancer.Ingress {
		if i.IP != "" {
			out.Ingress = append(out.Ingress, i.IP)
		}
		if i.Hostname != "" {
			out.Ingress = append(out.Ingress, i.Hostname)
		}
	}
	if s.h.ServiceAddresses != nil {
		addrs, err := s.h.ServiceAddresses(ctx, prev.ClusterInputs, svc)
		if err != nil {
			return nil, err
		}
		if addrs == nil {
			addrs = []string{}
		}
		out.Addresses = &addrs
	}
	return c.Found(live, out), nil
}

func (s services) Delete(ctx context.Context, c *svcCall) error {
	cs, err := s.h.client(c.In.ClusterInputs)
	if err != nil {
		return err
	}
	ns, name := splitID(c.ID)
	err = cs.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !s.h.gone(ctx, c.In.ClusterInputs, err) {
		return err
	}
	return nil
}

func (s services) Find(ctx context.Context, c *svcCall) (string, error) {
	id := c.In.Namespace + "/" + c.In.Name
	svc, err := s.get(ctx, c.In.ClusterInputs, id)
	if err != nil || svc == nil || !managed(svc.Labels) {
		return "", err
	}
	return id, nil
}
