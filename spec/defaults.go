package spec

// Default values applied by Load before validation.
const (
	DefaultZones          = 3
	DefaultEndpointAccess = EndpointPublic
	DefaultReclaimPolicy  = ReclaimDelete
	DefaultProtocol       = ProtocolTCP
	DefaultArch           = ArchAMD64
	DefaultOSFamily       = OSLinux
	DefaultOSImage        = ImageDefault
)

// Default fills the fields a user may leave out: zones 3, endpointAccess
// public, machine arch amd64, reclaimPolicy Delete, port protocol TCP,
// targetPort equal to port, and empty (non-nil) label and selector maps. It
// is idempotent and never overrides a value that was written.
func (r *Region) Default() {
	if r.Metadata.Labels == nil {
		r.Metadata.Labels = map[string]string{}
	}
	s := &r.Spec
	if s.Zones == 0 {
		s.Zones = DefaultZones
	}
	if s.Cluster.EndpointAccess == "" {
		s.Cluster.EndpointAccess = DefaultEndpointAccess
	}
	for i := range s.Cluster.NodePools {
		p := &s.Cluster.NodePools[i]
		if p.Machine.Arch == "" {
			p.Machine.Arch = DefaultArch
		}
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		if p.OS.Family == "" {
			p.OS.Family = DefaultOSFamily
		}
		if p.OS.Image == "" {
			p.OS.Image = DefaultOSImage
		}
	}
	for i := range s.StorageClasses {
		if s.StorageClasses[i].ReclaimPolicy == "" {
			s.StorageClasses[i].ReclaimPolicy = DefaultReclaimPolicy
		}
	}
	for i := range s.LoadBalancers {
		lb := &s.LoadBalancers[i]
		if lb.Selector == nil {
			lb.Selector = map[string]string{}
		}
		for j := range lb.Ports {
			p := &lb.Ports[j]
			if p.Protocol == "" {
				p.Protocol = DefaultProtocol
			}
			if p.TargetPort == 0 {
				p.TargetPort = p.Port
			}
		}
	}
}
