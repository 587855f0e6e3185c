package azure

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// Reply shapes per api-version. The emulator builds every reply from the
// newest SDK models (go.mod); a client that sends an older api-version gets
// that version's shape, as a resource provider answers: what the older
// version did not have is left out, and values it spelled differently are
// spelled its way. The differences are the ones the parity suite
// (sandbox/azure/parity_test.go) finds between the newest spec and each
// older one; members newer than both of two neighbouring specs are left out
// of every version before the newer spec.

// olderShape is one difference: replies of route type typ, at api-versions
// of family older than before, lack the members drop (dotted paths; `[]`
// walks a list) and spell the values in rename (path → newest spelling →
// older spelling).
type olderShape struct {
	family, typ, before string
	drop                []string
	rename              map[string]map[string]string
}

var olderShapes = []olderShape{
	// Absent from the 2022-11-01 spec (Debian's python3-azure models).
	{family: nsAKS, typ: "managedClusters", before: "2025-02-01",
		drop: []string{"eTag", "properties.resourceUID", "properties.supportPlan", "properties.agentPoolProfiles[].eTag",
			"properties.networkProfile.loadBalancerProfile.backendPoolType"},
		rename: map[string]map[string]string{"sku.name": {"Base": "Basic"}}}, // the SKU was "Basic" until 2023
	{family: nsAKS, typ: "agentPools", before: "2025-02-01", drop: []string{"properties.eTag"}},
	// Absent from the 2022-01-01 spec; newer than 2022-05-01 and 2021-08-01 too.
	{family: nsNetwork, typ: "virtualNetworks", before: "2025-05-01", drop: []string{"properties.privateEndpointVNetPolicies"}},
	// Absent from the 2022-11-01 spec.
	{family: nsCompute, typ: "virtualMachineScaleSets", before: "2025-04-01", drop: []string{"etag"}},
	// Absent from the 2019-11-01 spec.
	{family: nsSubscriptions, typ: "locations", before: "2022-12-01", drop: []string{"type"}},
	{family: nsSubscriptions, typ: "tenants", before: "2022-12-01", drop: []string{"defaultDomain", "tenantType"}},
}

// shapesFor returns the differences that apply to a reply of rt at
// version.
func shapesFor(rt route, version string) []olderShape {
	var out []olderShape
	fam := versionFamily(rt)
	for _, s := range olderShapes {
		if s.family == fam && strings.EqualFold(s.typ, rt.typ) && version < s.before {
			out = append(out, s)
		}
	}
	return out
}

// shapeWriter holds a reply back so its JSON body can be reshaped for an
// older api-version before it is sent.
type shapeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *shapeWriter) WriteHeader(status int)      { w.status = status }
func (w *shapeWriter) Write(b []byte) (int, error) { return w.body.Write(b) }

// flush sends the reply, with shapes applied to a successful JSON body: to
// each item of a list's "value", else to the body itself.
func (w *shapeWriter) flush(shapes []olderShape, list bool) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	if status < 300 && len(body) > 0 {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		var v map[string]any
		if d.Decode(&v) == nil {
			items := []any{v}
			if list {
				items, _ = v["value"].([]any)
			}
			for _, it := range items {
				for _, s := range shapes {
					s.apply(it)
				}
			}
			if b, err := json.Marshal(v); err == nil {
				body = b
			}
		}
	}
	w.ResponseWriter.WriteHeader(status)
	_, _ = w.ResponseWriter.Write(body)
}

// reshapeRequest reads a write's body sent at an older api-version the
// newest way: the values that version spells differently are respelled
// (an az 2.45 cluster PUT's sku "Basic" is stored as "Base").
func reshapeRequest(shapes []olderShape, body []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v map[string]any
	if len(shapes) == 0 || d.Decode(&v) != nil {
		return body
	}
	for _, s := range shapes {
		for p, names := range s.rename {
			walkPath(v, strings.Split(p, "."), func(obj map[string]any, key string) {
				for newest, old := range names {
					if str(obj[key]) == old {
						obj[key] = newest
					}
				}
			})
		}
	}
	if b, err := json.Marshal(v); err == nil {
		return b
	}
	return body
}

func (s olderShape) apply(v any) {
	for _, p := range s.drop {
		walkPath(v, strings.Split(p, "."), func(obj map[string]any, key string) { delete(obj, key) })
	}
	for p, names := range s.rename {
		walkPath(v, strings.Split(p, "."), func(obj map[string]any, key string) {
			if old, ok := names[str(obj[key])]; ok {
				obj[key] = old
			}
		})
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// walkPath calls f with the object holding the last element of path, for
// every object path reaches ("a[]" walks each item of list a).
func walkPath(v any, path []string, f func(obj map[string]any, key string)) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	key, isList := strings.CutSuffix(path[0], "[]")
	if len(path) == 1 {
		if _, ok := obj[key]; ok {
			f(obj, key)
		}
		return
	}
	if !isList {
		walkPath(obj[key], path[1:], f)
		return
	}
	items, _ := obj[key].([]any)
	for _, it := range items {
		walkPath(it, path[1:], f)
	}
}
