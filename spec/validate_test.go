package spec

import (
	"strings"
	"testing"
)

// validRegion is a defaulted region with no problems.
func validRegion() *Region {
	r := &Region{
		APIVersion: APIVersion,
		Kind:       KindRegion,
		Metadata:   Metadata{Name: "prod-us-east", Labels: map[string]string{"team": "platform", "app.kubernetes.io/part-of": "shop"}},
		Spec: RegionSpec{
			Provider: "aws",
			Location: "us-east-1",
			Network:  Network{CIDR: "10.20.0.0/16"},
			Cluster: Cluster{
				KubernetesVersion: "1.33",
				NodePools: []NodePool{
					{Name: "system", Machine: Machine{CPU: 4, MemoryGiB: 16}, Min: 1, Max: 3, Taints: []string{"CriticalAddonsOnly=true:NoSchedule", "gpu:NoExecute"}},
					{Name: "ingest", Machine: Machine{CPU: 8, MemoryGiB: 32, Arch: ArchARM64}, Min: 0, Max: 10, Labels: map[string]string{"workload": "ingest"}},
				},
			},
			StorageClasses: []StorageClass{{Name: "fast", Tier: TierSSD, Default: true}, {Name: "bulk", Tier: TierStandard}},
			LoadBalancers: []LoadBalancer{{Name: "api", Scheme: SchemeExternal,
				Ports:    []Port{{Port: 443, TargetPort: 8443}, {Port: 53, Protocol: ProtocolUDP}, {Port: 53}},
				Selector: map[string]string{"app": "gateway"}}},
		},
	}
	r.Default()
	return r
}

