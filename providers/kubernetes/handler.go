package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

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
)

// ManagedByLabel marks the objects regionctl applied (Find looks for it).
const ManagedByLabel = "app.kubernetes.io/managed-by"

// betaDefaultClassAnnotation is the old spelling some clusters still use.
const betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

// Handler creates, reads, updates and deletes the in-cluster resource types
// for a driver, which routes calls to it when Handles(type) is true.
type Handler struct {
	// Token returns a short-lived bearer token for the cluster named by
	// the resource's inputs (InCluster, InEndpoint). Required.
	Token func(ctx context.Context, in providers.Values) (string, error)
	// ForceConflicts makes server-side apply take over fields another
	// field manager owns (--force-conflicts); without it a conflict is an
	// error that names the other manager.
	ForceConflicts bool
	// ServiceOutputs adds the cloud's outputs of a Service, e.g. the
	// addresses of the AWS EIPs it is bound to. Optional.
	ServiceOutputs func(ctx context.Context, in providers.Values, svc *corev1.Service) (providers.Values, error)
	// ClusterGone reports whether the cluster the inputs name no longer
	// exists, asked when its API server cannot be reached: objects of a
	// deleted cluster are gone (Read says Exists false, Delete succeeds)
	// rather than an error. Optional; without it an unreachable API server
	// is always an error.
	ClusterGone func(ctx context.Context, in providers.Values) (bool, error)
}

// gone reports whether err is a failure to reach an API server whose
// cluster no longer exists.
func (h *Handler) gone(ctx context.Context, in providers.Values, err error) bool {
	var status apierrors.APIStatus
	if err == nil || h.ClusterGone == nil || errors.As(err, &status) {
		return false
	}
	g, gerr := h.ClusterGone(ctx, in)
	return gerr == nil && g
}

func (h *Handler) client(in providers.Values) (kubernetes.Interface, error) {
	if h.Token == nil {
		return nil, errors.New("kubernetes: the driver gave no token source")
	}
	if refs := providers.Refs(map[string]any(in)); len(refs) > 0 {
		return nil, fmt.Errorf("inputs hold unresolved references to %s", strings.Join(refs, ", "))
	}
	ca, err := DecodeCA(str(in, InCA))
	if err != nil {
		return nil, err
	}
	return NewClient(Conn{Endpoint: str(in, InEndpoint), CAPEM: ca, Token: func(ctx context.Context) (string, error) { return h.Token(ctx, in) }})
}

// Create applies the object and returns its ID (name, or namespace/name).
func (h *Handler) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	id, out, err := h.apply(ctx, req.Type, req.Inputs)
	if err != nil {
		return providers.CreateResponse{ID: id}, fmt.Errorf("create %s: %w", req.Address, err)
	}
	return providers.CreateResponse{ID: id, Outputs: out}, nil
}

// Update applies the new inputs; fields regionctl no longer sets are
// released (server-side apply removes them when nobody else owns them).
func (h *Handler) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	_, out, err := h.apply(ctx, req.Instance.Type, req.Inputs)
	if err != nil {
		return providers.UpdateResponse{}, fmt.Errorf("update %s: %w", req.Instance.Address, err)
	}
	return providers.UpdateResponse{Outputs: out}, nil
}

// Read returns the live fields regionctl manages, so hand edits show as
// drift. A missing object is Exists false.
func (h *Handler) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	in := req.Instance
	if in.ID == "" {
		return providers.ReadResponse{}, nil
	}
	cs, err := h.client(in.Inputs)
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("read %s: %w", in.Address, err)
	}
	exists, live, out, err := h.read(ctx, cs, in.Type, in.ID, in.Inputs)
	if h.gone(ctx, in.Inputs, err) {
		return providers.ReadResponse{}, nil
	}
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("read %s (%s): %w", in.Address, in.ID, err)
	}
	if !exists {
		return providers.ReadResponse{}, nil
	}
	return providers.ReadResponse{Exists: true, Inputs: live, Outputs: out}, nil
}

// Delete removes the object; one that is gone is deleted.
func (h *Handler) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	in := req.Instance
	if in.ID == "" {
		return providers.DeleteResponse{}, nil
	}
	cs, err := h.client(in.Inputs)
	if err != nil {
		return providers.DeleteResponse{}, fmt.Errorf("delete %s: %w", in.Address, err)
	}
	switch in.Type {
	case TypeStorageClass:
		err = cs.StorageV1().StorageClasses().Delete(ctx, in.ID, metav1.DeleteOptions{})
	case TypeService:
		ns, name := splitID(in.ID)
		err = cs.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
	default:
		return providers.DeleteResponse{}, fmt.Errorf("kubernetes: unknown resource type %q", in.Type)
	}
	if err != nil && !apierrors.IsNotFound(err) && !h.gone(ctx, in.Inputs, err) {
		return providers.DeleteResponse{}, fmt.Errorf("delete %s (%s): %w", in.Address, in.ID, err)
	}
	return providers.DeleteResponse{}, nil
}

