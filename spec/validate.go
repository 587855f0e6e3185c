package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/regionctl/regionctl/diag"
)

var (
	dns1123Label      = regexp.MustCompile(dns1123LabelPattern)
	kubernetesVersion = regexp.MustCompile(kubernetesVersionPattern)
	patchVersion      = regexp.MustCompile(`^v?(1\.[0-9]+)\.[0-9]+`)
	labelName         = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	labelValue        = regexp.MustCompile(labelValuePattern)
	dns1123Subdomain  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// Validate checks what can be checked without a driver, for every region
// and across them (region names must be unique), and returns every problem
// found, sorted. Paths that failed to decode (SourceMap.Invalid) are not
// checked again. Regions are expected to be defaulted (Region.Default).
func Validate(regions []*Region) diag.Diagnostics {
	var ds diag.Diagnostics
	seen := map[string]*Region{}
	for _, r := range regions {
		if r == nil {
			continue
		}
		v := &validator{r: r}
		v.region()
		ds = append(ds, v.ds...)
		name := r.Metadata.Name
		if name == "" || r.Source.skip("metadata.name") {
			continue
		}
		if first, dup := seen[name]; dup {
			ds = append(ds, diag.Diagnostic{
				Severity: diag.Error,
				Pos:      r.Pos("metadata.name"),
				Path:     "metadata.name",
				Summary:  fmt.Sprintf("region %q is defined twice; it is also defined at %s", name, first.Pos("metadata.name")),
				Fix:      "region names must be unique across all loaded files: rename one of them",
			})
			continue
		}
		seen[name] = r
	}
	ds.Sort()
	return ds
}

// validator collects the diagnostics of one region.
type validator struct {
	r  *Region
	ds diag.Diagnostics
}

func (v *validator) add(path, fix, detail, format string, args ...any) {
	if v.r.Source.skip(path) {
		return
	}
	v.ds = append(v.ds, diag.Diagnostic{
		Severity: diag.Error,
		Pos:      v.r.Pos(path),
		Path:     path,
		Summary:  fmt.Sprintf(format, args...),
		Detail:   detail,
		Fix:      fix,
	})
}

func (v *validator) errf(path, fix, format string, args ...any) {
	v.add(path, fix, "", format, args...)
}

// required reports an empty string that must be set.
func (v *validator) required(path, value, fix string) bool {
	if value == "" {
		v.errf(path, fix, "must not be empty")
		return false
	}
	return true
}

// enum checks that value is one of allowed.
func (v *validator) enum(path, value string, allowed []string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.errf(path, enumFix(value, allowed), "%q is not a valid value", value)
}

// name checks a DNS-1123 label.
func (v *validator) name(path, value, what string) {
	if !v.required(path, value, "give the "+what+" a name: lowercase letters, digits and '-'") {
		return
	}
	if problem, fix := checkDNSLabel(value); problem != "" {
		v.errf(path, fix, "%s name %q %s", what, truncate(value, 80), problem)
	}
}

// checkDNSLabel says what is wrong with s as a DNS-1123 label, and a fix.
func checkDNSLabel(s string) (problem, fix string) {
	if len(s) > MaxNameLen {
		return fmt.Sprintf("is %d characters long; the limit is %d", len(s), MaxNameLen), "shorten it"
	}
	if dns1123Label.MatchString(s) {
		return "", ""
	}
	problem = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"
	if c := sanitizeName(s); c != "" && c != s {
		fix = fmt.Sprintf("use %q", c)
	}
	return problem, fix
}

// sanitizeName makes a plausible DNS-1123 label out of s, or "".
func sanitizeName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	for strings.Contains(out, "--") {
		out = strings.ReplaceAll(out, "--", "-")
	}
	if len(out) > MaxNameLen {
		out = strings.TrimRight(out[:MaxNameLen], "-")
	}
	if !dns1123Label.MatchString(out) {
		return ""
	}
	return out
}

