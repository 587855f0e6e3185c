package kubernetes

import (
	"slices"
	"strconv"
	"strings"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// StorageClass is what a driver maps a spec storage class onto.
type StorageClass struct {
	Name        string
	Provisioner string
	Parameters  map[string]string
	// ReclaimPolicy is Delete or Retain.
	ReclaimPolicy        string
	AllowVolumeExpansion bool
	// VolumeBindingMode is WaitForFirstConsumer for every cloud's disks.
	VolumeBindingMode string
	// Default marks the class as the cluster's default; the cloud's own
	// default class loses its mark when one is applied.
	Default bool
}

// StorageClassForceNew are the inputs a StorageClass cannot change in
// place: Kubernetes refuses updates to its provisioner, parameters, reclaim
// policy and binding mode, so a change replaces the class (the plan says
// which key). A class in another cluster is another class.
var StorageClassForceNew = []string{InEndpoint, InCluster, "name", "provisioner", "parameters", "reclaim_policy", "volume_binding_mode"}

// StorageClassResource is the resource of one StorageClass in the cluster
// named by cluster, at REGION/kubernetes_storage_class.NAME.
func StorageClassResource(region string, cluster ClusterRefs, sc StorageClass, dependsOn ...string) providers.Resource {
	in := cluster.inputs()
	in["name"] = sc.Name
	in["provisioner"] = sc.Provisioner
	in["parameters"] = anyMap(sc.Parameters)
	in["reclaim_policy"] = sc.ReclaimPolicy
	in["volume_binding_mode"] = sc.VolumeBindingMode
	in["allow_volume_expansion"] = sc.AllowVolumeExpansion
	in["default"] = sc.Default
	return providers.Resource{
		Address:   providers.Address(region, TypeStorageClass, sc.Name),
		Type:      TypeStorageClass,
		Element:   spec.StorageClassElement(sc.Name),
		Inputs:    in,
		DependsOn: slices.Clone(dependsOn),
		ForceNew:  slices.Clone(StorageClassForceNew),
	}
}

// Service is what a driver maps a spec load balancer onto: a Service of
// type LoadBalancer.
type Service struct {
	Name      string
	Namespace string
	// Annotations carry the cloud's load-balancer settings (scheme,
	// address binding). Values may be references (e.g. EIP allocation ids
	// in a list under AnnotationLists).
	Annotations map[string]string
	// AnnotationLists are annotations whose value is a comma-joined list
	// of values known only at apply time (references), e.g. AWS's
	// aws-load-balancer-eip-allocations.
	AnnotationLists map[string][]any
	Ports           []Port
	Selector        map[string]string
	// LoadBalancerIP is the reserved address (GCP); "" for none. May be a
	// reference.
	LoadBalancerIP any
}

// Port is one Service port.
type Port struct {
	Name       string
	Port       int
	TargetPort int
	Protocol   string
}

// ServiceForceNew are the inputs whose change replaces a Service.
var ServiceForceNew = []string{InEndpoint, InCluster, "name", "namespace"}

// ServiceResource is the resource of one LoadBalancer Service, at
// REGION/kubernetes_service.NAME.
func ServiceResource(region string, cluster ClusterRefs, svc Service, dependsOn ...string) providers.Resource {
	in := cluster.inputs()
	ns := svc.Namespace
	if ns == "" {
		ns = "default"
	}
	in["name"] = svc.Name
	in["namespace"] = ns
	in["annotations"] = anyMap(svc.Annotations)
	lists := map[string]any{}
	for k, v := range svc.AnnotationLists {
		lists[k] = slices.Clone(v)
	}
	in["annotation_lists"] = lists
	ports := make([]any, len(svc.Ports))
	for i, p := range svc.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		target := p.TargetPort
		if target == 0 {
			target = p.Port
		}
		ports[i] = map[string]any{"name": portName(p, proto), "port": p.Port, "target_port": target, "protocol": proto}
	}
	in["ports"] = ports
	in["selector"] = anyMap(svc.Selector)
	lbIP := svc.LoadBalancerIP
	if lbIP == nil {
		lbIP = ""
	}
	in["load_balancer_ip"] = lbIP
	return providers.Resource{
		Address:   providers.Address(region, TypeService, svc.Name),
		Type:      TypeService,
		Element:   spec.LoadBalancerElement(svc.Name),
		Inputs:    in,
		DependsOn: slices.Clone(dependsOn),
		ForceNew:  slices.Clone(ServiceForceNew),
	}
}

// portName is the name of a Service port when the spec gives none:
// "tcp-80" (Kubernetes requires names when a Service has several ports).
func portName(p Port, proto string) string {
	if p.Name != "" {
		return p.Name
	}
	return strings.ToLower(proto) + "-" + strconv.Itoa(p.Port)
}

// StorageClassFor maps a spec storage class onto a StorageClass with the
// cloud's CSI provisioner and parameters for its tier: reclaim policy
// Delete unless the spec says Retain, and volumes bound where the first
// pod is scheduled (WaitForFirstConsumer), as every cloud's zonal disks
// need.
func StorageClassFor(sc spec.StorageClass, provisioner string, params map[string]string) StorageClass {
	rp := sc.ReclaimPolicy
	if rp == "" {
		rp = "Delete"
	}
	return StorageClass{
		Name: sc.Name, Provisioner: provisioner, Parameters: params,
		ReclaimPolicy: rp, VolumeBindingMode: "WaitForFirstConsumer",
		AllowVolumeExpansion: sc.Expandable, Default: sc.Default,
	}
}

// ServiceFor maps a spec load balancer onto a Service — name, selector and
// ports — with empty annotations the driver fills with its cloud's.
func ServiceFor(lb spec.LoadBalancer) Service {
	svc := Service{Name: lb.Name, Selector: lb.Selector, Annotations: map[string]string{}, AnnotationLists: map[string][]any{}}
	for _, p := range lb.Ports {
		svc.Ports = append(svc.Ports, Port{Port: p.Port, TargetPort: p.TargetPort, Protocol: p.Protocol})
	}
	return svc
}