func TestValidateValid(t *testing.T) {
	if ds := Validate([]*Region{validRegion()}); len(ds) != 0 {
		t.Fatalf("valid region has diagnostics:\n%s", ds)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(r *Region)
		wantPath string
		want     string // substring of summary
		wantFix  string // substring of fix; "" to not check
	}{
		{"apiVersion", func(r *Region) { r.APIVersion = "v1" }, "apiVersion", `unsupported apiVersion "v1"`, "regionctl.dev/v1alpha1"},
		{"kind", func(r *Region) { r.Kind = "Cluster" }, "kind", "unsupported kind", "kind: Region"},
		{"name empty", func(r *Region) { r.Metadata.Name = "" }, "metadata.name", "must not be empty", ""},
		{"name upper", func(r *Region) { r.Metadata.Name = "Prod.US" }, "metadata.name", "DNS-1123", `use "prod-us"`},
		{"name long", func(r *Region) { r.Metadata.Name = strings.Repeat("a", 64) }, "metadata.name", "64 characters long", ""},
		{"label key", func(r *Region) { r.Metadata.Labels["-x"] = "y" }, "metadata.labels.-x", "label key name", ""},
		{"label prefix", func(r *Region) { r.Metadata.Labels["Foo.com/x"] = "y" }, `metadata.labels["Foo.com/x"]`, "prefix", ""},
		{"label value", func(r *Region) { r.Metadata.Labels["x"] = "a b" }, "metadata.labels.x", "label value", ""},
		{"provider", func(r *Region) { r.Spec.Provider = "" }, "spec.provider", "must not be empty", "provider: aws"},
		{"location", func(r *Region) { r.Spec.Location = "" }, "spec.location", "must not be empty", ""},
		{"zones high", func(r *Region) { r.Spec.Zones = 7 }, "spec.zones", "7 zones requested", "1 to 6"},
		{"zones negative", func(r *Region) { r.Spec.Zones = -1 }, "spec.zones", "-1 zones", ""},
		{"cidr garbage", func(r *Region) { r.Spec.Network.CIDR = "10.0.0.0" }, "spec.network.cidr", "not a valid CIDR", ""},
		{"cidr ipv6", func(r *Region) { r.Spec.Network.CIDR = "fd00::/48" }, "spec.network.cidr", "not IPv4", ""},
		{"cidr big", func(r *Region) { r.Spec.Network.CIDR = "10.0.0.0/7" }, "spec.network.cidr", "/7 is too large", "/8 and /24"},
		{"cidr small", func(r *Region) { r.Spec.Network.CIDR = "10.0.0.0/25" }, "spec.network.cidr", "/25 is too small", ""},
		{"cidr host bits", func(r *Region) { r.Spec.Network.CIDR = "10.20.3.0/16" }, "spec.network.cidr", "host bits", "write 10.20.0.0/16"},
		{"version patch", func(r *Region) { r.Spec.Cluster.KubernetesVersion = "1.33.2" }, "spec.cluster.kubernetesVersion", "not a Kubernetes minor", `"1.33"`},
		{"version v", func(r *Region) { r.Spec.Cluster.KubernetesVersion = "v1.32" }, "spec.cluster.kubernetesVersion", "not a Kubernetes minor", `"1.32" without the v`},
		{"version junk", func(r *Region) { r.Spec.Cluster.KubernetesVersion = "latest" }, "spec.cluster.kubernetesVersion", "not a Kubernetes minor", "like"},
		{"endpoint", func(r *Region) { r.Spec.Cluster.EndpointAccess = "Private" }, "spec.cluster.endpointAccess", "not a valid value", `did you mean "private"`},
		{"no pools", func(r *Region) { r.Spec.Cluster.NodePools = nil }, "spec.cluster.nodePools", "at least one node pool", ""},
		{"pool name", func(r *Region) { r.Spec.Cluster.NodePools[1].Name = "in_gest" }, "spec.cluster.nodePools[1].name", "DNS-1123", `use "in-gest"`},
		{"pool dup", func(r *Region) { r.Spec.Cluster.NodePools[1].Name = "system" }, "spec.cluster.nodePools[1].name", "already used by spec.cluster.nodePools[0]", ""},
		{"min negative", func(r *Region) { r.Spec.Cluster.NodePools[0].Min = -1 }, "spec.cluster.nodePools[0].min", "cannot be negative", ""},
		{"max zero", func(r *Region) { r.Spec.Cluster.NodePools[0].Max = 0; r.Spec.Cluster.NodePools[0].Min = 0 }, "spec.cluster.nodePools[0].max", "at least one node", ""},
		{"min over max", func(r *Region) { r.Spec.Cluster.NodePools[0].Min = 5 }, "spec.cluster.nodePools[0].min", "min (5) is greater than max (3)", ""},
		{"cpu", func(r *Region) { r.Spec.Cluster.NodePools[0].Machine.CPU = 0 }, "spec.cluster.nodePools[0].machine.cpu", "at least 1", ""},
		{"memory", func(r *Region) { r.Spec.Cluster.NodePools[0].Machine.MemoryGiB = 0 }, "spec.cluster.nodePools[0].machine.memoryGiB", "at least 1", ""},
		{"arch", func(r *Region) { r.Spec.Cluster.NodePools[0].Machine.Arch = "x86_64" }, "spec.cluster.nodePools[0].machine.arch", "not a valid value", `use one of "amd64", "arm64"`},
		{"arch typo", func(r *Region) { r.Spec.Cluster.NodePools[0].Machine.Arch = "amd46" }, "spec.cluster.nodePools[0].machine.arch", "not a valid value", `did you mean "amd64"`},
		{"gpu", func(r *Region) { r.Spec.Cluster.NodePools[0].Machine.GPU = -2 }, "spec.cluster.nodePools[0].machine.gpu", "cannot be negative", ""},
		{"access empty", func(r *Region) { r.Spec.Access.Admins = []string{""} }, "spec.access.admins[0]", "must not be empty", "arn:aws:iam::"},
		{"access spaces", func(r *Region) { r.Spec.Access.Viewers = []string{" group:ops@example.com"} }, "spec.access.viewers[0]", "surrounding spaces", `write "group:ops@example.com"`},
		{"access admin and viewer", func(r *Region) {
			r.Spec.Access = Access{Admins: []string{"arn:aws:iam::111122223333:role/ops"}, Viewers: []string{"arn:aws:iam::111122223333:role/ops"}}
		}, "spec.access.viewers[0]", "already listed at spec.access.admins[0]", "an admin can read everything"},
		{"disk small", func(r *Region) { r.Spec.Cluster.NodePools[1].Disk.SizeGiB = 5 }, "spec.cluster.nodePools[1].disk.sizeGiB", "sizeGiB is 5", "10 to 16384 GiB"},
		{"disk tier", func(r *Region) { r.Spec.Cluster.NodePools[1].Disk.Tier = "SSD" }, "spec.cluster.nodePools[1].disk.tier", "not a valid value", `did you mean "ssd"`},
		{"max pods", func(r *Region) { r.Spec.Cluster.NodePools[1].MaxPods = 500 }, "spec.cluster.nodePools[1].maxPods", "maxPods is 500", "8 to 250"},
		{"os family", func(r *Region) { r.Spec.Cluster.NodePools[1].OS.Family = "windwos" }, "spec.cluster.nodePools[1].os.family", "not a valid value", `did you mean "windows"`},
		{"windows ubuntu", func(r *Region) { r.Spec.Cluster.NodePools[1].OS = OS{Family: OSWindows, Image: ImageUbuntu} }, "spec.cluster.nodePools[1].os.image", "Linux image", ""},
		{"windows first", func(r *Region) { r.Spec.Cluster.NodePools[0].OS.Family = OSWindows }, "spec.cluster.nodePools[0].os.family", "first node pool must run Linux", "Linux pool first"},
		{"taint effect", func(r *Region) { r.Spec.Cluster.NodePools[0].Taints[1] = "gpu:noexecute" }, "spec.cluster.nodePools[0].taints[1]", "unknown effect", `did you mean "NoExecute"`},
		{"taint no effect", func(r *Region) { r.Spec.Cluster.NodePools[0].Taints[0] = "a=b" }, "spec.cluster.nodePools[0].taints[0]", "has no effect", ""},
		{"taint key", func(r *Region) { r.Spec.Cluster.NodePools[0].Taints[0] = "=b:NoSchedule" }, "spec.cluster.nodePools[0].taints[0]", "label key must not be empty", ""},
		{"pool label", func(r *Region) { r.Spec.Cluster.NodePools[1].Labels["a/b/c"] = "x" }, `spec.cluster.nodePools[1].labels["a/b/c"]`, "more than one '/'", ""},
		{"sc name dup", func(r *Region) { r.Spec.StorageClasses[1].Name = "fast" }, "spec.storageClasses[1].name", "already used", ""},
		{"sc two defaults", func(r *Region) { r.Spec.StorageClasses[1].Default = true }, "spec.storageClasses[1].default", `"fast"`, "only one"},
		{"sc tier", func(r *Region) { r.Spec.StorageClasses[0].Tier = "SSD" }, "spec.storageClasses[0].tier", "not a valid value", `did you mean "ssd"`},
		{"sc reclaim", func(r *Region) { r.Spec.StorageClasses[0].ReclaimPolicy = "retain" }, "spec.storageClasses[0].reclaimPolicy", "not a valid value", `did you mean "Retain"`},
		{"lb name", func(r *Region) { r.Spec.LoadBalancers[0].Name = "" }, "spec.loadBalancers[0].name", "must not be empty", ""},
		{"lb scheme", func(r *Region) { r.Spec.LoadBalancers[0].Scheme = "public" }, "spec.loadBalancers[0].scheme", "not a valid value", `use one of "external", "internal"`},
		{"lb no ports", func(r *Region) { r.Spec.LoadBalancers[0].Ports = nil }, "spec.loadBalancers[0].ports", "at least one port", ""},
		{"lb port range", func(r *Region) { r.Spec.LoadBalancers[0].Ports[0].Port = 0 }, "spec.loadBalancers[0].ports[0].port", "out of range", ""},
		{"lb target range", func(r *Region) { r.Spec.LoadBalancers[0].Ports[0].TargetPort = 65536 }, "spec.loadBalancers[0].ports[0].targetPort", "out of range", ""},
		{"lb protocol", func(r *Region) { r.Spec.LoadBalancers[0].Ports[0].Protocol = "HTTP" }, "spec.loadBalancers[0].ports[0].protocol", "not a valid value", ""},
		{"lb port dup", func(r *Region) { r.Spec.LoadBalancers[0].Ports[2].Protocol = ProtocolUDP }, "spec.loadBalancers[0].ports[2].port", "UDP port 53 is already listed at spec.loadBalancers[0].ports[1]", ""},
		{"lb selector", func(r *Region) { r.Spec.LoadBalancers[0].Selector = nil }, "spec.loadBalancers[0].selector", "must not be empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRegion()
			tt.mutate(r)
			ds := Validate([]*Region{r})
			if len(ds) != 1 {
				t.Fatalf("want exactly one diagnostic, got %d:\n%s", len(ds), ds)
			}
			d := ds[0]
			if d.Path != tt.wantPath || !strings.Contains(d.Summary, tt.want) || !strings.Contains(d.Fix, tt.wantFix) {
				t.Errorf("got %s\nwant path %q, summary containing %q, fix containing %q", d, tt.wantPath, tt.want, tt.wantFix)
			}
		})
	}
}

func TestValidateSkipsUndecodedPaths(t *testing.T) {
	r := validRegion()
	r.Spec.Cluster.NodePools[0].Machine = Machine{Arch: ArchAMD64} // as if "machine: 4" failed to decode
	r.Source = &SourceMap{File: "x.yaml", Invalid: map[string]bool{"spec.cluster.nodePools[0].machine": true}}
	if ds := Validate([]*Region{r}); len(ds) != 0 {
		t.Errorf("want no diagnostics under an undecoded path, got:\n%s", ds)
	}
}

func TestDidYouMean(t *testing.T) {
	candidates := []string{"nodePools", "kubernetesVersion", "endpointAccess"}
	tests := []struct {
		got, want string
		ok        bool
	}{
		{"nodepools", "nodePools", true},
		{"nodePool", "nodePools", true},
		{"kubernetesVerison", "kubernetesVersion", true},
		{"endpoint", "", false},
		{"zzz", "", false},
		{"nodePools", "", false}, // exact match is no suggestion
	}
	for _, tt := range tests {
		got, ok := DidYouMean(tt.got, candidates)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DidYouMean(%q) = %q, %v; want %q, %v", tt.got, got, ok, tt.want, tt.ok)
		}
	}
}