// checkLabelKey says what is wrong with k as a Kubernetes label key.
func checkLabelKey(k string) string {
	if k == "" {
		return "label key must not be empty"
	}
	if strings.Count(k, "/") > 1 {
		return fmt.Sprintf("label key %q has more than one '/'", truncate(k, 80))
	}
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name = prefix
	} else if prefix == "" || len(prefix) > MaxPrefixLen || !dns1123Subdomain.MatchString(prefix) {
		return fmt.Sprintf("label key prefix %q must be a DNS subdomain (lowercase, '.', '-'; at most %d characters)", truncate(prefix, 80), MaxPrefixLen)
	}
	if name == "" || len(name) > MaxLabelLen || !labelName.MatchString(name) {
		return fmt.Sprintf("label key name %q must be 1-%d characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit", truncate(name, 80), MaxLabelLen)
	}
	return ""
}

// checkLabelValue says what is wrong with s as a Kubernetes label value.
func checkLabelValue(s string) string {
	if len(s) > MaxLabelLen || !labelValue.MatchString(s) {
		return fmt.Sprintf("label value %q must be at most %d characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit", truncate(s, 80), MaxLabelLen)
	}
	return ""
}

// labels checks a map of labels (or a selector) at path.
func (v *validator) labels(path string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		kp := joinKey(path, k)
		if p := checkLabelKey(k); p != "" {
			v.errf(kp, "", "%s", p)
		}
		if p := checkLabelValue(m[k]); p != "" {
			v.errf(kp, "", "%s", p)
		}
	}
}

func (v *validator) region() {
	r := v.r
	if r.APIVersion != APIVersion && !r.Source.skip("apiVersion") {
		v.errf("apiVersion", fmt.Sprintf("write apiVersion: %s", APIVersion), "unsupported apiVersion %q", r.APIVersion)
	}
	if r.Kind != KindRegion && !r.Source.skip("kind") {
		v.errf("kind", fmt.Sprintf("write kind: %s", KindRegion), "unsupported kind %q; regionctl reads Region documents", r.Kind)
	}
	v.name("metadata.name", r.Metadata.Name, "region")
	v.labels("metadata.labels", r.Metadata.Labels)

	s := &r.Spec
	v.required("spec.provider", s.Provider, "set the driver name, e.g. provider: aws")
	v.required("spec.location", s.Location, "set the cloud's region name, e.g. location: us-east-1")
	if s.Zones < MinZones || s.Zones > MaxZones {
		v.errf("spec.zones", fmt.Sprintf("use %d to %d zones (or leave it out for %d)", MinZones, MaxZones, DefaultZones),
			"%d zones requested; a region spans %d to %d", s.Zones, MinZones, MaxZones)
	}
	v.cidr("spec.network.cidr", s.Network.CIDR)
	v.cluster(&s.Cluster)
	v.storageClasses(s.StorageClasses)
	v.loadBalancers(s.LoadBalancers)
	v.imports(s.Import)
}

// imports checks the import blocks: each names an element or address of
// the region and a cloud ID, and neither is named twice.
func (v *validator) imports(ims []Import) {
	const list = "spec.import"
	tos, ids := map[string]int{}, map[string]int{}
	for i, im := range ims {
		p := joinIndex(list, i)
		if v.r.Source.skip(p) {
			continue
		}
		if problem, fix := v.r.CheckTarget(im.To); problem != "" {
			v.errf(p+".to", fix, "%s", problem)
		} else {
			to := strings.TrimPrefix(im.To, v.r.Metadata.Name+"/")
			if first, dup := tos[to]; dup {
				v.errf(p+".to", "import one object to each place: remove one of the blocks",
					"%q is already imported to by %s (%s)", im.To, joinIndex(list, first), v.r.Pos(joinIndex(list, first)+".to"))
			} else {
				tos[to] = i
			}
		}
		if !v.required(p+".id", im.ID, "give the cloud's ID of the object, e.g. id: vpc-0abc123 (see docs/spec.md#import)") {
			continue
		}
		if strings.TrimSpace(im.ID) != im.ID {
			v.errf(p+".id", fmt.Sprintf("write %q", strings.TrimSpace(im.ID)), "id %q has leading or trailing spaces", im.ID)
		}
		if first, dup := ids[im.ID]; dup {
			v.errf(p+".id", "one cloud object can be managed at one place only: remove one of the blocks",
				"id %q is already imported by %s (%s)", im.ID, joinIndex(list, first), v.r.Pos(joinIndex(list, first)+".id"))
		} else {
			ids[im.ID] = i
		}
	}
}