// Find returns the object an interrupted create applied: the object with
// the resource's name that carries regionctl's managed-by label.
func (h *Handler) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	cs, err := h.client(req.Inputs)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("find %s: %w", req.Address, err)
	}
	id := str(req.Inputs, "name")
	if req.Type == TypeService {
		id = str(req.Inputs, "namespace") + "/" + id
	}
	var labels map[string]string
	switch req.Type {
	case TypeStorageClass:
		sc, err := cs.StorageV1().StorageClasses().Get(ctx, id, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || h.gone(ctx, req.Inputs, err) {
			return providers.FindResponse{}, nil
		}
		if err != nil {
			return providers.FindResponse{}, fmt.Errorf("find %s: %w", req.Address, err)
		}
		labels = sc.Labels
	case TypeService:
		ns, name := splitID(id)
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || h.gone(ctx, req.Inputs, err) {
			return providers.FindResponse{}, nil
		}
		if err != nil {
			return providers.FindResponse{}, fmt.Errorf("find %s: %w", req.Address, err)
		}
		labels = svc.Labels
	default:
		return providers.FindResponse{}, fmt.Errorf("kubernetes: unknown resource type %q", req.Type)
	}
	if labels[ManagedByLabel] != FieldManager {
		return providers.FindResponse{}, nil
	}
	_, _, out, err := h.read(ctx, cs, req.Type, id, req.Inputs)
	if err != nil {
		return providers.FindResponse{}, fmt.Errorf("find %s: %w", req.Address, err)
	}
	return providers.FindResponse{Found: true, ID: id, Outputs: out}, nil
}

func splitID(id string) (ns, name string) {
	ns, name, ok := strings.Cut(id, "/")
	if !ok {
		return "default", id
	}
	return ns, name
}

// conflict explains a server-side apply conflict.
func conflict(err error) error {
	if apierrors.IsConflict(err) {
		return fmt.Errorf("%w (another field manager owns these fields; regionctl does not take them over unless run with --force-conflicts)", err)
	}
	return err
}

