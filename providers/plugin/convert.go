package plugin

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/regionctl/regionctl/diag"
	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/spec"
)

// The conversions between package providers' types and the protocol's
// messages, used by both sides. Values travel as JSON: nil is sent as no
// bytes at all, so "not known" (nil) and "none" ({}) stay apart.

func encodeValues(v providers.Values) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := appendJSON(make([]byte, 0, 256), map[string]any(v)); ok {
		return b, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("values are not JSON: %w", err)
	}
	return b, nil
}

func decodeValues(b []byte) (providers.Values, error) {
	if len(b) == 0 {
		return nil, nil
	}
	// Into an interface: encoding/json's fast path for JSON's own types.
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("values are not a JSON object: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("values are not a JSON object")
	}
	return providers.Values(m), nil
}

// appendJSON appends the JSON encoding of v for the types values are made
// of, without reflection (every operation encodes and decodes values, so
// this is most of what the boundary costs); ok is false for any other type
// (or a NaN or infinite number), and the caller uses encoding/json.
func appendJSON(b []byte, v any) (_ []byte, ok bool) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendString(b, t), true
	case bool:
		return strconv.AppendBool(b, t), true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return b, false
		}
		return strconv.AppendFloat(b, t, 'g', -1, 64), true
	case int:
		return strconv.AppendInt(b, int64(t), 10), true
	case int64:
		return strconv.AppendInt(b, t, 10), true
	case map[string]any:
		b = append(b, '{')
		first := true
		for k, e := range t {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, ':')
			if b, ok = appendJSON(b, e); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case providers.Values:
		return appendJSON(b, map[string]any(t))
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSON(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func encodeRegion(r *spec.Region) (*pb.Region, error) {
	if r == nil {
		return nil, fmt.Errorf("no region")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode region %s: %w", r.Metadata.Name, err)
	}
	return &pb.Region{Json: b}, nil
}

func decodeRegion(m *pb.Region) (*spec.Region, error) {
	if m == nil || len(m.Json) == 0 {
		return nil, fmt.Errorf("the request carries no region")
	}
	var r spec.Region
	if err := json.Unmarshal(m.Json, &r); err != nil {
		return nil, fmt.Errorf("decode region: %w", err)
	}
	return &r, nil
}

func encodeInstance(i providers.Instance) (*pb.Instance, error) {
	in, err := encodeValues(i.Inputs)
	if err != nil {
		return nil, fmt.Errorf("%s inputs: %w", i.Address, err)
	}
	out, err := encodeValues(i.Outputs)
	if err != nil {
		return nil, fmt.Errorf("%s outputs: %w", i.Address, err)
	}
	return &pb.Instance{Address: i.Address, Type: i.Type, Id: i.ID, Inputs: in, Outputs: out, SchemaVersion: int64(i.SchemaVersion)}, nil
}

func decodeInstance(m *pb.Instance) (providers.Instance, error) {
	if m == nil {
		return providers.Instance{}, fmt.Errorf("the request carries no instance")
	}
	in, err := decodeValues(m.Inputs)
	if err != nil {
		return providers.Instance{}, fmt.Errorf("%s inputs: %w", m.Address, err)
	}
	out, err := decodeValues(m.Outputs)
	if err != nil {
		return providers.Instance{}, fmt.Errorf("%s outputs: %w", m.Address, err)
	}
	return providers.Instance{Address: m.Address, Type: m.Type, ID: m.Id, Inputs: in, Outputs: out, SchemaVersion: int(m.SchemaVersion)}, nil
}

func encodeInstances(is []providers.Instance) ([]*pb.Instance, error) {
	var out []*pb.Instance
	for _, i := range is {
		m, err := encodeInstance(i)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func decodeInstances(ms []*pb.Instance) ([]providers.Instance, error) {
	var out []providers.Instance
	for _, m := range ms {
		i, err := decodeInstance(m)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

func encodeResource(r providers.Resource) (*pb.Resource, error) {
	in, err := encodeValues(r.Inputs)
	if err != nil {
		return nil, fmt.Errorf("%s inputs: %w", r.Address, err)
	}
	return &pb.Resource{Address: r.Address, Type: r.Type, Inputs: in, DependsOn: r.DependsOn, ForceNew: r.ForceNew,
		CreateBeforeDestroy: r.CreateBeforeDestroy, Stateful: r.Stateful, Element: r.Element}, nil
}

func decodeResource(m *pb.Resource) (providers.Resource, error) {
	in, err := decodeValues(m.Inputs)
	if err != nil {
		return providers.Resource{}, fmt.Errorf("%s inputs: %w", m.Address, err)
	}
	return providers.Resource{Address: m.Address, Type: m.Type, Inputs: in, DependsOn: m.DependsOn, ForceNew: m.ForceNew,
		CreateBeforeDestroy: m.CreateBeforeDestroy, Stateful: m.Stateful, Element: m.Element}, nil
}

// encodeDiagnostics sends diagnostics without their positions: the plugin
// has no source map, the host does.
func encodeDiagnostics(ds diag.Diagnostics) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, len(ds))
	for i, d := range ds {
		sev := pb.Diagnostic_ERROR
		if d.Severity == diag.Warning {
			sev = pb.Diagnostic_WARNING
		}
		out[i] = &pb.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Path: d.Path, Fix: d.Fix}
	}
	return out
}

// decodeDiagnostics attaches each diagnostic's source position from the
// region's source map, by its field path (the region itself when it has
// none), as the driver would have in process. Without a region (nil) they
// have no position: the caller attaches it.
func decodeDiagnostics(ms []*pb.Diagnostic, r *spec.Region) diag.Diagnostics {
	if len(ms) == 0 {
		return nil
	}
	out := make(diag.Diagnostics, len(ms))
	for i, m := range ms {
		sev := diag.Error
		if m.Severity == pb.Diagnostic_WARNING {
			sev = diag.Warning
		}
		out[i] = diag.Diagnostic{Severity: sev, Summary: m.Summary, Detail: m.Detail, Path: m.Path, Fix: m.Fix}
		if r != nil {
			out[i].Pos = r.Pos(m.Path)
		}
	}
	return out
}

func encodeOptions(o providers.Options) *pb.Options {
	return &pb.Options{Sandbox: o.Sandbox, SandboxEndpoints: o.SandboxEndpoints, SandboxDir: o.SandboxDir, ForceConflicts: o.ForceConflicts, Offline: o.Offline,
		RateBudgets: encodeLimits(o.RateBudgets), DrainTimeoutNanos: int64(o.DrainTimeout)}
}

// encodeLimits writes rate budgets as "RATE/s,BURST" by key; nil for none.
func encodeLimits[M ~map[string]budget.Limit](ls M) map[string]string {
	if len(ls) == 0 {
		return nil
	}
	out := make(map[string]string, len(ls))
	for k, l := range ls {
		out[k] = l.String()
	}
	return out
}

// decodeLimits parses what encodeLimits wrote; nil for none, and an error
// naming the budget that does not parse.
func decodeLimits[M ~map[string]budget.Limit](m map[string]string) (M, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(M, len(m))
	for k, v := range m {
		l, err := budget.ParseLimit(v)
		if err != nil {
			return nil, fmt.Errorf("rate budget %s: %w", k, err)
		}
		out[k] = l
	}
	return out, nil
}

// decodeOptions is the plugin's side of the options; a rate budget that
// does not parse is an error (the host sent it, so it is a bug there or a
// protocol mismatch).
func decodeOptions(m *pb.Options) (providers.Options, error) {
	if m == nil {
		return providers.Options{}, nil
	}
	budgets, err := decodeLimits[budget.Overrides](m.RateBudgets)
	if err != nil {
		return providers.Options{}, err
	}
	return providers.Options{Sandbox: m.Sandbox, SandboxEndpoints: maps.Clone(m.SandboxEndpoints), SandboxDir: m.SandboxDir, ForceConflicts: m.ForceConflicts, Offline: m.Offline,
		RateBudgets: budgets, DrainTimeout: time.Duration(m.DrainTimeoutNanos)}, nil
}

func encodeCapabilities(c providers.Capabilities) *pb.Capabilities {
	m := &pb.Capabilities{Name: c.Name, Description: c.Description, KubernetesVersions: c.KubernetesVersions,
		StorageTiers: c.StorageTiers, LoadBalancerSchemes: c.LoadBalancerSchemes, MaxParallel: int32(c.MaxParallel), RateBudgeted: c.RateBudgeted,
		RateBudgets: encodeLimits(c.RateBudgets)}
	for _, mt := range c.Machines {
		m.Machines = append(m.Machines, &pb.MachineType{Name: mt.Name, Cpu: int32(mt.CPU), MemoryGib: mt.MemoryGiB, Arch: mt.Arch, Gpu: int32(mt.GPU), Family: mt.Family})
	}
	if c.Locations != nil {
		m.Locations = make(map[string]int32, len(c.Locations))
		for k, v := range c.Locations {
			m.Locations[k] = int32(v)
		}
	}
	for _, s := range c.Resources {
		m.Resources = append(m.Resources, &pb.ResourceSchema{Type: s.Type, Version: int64(s.Version), Description: s.Description,
			Inputs: encodeAttributes(s.Inputs), Outputs: encodeAttributes(s.Outputs)})
	}
	return m
}

// decodeCapabilities is the host's side; a rate budget that does not
// parse is an error naming it.
func decodeCapabilities(m *pb.Capabilities) (providers.Capabilities, error) {
	if m == nil {
		return providers.Capabilities{}, nil
	}
	c := providers.Capabilities{Name: m.Name, Description: m.Description, KubernetesVersions: m.KubernetesVersions,
		StorageTiers: m.StorageTiers, LoadBalancerSchemes: m.LoadBalancerSchemes, MaxParallel: int(m.MaxParallel), RateBudgeted: m.RateBudgeted}
	for _, mt := range m.Machines {
		c.Machines = append(c.Machines, providers.MachineType{Name: mt.Name, CPU: int(mt.Cpu), MemoryGiB: mt.MemoryGib, Arch: mt.Arch, GPU: int(mt.Gpu), Family: mt.Family})
	}
	if m.Locations != nil {
		c.Locations = make(map[string]int, len(m.Locations))
		for k, v := range m.Locations {
			c.Locations[k] = int(v)
		}
	}
	for _, s := range m.Resources {
		c.Resources = append(c.Resources, providers.ResourceSchema{Type: s.Type, Version: int(s.Version), Description: s.Description,
			Inputs: decodeAttributes(s.Inputs), Outputs: decodeAttributes(s.Outputs)})
	}
	var err error
	c.RateBudgets, err = decodeLimits[budget.Table](m.RateBudgets)
	return c, err
}

func encodeAttributes(as []providers.Attribute) []*pb.Attribute {
	if len(as) == 0 {
		return nil
	}
	out := make([]*pb.Attribute, len(as))
	for i, a := range as {
		out[i] = &pb.Attribute{Name: a.Name, Type: a.Type, Attributes: encodeAttributes(a.Attributes), Optional: a.Optional,
			RequiresReplace: a.RequiresReplace, ReplaceReason: a.ReplaceReason, Sensitive: a.Sensitive, Description: a.Description}
	}
	return out
}

func decodeAttributes(ms []*pb.Attribute) []providers.Attribute {
	if len(ms) == 0 {
		return nil
	}
	out := make([]providers.Attribute, len(ms))
	for i, m := range ms {
		out[i] = providers.Attribute{Name: m.Name, Type: m.Type, Attributes: decodeAttributes(m.Attributes), Optional: m.Optional,
			RequiresReplace: m.RequiresReplace, ReplaceReason: m.ReplaceReason, Sensitive: m.Sensitive, Description: m.Description}
	}
	return out
}

func encodeAccess(r providers.AccessResponse) *pb.ClusterAccessResponse {
	m := &pb.ClusterAccessResponse{ClusterId: r.ClusterID, Endpoint: r.Endpoint, CaPem: r.CAPEM, Token: r.Token}
	if !r.Expiry.IsZero() {
		m.ExpiryUnixNano = r.Expiry.UnixNano()
	}
	if wi := r.WorkloadIdentity; wi != nil {
		m.WorkloadIdentity = &pb.WorkloadIdentity{Issuer: wi.Issuer, Provider: wi.Provider, Audience: wi.Audience,
			ServiceAccountAnnotation: wi.ServiceAccountAnnotation, TrustSubject: wi.TrustSubject}
	}
	return m
}

func decodeAccess(m *pb.ClusterAccessResponse) providers.AccessResponse {
	r := providers.AccessResponse{ClusterID: m.ClusterId, Endpoint: m.Endpoint, CAPEM: m.CaPem, Token: m.Token}
	if m.ExpiryUnixNano != 0 {
		r.Expiry = time.Unix(0, m.ExpiryUnixNano)
	}
	if wi := m.WorkloadIdentity; wi != nil {
		r.WorkloadIdentity = &providers.WorkloadIdentity{Issuer: wi.Issuer, Provider: wi.Provider, Audience: wi.Audience,
			ServiceAccountAnnotation: wi.ServiceAccountAnnotation, TrustSubject: wi.TrustSubject}
	}
	return r
}