func (v *validator) cidr(path, value string) {
	if !v.required(path, value, "set the network's IPv4 range, e.g. cidr: 10.20.0.0/16") {
		return
	}
	p, err := netip.ParsePrefix(value)
	if err != nil {
		v.errf(path, "write an IPv4 range like 10.20.0.0/16", "%q is not a valid CIDR", truncate(value, 80))
		return
	}
	if !p.Addr().Is4() {
		v.errf(path, "write an IPv4 range like 10.20.0.0/16", "%q is not IPv4; the network range must be IPv4", value)
		return
	}
	switch bits := p.Bits(); {
	case bits < MinCIDRBits:
		v.add(path, fmt.Sprintf("use a prefix between /%d and /%d, e.g. /16", MinCIDRBits, MaxCIDRBits),
			"no private range is larger than 10.0.0.0/8, and clouds refuse networks that large",
			"/%d is too large a network", bits)
	case bits > MaxCIDRBits:
		v.add(path, fmt.Sprintf("use a prefix between /%d and /%d, e.g. /16", MinCIDRBits, MaxCIDRBits),
			fmt.Sprintf("the network is split into a public and a private subnet per zone (up to %d zones), which needs at least a /%d", MaxZones, MaxCIDRBits),
			"/%d is too small a network", bits)
	}
	if m := p.Masked(); m != p {
		v.errf(path, fmt.Sprintf("write %s", m), "%s has host bits set", value)
	}
}

func (v *validator) cluster(c *Cluster) {
	const path = "spec.cluster"
	kv := c.KubernetesVersion
	if v.required(path+".kubernetesVersion", kv, `write the minor version, quoted: kubernetesVersion: "1.33"`) && !kubernetesVersion.MatchString(kv) {
		fix := `write a minor version like "1.33"`
		if m := patchVersion.FindStringSubmatch(kv); m != nil {
			fix = fmt.Sprintf("write the minor %q; the driver picks the patch release", m[1])
		} else if strings.HasPrefix(kv, "v") && kubernetesVersion.MatchString(kv[1:]) {
			fix = fmt.Sprintf("write %q without the v", kv[1:])
		}
		v.errf(path+".kubernetesVersion", fix, "%q is not a Kubernetes minor version", truncate(kv, 40))
	}
	v.enum(path+".endpointAccess", c.EndpointAccess, EndpointAccessValues)
	if len(c.NodePools) == 0 {
		v.errf(path+".nodePools", "add a node pool with a name, machine, min and max", "a cluster needs at least one node pool")
	}
	names := map[string]int{}
	for i := range c.NodePools {
		p := &c.NodePools[i]
		pp := joinIndex(path+".nodePools", i)
		v.name(pp+".name", p.Name, "node pool")
		v.unique(names, pp+".name", p.Name, "node pool", path+".nodePools", i)
		v.machine(pp+".machine", p.Machine)
		if p.Min < 0 {
			v.errf(pp+".min", "use 0 or more", "min is %d; it cannot be negative", p.Min)
		}
		if p.Max < 1 {
			v.errf(pp+".max", "use 1 or more", "max is %d; a pool needs room for at least one node", p.Max)
		}
		if p.Min >= 0 && p.Max >= 1 && p.Min > p.Max && !v.r.Source.skip(pp+".max") {
			v.errf(pp+".min", fmt.Sprintf("lower min to at most %d or raise max to at least %d", p.Max, p.Min),
				"min (%d) is greater than max (%d)", p.Min, p.Max)
		}
		v.labels(pp+".labels", p.Labels)
		for j, t := range p.Taints {
			tp := joinIndex(pp+".taints", j)
			if problem, fix := checkTaint(t); problem != "" {
				v.errf(tp, fix, "%s", problem)
			}
		}
	}
}

// unique reports a name already used by an earlier item of the same kind.
func (v *validator) unique(seen map[string]int, path, name, what, listPath string, i int) {
	if name == "" {
		return
	}
	if j, dup := seen[name]; dup {
		first := joinIndex(listPath, j)
		v.errf(path, "rename one of them", "%s name %q is already used by %s (%s)", what, name, first, v.r.Pos(first+".name"))
		return
	}
	seen[name] = i
}