func (h *Handler) apply(ctx context.Context, typ string, in providers.Values) (string, providers.Values, error) {
	cs, err := h.client(in)
	if err != nil {
		return "", nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: h.ForceConflicts}
	var id string
	switch typ {
	case TypeStorageClass:
		id = str(in, "name")
		ac := applystoragev1.StorageClass(id).
			WithLabels(map[string]string{ManagedByLabel: FieldManager}).
			WithProvisioner(str(in, "provisioner")).
			WithParameters(strMap(in["parameters"])).
			WithReclaimPolicy(corev1.PersistentVolumeReclaimPolicy(str(in, "reclaim_policy"))).
			WithVolumeBindingMode(storagev1.VolumeBindingMode(str(in, "volume_binding_mode"))).
			WithAllowVolumeExpansion(boolean(in, "allow_volume_expansion"))
		if boolean(in, "default") {
			ac.WithAnnotations(map[string]string{DefaultClassAnnotation: "true"})
		}
		if _, err := cs.StorageV1().StorageClasses().Apply(ctx, ac, opts); err != nil {
			return "", nil, fmt.Errorf("apply StorageClass %s: %w", id, conflict(err))
		}
		if boolean(in, "default") {
			if err := unmarkOtherDefaults(ctx, cs, id); err != nil {
				return id, nil, err
			}
		}
	case TypeService:
		ns, name := str(in, "namespace"), str(in, "name")
		id = ns + "/" + name
		ann := strMap(in["annotations"])
		for k, v := range asMap(in["annotation_lists"]) {
			var parts []string
			for _, e := range asList(v) {
				if s, ok := e.(string); ok {
					parts = append(parts, s)
				}
			}
			ann[k] = strings.Join(parts, ",")
		}
		spec := applycorev1.ServiceSpec().WithType(corev1.ServiceTypeLoadBalancer).WithSelector(strMap(in["selector"]))
		for _, p := range asList(in["ports"]) {
			pm := asMap(p)
			spec.WithPorts(applycorev1.ServicePort().
				WithName(str(pm, "name")).
				WithPort(int32(integer(pm["port"]))).
				WithTargetPort(intstr.FromInt32(int32(integer(pm["target_port"])))).
				WithProtocol(corev1.Protocol(str(pm, "protocol"))))
		}
		if ip := str(in, "load_balancer_ip"); ip != "" {
			spec.WithLoadBalancerIP(ip)
		}
		ac := applycorev1.Service(name, ns).
			WithLabels(map[string]string{ManagedByLabel: FieldManager}).
			WithAnnotations(ann).
			WithSpec(spec)
		if _, err := cs.CoreV1().Services(ns).Apply(ctx, ac, opts); err != nil {
			return "", nil, fmt.Errorf("apply Service %s: %w", id, conflict(err))
		}
	default:
		return "", nil, fmt.Errorf("kubernetes: unknown resource type %q", typ)
	}
	_, _, out, err := h.read(ctx, cs, typ, id, in)
	if err != nil {
		return id, nil, fmt.Errorf("read back %s: %w", id, err)
	}
	return id, out, nil
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

// read returns the live inputs (in the shape the builders produce, with the
// connection keys of prev) and outputs of one object.
func (h *Handler) read(ctx context.Context, cs kubernetes.Interface, typ, id string, prev providers.Values) (bool, providers.Values, providers.Values, error) {
	live := providers.Values{}
	for _, k := range connKeys {
		if v, ok := prev[k]; ok {
			live[k] = v
		}
	}
	switch typ {
	case TypeStorageClass:
		sc, err := cs.StorageV1().StorageClasses().Get(ctx, id, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil, nil, nil
		}
		if err != nil {
			return false, nil, nil, err
		}
		live["name"] = sc.Name
		live["provisioner"] = sc.Provisioner
		live["parameters"] = anyMap(sc.Parameters)
		rp := "Delete"
		if sc.ReclaimPolicy != nil {
			rp = string(*sc.ReclaimPolicy)
		}
		live["reclaim_policy"] = rp
		mode := string(storagev1.VolumeBindingImmediate)
		if sc.VolumeBindingMode != nil {
			mode = string(*sc.VolumeBindingMode)
		}
		live["volume_binding_mode"] = mode
		live["allow_volume_expansion"] = sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
		live["default"] = sc.Annotations[DefaultClassAnnotation] == "true"
		return true, live, providers.Values{"id": sc.Name, "name": sc.Name}, nil
	case TypeService:
		ns, name := splitID(id)
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil, nil, nil
		}
		if err != nil {
			return false, nil, nil, err
		}
		live["name"] = svc.Name
		live["namespace"] = svc.Namespace
		// Only the annotations regionctl sets: others belong to other
		// controllers.
		ann := map[string]any{}
		for k := range asMap(prev["annotations"]) {
			if v, ok := svc.Annotations[k]; ok {
				ann[k] = v
			}
		}
		live["annotations"] = ann
		lists := map[string]any{}
		for k := range asMap(prev["annotation_lists"]) {
			if v, ok := svc.Annotations[k]; ok {
				var parts []any
				for _, p := range strings.Split(v, ",") {
					if p != "" {
						parts = append(parts, p)
					}
				}
				if parts == nil {
					parts = []any{}
				}
				lists[k] = parts
			}
		}
		live["annotation_lists"] = lists
		ports := make([]any, 0, len(svc.Spec.Ports))
		for _, p := range svc.Spec.Ports {
			var target any = p.TargetPort.IntValue()
			if p.TargetPort.Type == intstr.String {
				target = p.TargetPort.StrVal
			}
			ports = append(ports, map[string]any{"name": p.Name, "port": int(p.Port), "target_port": target, "protocol": string(p.Protocol)})
		}
		live["ports"] = ports
		live["selector"] = anyMap(svc.Spec.Selector)
		live["load_balancer_ip"] = svc.Spec.LoadBalancerIP //nolint:staticcheck // deprecated in Kubernetes, still how GKE binds a reserved address
		if string(svc.Spec.Type) != string(corev1.ServiceTypeLoadBalancer) {
			live["type"] = string(svc.Spec.Type) // shows as drift: regionctl never sets this key
		}
		var ingress []any
		for _, i := range svc.Status.LoadBalancer.Ingress {
			if i.IP != "" {
				ingress = append(ingress, i.IP)
			}
			if i.Hostname != "" {
				ingress = append(ingress, i.Hostname)
			}
		}
		if ingress == nil {
			ingress = []any{}
		}
		out := providers.Values{"id": id, "name": svc.Name, "namespace": svc.Namespace, "ingress": ingress}
		if h.ServiceOutputs != nil {
			extra, err := h.ServiceOutputs(ctx, prev, svc)
			if err != nil {
				return false, nil, nil, err
			}
			keys := make([]string, 0, len(extra))
			for k := range extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out[k] = extra[k]
			}
		}
		return true, live, out, nil
	}
	return false, nil, nil, fmt.Errorf("kubernetes: unknown resource type %q", typ)
}

func asMap(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case providers.Values:
		return m
	}
	return map[string]any{}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// portName is the name of a Service port when the spec gives none:
// "tcp-80" (Kubernetes requires names when a Service has several ports).
func portName(p Port, proto string) string {
	if p.Name != "" {
		return p.Name
	}
	return strings.ToLower(proto) + "-" + strconv.Itoa(p.Port)
}
