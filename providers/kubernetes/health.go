package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/providers"
)

// ClientFor returns a client for the cluster in names, authenticated with
// the handler's token source (for a driver's node pool drains and health
// checks).
func (h *Handler) ClientFor(in ClusterInputs) (kubernetes.Interface, error) { return h.client(in) }

// PoolHealth is one node pool as the health gate checks it: the label that
// selects its nodes, the Kubernetes minor they must run, and how many there
// must be at least.
type PoolHealth struct {
	Name string
	// Label and Value select the pool's nodes (the cloud's own label:
	// eks.amazonaws.com/nodegroup, cloud.google.com/gke-nodepool,
	// kubernetes.azure.com/agentpool).
	Label, Value string
	// Version is the pool's minor ("1.33").
	Version string
	// MinNodes is how many Ready nodes the pool must have.
	MinNodes int
}

// ServiceHealth is a LoadBalancer Service whose addresses must be kept.
type ServiceHealth struct {
	Namespace, Name string
	// Addresses are what the Service had before (its load balancer's
	// ingress and the cloud addresses bound to it); each must still be
	// there.
	Addresses []string
}

// HealthSpec is what CheckHealth checks in one cluster.
type HealthSpec struct {
	Pools    []PoolHealth
	Services []ServiceHealth
	// Addresses returns the cloud addresses bound to a Service (the
	// driver's Handler.ServiceAddresses); nil checks the ingress alone.
	Addresses func(ctx context.Context, svc *corev1.Service) ([]string, error)
}

// CheckHealth checks a cluster for the health gate of a rollout: its API
// server answers, every pool's nodes are Ready, schedulable and run the
// pool's minor (no node left at another), and every Service kept its
// addresses. It reports each check; an error means the API server could not
// be asked at all.
func CheckHealth(ctx context.Context, cs kubernetes.Interface, spec HealthSpec) (providers.HealthResponse, error) {
	var resp providers.HealthResponse
	add := func(name string, ok bool, format string, args ...any) {
		resp.Checks = append(resp.Checks, providers.HealthCheck{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return resp, fmt.Errorf("API server: %w", err)
	}
	served := v.Major + "." + v.Minor
	if v.EmulationMinor != "" {
		served = v.EmulationMajor + "." + v.EmulationMinor
	}
	add("API server", true, "answers, serving Kubernetes %s", served)
	for _, p := range spec.Pools {
		name := "node pool " + p.Name
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: p.Label + "=" + p.Value})
		if err != nil {
			return resp, fmt.Errorf("list the nodes of pool %s: %w", p.Name, err)
		}
		var problems []string
		good := 0
		for _, n := range nodes.Items {
			switch {
			case !nodeReady(n):
				problems = append(problems, n.Name+" is not Ready")
			case n.Spec.Unschedulable:
				problems = append(problems, n.Name+" is cordoned")
			case minorOf(n.Status.NodeInfo.KubeletVersion) != p.Version:
				problems = append(problems, fmt.Sprintf("%s runs %s, not %s", n.Name, n.Status.NodeInfo.KubeletVersion, p.Version))
			default:
				good++
			}
		}
		if good < p.MinNodes {
			problems = append(problems, fmt.Sprintf("%d of at least %d nodes Ready at %s", good, p.MinNodes, p.Version))
		}
		if len(problems) > 0 {
			add(name, false, "%s", strings.Join(problems, "; "))
			continue
		}
		add(name, true, "%d nodes Ready at %s", good, p.Version)
	}
	for _, s := range spec.Services {
		name := "Service " + s.Namespace + "/" + s.Name
		svc, err := cs.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			add(name, false, "is gone")
			continue
		}
		if err != nil {
			return resp, fmt.Errorf("read %s: %w", name, err)
		}
		have := IngressOf(svc)
		if spec.Addresses != nil {
			more, err := spec.Addresses(ctx, svc)
			if err != nil {
				return resp, fmt.Errorf("addresses of %s: %w", name, err)
			}
			have = append(have, more...)
		}
		var lost []string
		for _, a := range s.Addresses {
			if !slices.Contains(have, a) {
				lost = append(lost, a)
			}
		}
		switch {
		case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
			add(name, false, "is of type %s, not LoadBalancer", svc.Spec.Type)
		case len(lost) > 0:
			add(name, false, "lost its address(es) %s (has %s)", strings.Join(lost, ", "), strings.Join(have, ", "))
		default:
			add(name, true, "keeps its %d address(es)", len(s.Addresses))
		}
	}
	return resp, nil
}

