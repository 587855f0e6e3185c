package kubernetes

// The values of the two in-cluster resource types, as kit structs: their
// tags are the types' schemas (see providers/kit).

// ClusterInputs are the inputs every in-cluster resource has: which
// cluster it lives in. Endpoint and CA come from references to the
// cluster resource's outputs; Cluster is the cluster's ID (EKS needs its
// name for the token); Location is the cluster's cloud region.
type ClusterInputs struct {
	Endpoint string `kit:"cluster_endpoint,replace" why:"an object in another cluster is another object"`
	CA       string `kit:"cluster_ca"`
	Cluster  string `kit:"cluster,replace" why:"an object in another cluster is another object"`
	Location string `kit:"location"`
}

// StorageClassInputs are the inputs of a kubernetes_storage_class.
type StorageClassInputs struct {
	ClusterInputs
	Name                 string            `kit:"name,replace" why:"a StorageClass is known by its name"`
	Provisioner          string            `kit:"provisioner,replace" why:"Kubernetes refuses to change a StorageClass's provisioner"`
	Parameters           map[string]string `kit:"parameters,replace" why:"Kubernetes refuses to change a StorageClass's parameters"`
	ReclaimPolicy        string            `kit:"reclaim_policy,replace" why:"Kubernetes refuses to change a StorageClass's reclaim policy"`
	VolumeBindingMode    string            `kit:"volume_binding_mode,replace" why:"Kubernetes refuses to change a StorageClass's binding mode"`
	AllowVolumeExpansion bool              `kit:"allow_volume_expansion"`
	Default              bool              `kit:"default"`
}

// StorageClassOutputs are the outputs of a kubernetes_storage_class.
type StorageClassOutputs struct {
	ID   string `kit:"id"`
	Name string `kit:"name"`
}

// ServiceInputs are the inputs of a kubernetes_service.
type ServiceInputs struct {
	ClusterInputs
	Name      string `kit:"name,replace" why:"a Service is known by its namespace and name"`
	Namespace string `kit:"namespace,replace" why:"a Service is known by its namespace and name"`
	// Annotations regionctl sets; Read reports only these keys, so another
	// controller's annotations are never drift.
	Annotations map[string]string `kit:"annotations"`
	// AnnotationLists are annotations applied as comma-joined lists.
	AnnotationLists map[string][]string `kit:"annotation_lists"`
	Ports           []ServicePort       `kit:"ports"`
	Selector        map[string]string   `kit:"selector"`
	// LoadBalancerIP is the reserved address to bind, or "".
	LoadBalancerIP string `kit:"load_balancer_ip"`
	// Type is set by Read only, for a Service that is no longer of type
	// LoadBalancer (regionctl never sets it, so it shows as drift).
	Type *string `kit:"type,omitempty"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name string `kit:"name"`
	Port int    `kit:"port"`
	// TargetPort is a number, or the name of a container port as a Read
	// may report it.
	TargetPort any    `kit:"target_port"`
	Protocol   string `kit:"protocol"`
}

// ServiceOutputs are the outputs of a kubernetes_service.
type ServiceOutputs struct {
	ID        string `kit:"id"`
	Name      string `kit:"name"`
	Namespace string `kit:"namespace"`
	// Ingress are the load balancer's IPs and host names.
	Ingress []string `kit:"ingress"`
	// Addresses are the cloud addresses bound to the Service (the
	// Handler's ServiceAddresses); absent without that hook.
	Addresses *[]string `kit:"addresses,omitempty"`
}