func (v *validator) machine(path string, m Machine) {
	if m.CPU < 1 {
		v.errf(path+".cpu", "ask for at least 1 CPU", "cpu is %d; a machine needs at least 1", m.CPU)
	}
	if m.MemoryGiB < 1 {
		v.errf(path+".memoryGiB", "ask for at least 1 GiB", "memoryGiB is %d; a machine needs at least 1", m.MemoryGiB)
	}
	v.enum(path+".arch", m.Arch, ArchValues)
	if m.GPU < 0 {
		v.errf(path+".gpu", "use 0 for no GPU", "gpu is %d; it cannot be negative", m.GPU)
	}
}

// checkTaint parses "key[=value]:Effect" and says what is wrong.
func checkTaint(t string) (problem, fix string) {
	i := strings.LastIndex(t, ":")
	if i < 0 {
		return fmt.Sprintf("taint %q has no effect", truncate(t, 80)),
			fmt.Sprintf("write key[=value]:Effect with Effect one of %s, e.g. %q", quoteList(TaintEffectValues), t+":NoSchedule")
	}
	kv, effect := t[:i], t[i+1:]
	key, value, _ := strings.Cut(kv, "=")
	if p := checkLabelKey(key); p != "" {
		return fmt.Sprintf("taint %q: %s", truncate(t, 80), p), "write key[=value]:Effect"
	}
	if p := checkLabelValue(value); p != "" {
		return fmt.Sprintf("taint %q: %s", truncate(t, 80), p), "write key[=value]:Effect"
	}
	for _, e := range TaintEffectValues {
		if effect == e {
			return "", ""
		}
	}
	return fmt.Sprintf("taint %q has unknown effect %q", truncate(t, 80), truncate(effect, 40)), enumFix(effect, TaintEffectValues)
}

func (v *validator) storageClasses(scs []StorageClass) {
	const list = "spec.storageClasses"
	names := map[string]int{}
	firstDefault := -1
	for i := range scs {
		sc := &scs[i]
		p := joinIndex(list, i)
		v.name(p+".name", sc.Name, "storage class")
		v.unique(names, p+".name", sc.Name, "storage class", list, i)
		v.enum(p+".tier", sc.Tier, TierValues)
		v.enum(p+".reclaimPolicy", sc.ReclaimPolicy, ReclaimPolicyValues)
		if sc.Default {
			if firstDefault >= 0 {
				first := joinIndex(list, firstDefault)
				v.errf(p+".default", "mark only one StorageClass default: true",
					"storage classes %q (%s) and %q are both marked default", scs[firstDefault].Name, v.r.Pos(first+".default"), sc.Name)
			} else {
				firstDefault = i
			}
		}
	}
}

func (v *validator) loadBalancers(lbs []LoadBalancer) {
	const list = "spec.loadBalancers"
	names := map[string]int{}
	for i := range lbs {
		lb := &lbs[i]
		p := joinIndex(list, i)
		v.name(p+".name", lb.Name, "load balancer")
		v.unique(names, p+".name", lb.Name, "load balancer", list, i)
		v.enum(p+".scheme", lb.Scheme, SchemeValues)
		if len(lb.Ports) == 0 {
			v.errf(p+".ports", "add a port, e.g. ports: [{port: 443}]", "a load balancer needs at least one port")
		}
		type key struct {
			port  int
			proto string
		}
		seen := map[key]int{}
		for j, port := range lb.Ports {
			pp := joinIndex(p+".ports", j)
			if port.Port < 1 || port.Port > 65535 {
				v.errf(pp+".port", "use a port from 1 to 65535", "port %d is out of range", port.Port)
			}
			if port.TargetPort < 1 || port.TargetPort > 65535 {
				v.errf(pp+".targetPort", "use a port from 1 to 65535, or leave it out to use port", "targetPort %d is out of range", port.TargetPort)
			}
			v.enum(pp+".protocol", port.Protocol, ProtocolValues)
			k := key{port.Port, port.Protocol}
			if first, dup := seen[k]; dup {
				v.errf(pp+".port", "remove one of them", "%s port %d is already listed at %s", port.Protocol, port.Port, joinIndex(p+".ports", first))
			} else {
				seen[k] = j
			}
		}
		if len(lb.Selector) == 0 {
			v.errf(p+".selector", "choose the pods, e.g. selector: {app: gateway}", "selector must not be empty: it chooses the pods behind the load balancer")
		}
		v.labels(p+".selector", lb.Selector)
	}
}