// IngressOf lists a Service's load balancer IPs and host names.
func IngressOf(svc *corev1.Service) []string {
	var out []string
	for _, i := range svc.Status.LoadBalancer.Ingress {
		if i.IP != "" {
			out = append(out, i.IP)
		}
		if i.Hostname != "" {
			out = append(out, i.Hostname)
		}
	}
	return out
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// minorOf returns the minor of a kubelet version: "v1.33.5-eks-ba74326" →
// "1.33".
func minorOf(v string) string {
	major, minor, ok := providers.ParseMinor(strings.TrimPrefix(v, "v"))
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// DrainPool drains a node pool of the cluster in names (Drain) before
// the driver deletes the pool. When the API server cannot be reached at
// all (a private endpoint, or a cluster whose CA no client can use, as the
// sandbox's clusters without Kubernetes have) it leaves draining to the
// cloud's own delete, which drains too, and returns nil.
func (h *Handler) DrainPool(ctx context.Context, in ClusterInputs, opts DrainOptions) error {
	cs, err := h.client(in)
	switch {
	case err == nil:
		err = Drain(ctx, cs, opts)
	case h.Token != nil: // a driver without a token source is a bug: say so
		err = fmt.Errorf("%w (%w)", ErrUnreachable, err)
	}
	if errors.Is(err, ErrUnreachable) {
		return nil
	}
	return err
}

// DrainOptions configure Drain.
type DrainOptions struct {
	// Label and Value select the nodes to drain (a node pool's).
	Label, Value string
	// Timeout bounds the whole drain; 0 means DefaultDrainTimeout.
	Timeout time.Duration
	// Interval is the first wait before an eviction a disruption budget
	// refused is tried again (it doubles up to 10s); 0 means a second.
	Interval time.Duration
}

// ErrUnreachable is returned by Drain when the cluster's API server cannot
// be reached at all (a private endpoint): the caller leaves draining to
// the cloud's own delete, which drains too.
var ErrUnreachable = errors.New("the cluster's API server cannot be reached")

// DefaultDrainTimeout is how long Drain waits for evictions that
// PodDisruptionBudgets hold back: AKS's default node drain timeout.
const DefaultDrainTimeout = 30 * time.Minute

// Drain cordons the nodes of a pool and evicts their pods through the
// Eviction API, as kubectl drain does, so PodDisruptionBudgets are honoured:
// an eviction a budget refuses is tried again, with backoff, until the
// workload's replacement pods elsewhere let it go. It returns once the
// pods are gone. DaemonSet pods and mirror pods are left (they go with
// their node), and finished pods are not evicted. When the budgets still
// hold a pod at the timeout, Drain fails naming the pods: the nodes stay
// cordoned and the caller must not delete the pool.
func Drain(ctx context.Context, cs kubernetes.Interface, opts DrainOptions) error {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultDrainTimeout
	}
	delay := opts.Interval
	if delay <= 0 {
		delay = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	selector := opts.Label + "=" + opts.Value
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	var status apierrors.APIStatus
	if err != nil && !errors.As(err, &status) {
		return fmt.Errorf("drain: list nodes %s: %w (%w)", selector, ErrUnreachable, err)
	}
	if err != nil {
		return fmt.Errorf("drain: list nodes %s: %w", selector, err)
	}
	names := map[string]bool{}
	for _, n := range nodes.Items {
		names[n.Name] = true
		if n.Spec.Unschedulable {
			continue
		}
		patch := []byte(`{"spec":{"unschedulable":true}}`)
		if _, err := cs.CoreV1().Nodes().Patch(ctx, n.Name, "application/strategic-merge-patch+json", patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("drain: cordon node %s: %w", n.Name, err)
		}
	}
	for {
		pods, err := podsOn(ctx, cs, names)
		if err != nil {
			return err
		}
		if len(pods) == 0 {
			return nil
		}
		var blocked []string
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				blocked = append(blocked, p.Namespace+"/"+p.Name+" (terminating)")
				continue
			}
			ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
			err := cs.CoreV1().Pods(p.Namespace).EvictV1(ctx, ev)
			switch {
			case err == nil, apierrors.IsNotFound(err):
			case apierrors.IsTooManyRequests(err):
				blocked = append(blocked, fmt.Sprintf("%s/%s (%s)", p.Namespace, p.Name, reasonOf(err)))
			default:
				return fmt.Errorf("drain: evict pod %s/%s: %w", p.Namespace, p.Name, err)
			}
		}
		if len(blocked) == 0 {
			continue // evicted: look again until they are gone
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("drain nodes %s: pods still there after %s: %s; the nodes stay cordoned and the pool is kept — let the disruption budgets allow it (more replicas elsewhere), then apply again",
				selector, timeout, strings.Join(blocked, ", "))
		case <-t.C:
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// podsOn lists the pods on the named nodes that a drain evicts.
func podsOn(ctx context.Context, cs kubernetes.Interface, nodes map[string]bool) ([]corev1.Pod, error) {
	all, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("drain: list pods: %w", err)
	}
	var out []corev1.Pod
	for _, p := range all.Items {
		if !nodes[p.Spec.NodeName] || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
			continue
		}
		if slices.ContainsFunc(p.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "DaemonSet" }) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// reasonOf is the message of a refused eviction ("Cannot evict pod as it
// would violate the pod's disruption budget.").
func reasonOf(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok {
		if m := s.Status().Message; m != "" {
			return m
		}
	}
	return err.Error()
}

// RegionHealth says how a driver's resources map onto the health gate's
// checks (CheckRegion).
type RegionHealth struct {
	// ClusterType is the cluster's resource type; Refs names its outputs
	// (endpoint, CA, ID) as the driver's in-cluster resources reference
	// them (Address and Location are not used: the location is the
	// cluster's "location" input).
	ClusterType string
	Refs        ClusterRefs
	// PoolLabel is the label the cloud puts on a node pool's nodes
	// (eks.amazonaws.com/nodegroup, cloud.google.com/gke-nodepool,
	// kubernetes.azure.com/agentpool); a PoolHealth without Label selects
	// its nodes by PoolLabel = its Name.
	PoolLabel string
	// Pool says which node pool, if any, one of the region's resources is
	// and what the gate needs of it.
	Pool func(r providers.Instance) (PoolHealth, bool)
}

// pools lists the node pools to check among the region's resources.
func (rh RegionHealth) pools(resources []providers.Instance) []PoolHealth {
	var out []PoolHealth
	for _, r := range resources {
		p, ok := rh.Pool(r)
		if !ok {
			continue
		}
		if p.Label == "" {
			p.Label, p.Value = rh.PoolLabel, p.Name
		}
		out = append(out, p)
	}
	return out
}

// CheckRegion is a driver's providers.HealthChecker over this handler:
// it finds the region's cluster, connects with the handler's token source,
// and checks the pools rh lists and every LoadBalancer Service recorded
// before the apply (its ingress and cloud addresses must be kept).
func (h *Handler) CheckRegion(ctx context.Context, req providers.HealthRequest, rh RegionHealth) (providers.HealthResponse, error) {
	var cluster *providers.Instance
	for i, r := range req.Resources {
		if r.Type == rh.ClusterType {
			cluster = &req.Resources[i]
		}
	}
	if cluster == nil {
		return providers.HealthResponse{Checks: []providers.HealthCheck{{Name: "cluster", OK: false, Detail: "the region's state holds no cluster"}}}, nil
	}
	in := ClusterInputs{
		Endpoint: stringOf(cluster.Outputs[rh.Refs.Endpoint]), CA: stringOf(cluster.Outputs[rh.Refs.CA]),
		Cluster: stringOf(cluster.Outputs[rh.Refs.ID]), Location: stringOf(cluster.Inputs["location"]),
	}
	cs, err := h.client(in)
	if err != nil {
		return providers.HealthResponse{}, err
	}
	spec := HealthSpec{Pools: rh.pools(req.Resources)}
	if h.ServiceAddresses != nil {
		spec.Addresses = func(ctx context.Context, svc *corev1.Service) ([]string, error) {
			return h.ServiceAddresses(ctx, in, svc)
		}
	}
	kept := map[string]bool{}
	for _, r := range req.Resources {
		kept[r.Address] = true
	}
	for _, b := range req.Before {
		if b.Type != TypeService || !kept[b.Address] {
			continue // a Service the apply removed need not keep anything
		}
		s := ServiceHealth{Namespace: stringOf(b.Outputs["namespace"]), Name: stringOf(b.Outputs["name"])}
		for _, key := range []string{"ingress", "addresses"} {
			if l, ok := b.Outputs[key].([]any); ok {
				for _, a := range l {
					s.Addresses = append(s.Addresses, stringOf(a))
				}
			}
		}
		if s.Name != "" {
			spec.Services = append(spec.Services, s)
		}
	}
	return CheckHealth(ctx, cs, spec)
}

// stringOf is v when it is a string, else "".
func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// IntOf is v as an int when it is a number (a value read back from state
// or a plan is a float64), else 0.
func IntOf(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}
