package gcp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Compute list and aggregatedList parameters: filter, maxResults
// (0–500, default 500), pageToken (from the previous page's
// nextPageToken), orderBy (name, or creationTimestamp desc),
// returnPartialSuccess, includeAllScopes and serviceProjectNumber. One place applies them to every list reply, so
// every collection pages and filters the same way.

// listParams are a list call's parameters.
type listParams struct {
	filter  filterExpr
	max     int
	offset  int
	byNewer bool
}

// pageTokenPrefix marks the sandbox's page tokens (an offset).
const pageTokenPrefix = "sandbox-page:"

func parseListParams(q url.Values) (listParams, *gerr) {
	p := listParams{max: 500}
	if f := q.Get("filter"); f != "" {
		x, err := parseFilter(f)
		if err != nil {
			return p, invalid("filter", f, "Invalid list filter expression: "+err.Error()+".")
		}
		p.filter = x
	}
	if m := q.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > 500 {
			return p, invalid("maxResults", m, "Must be between 0 and 500, inclusive.")
		}
		if n > 0 {
			p.max = n
		}
	}
	if t := q.Get("pageToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		off, ok := strings.CutPrefix(string(b), pageTokenPrefix)
		n, aerr := strconv.Atoi(off)
		if err != nil || !ok || aerr != nil || n < 0 {
			return p, invalid("pageToken", t, "Invalid page token.")
		}
		p.offset = n
	}
	switch o := q.Get("orderBy"); o {
	case "", "name":
	case "creationTimestamp desc":
		p.byNewer = true
	default:
		return p, invalid("orderBy", o, "Only sorting by name or 'creationTimestamp desc' is supported.")
	}
	// returnPartialSuccess (older clients, gcloud among them) and
	// includeAllScopes are taken; every scope answers, so nothing changes.
	for _, b := range []string{"returnPartialSuccess", "includeAllScopes"} {
		if v := q.Get(b); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				return p, invalid(b, v, "Must be true or false.")
			}
		}
	}
	if v := q.Get("serviceProjectNumber"); v != "" {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return p, invalid("serviceProjectNumber", v, "Must be a project number.")
		}
	}
	return p, nil
}

// asMap is a message as its JSON object, for filters.
func asMap(m proto.Message) map[string]any {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out) // protojson output is a JSON object
	return out
}

// scopedItem is one item of a list, with its aggregated-list scope
// ("regions/us-central1"; "" in a plain list).
type scopedItem struct {
	scope string
	item  proto.Message
}

// page filters, orders and cuts items; next is the following page's token.
func (p listParams) page(items []scopedItem) (out []scopedItem, next string) {
	for _, it := range items {
		if p.filter == nil || p.filter.match(asMap(it.item)) {
			out = append(out, it)
		}
	}
	if p.byNewer {
		created := func(m proto.Message) string {
			v, _ := asMap(m)["creationTimestamp"].(string)
			return v
		}
		sort.SliceStable(out, func(i, j int) bool { return created(out[i].item) > created(out[j].item) })
	}
	if p.offset >= len(out) {
		return nil, ""
	}
	out = out[p.offset:]
	if len(out) > p.max {
		out = out[:p.max]
		next = base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + strconv.Itoa(p.offset+p.max)))
	}
	return out, next
}

// pageList applies the parameters to a plain list reply (its "items").
func pageList(list proto.Message, p listParams) {
	m := list.ProtoReflect()
	fields := m.Descriptor().Fields()
	fd := fields.ByName("items")
	var items []scopedItem
	l := m.Get(fd).List()
	for i := range l.Len() {
		items = append(items, scopedItem{item: l.Get(i).Message().Interface()})
	}
	kept, next := p.page(items)
	nl := m.NewField(fd).List()
	for _, it := range kept {
		nl.Append(protoreflect.ValueOfMessage(it.item.ProtoReflect()))
	}
	if nl.Len() > 0 {
		m.Set(fd, protoreflect.ValueOfList(nl))
	} else {
		m.Clear(fd)
	}
	if next != "" {
		m.Set(fields.ByName("next_page_token"), protoreflect.ValueOfString(next))
	}
}

// aggregated describes one collection's aggregatedList.
type aggregated struct {
	// newList is an empty XAggregatedList; its items map holds
	// XScopedList values whose list field is the collection's name.
	newList func() proto.Message
	kind    string
	// scopes are the scopes the reply covers ("regions/R" or "zones/Z").
	scopes func() []string
	// items lists the project's objects with their scopes.
	items func(e *Emulator, project string, now time.Time) []scopedItem
}

func regionScopes() []string {
	var out []string
	for r := range gcpRegions {
		out = append(out, "regions/"+r)
	}
	sort.Strings(out)
	return out
}

func zoneScopes() []string {
	var out []string
	for r := range gcpRegions {
		for _, z := range zonesOf(r) {
			out = append(out, "zones/"+z)
		}
	}
	sort.Strings(out)
	return out
}

// regional lists the visible records of a project under "regions/R";
// of says what a record is.
func regional[R any](recs map[string]*R, project string, now time.Time, of func(*R) (project, region string, t timing, item proto.Message)) []scopedItem {
	var out []scopedItem
	for _, r := range recs {
		if p, region, t, item := of(r); p == project && t.visible(now) {
			out = append(out, scopedItem{"regions/" + region, item})
		}
	}
	return out
}

var aggregatedLists = map[string]aggregated{
	"subnetworks": {
		newList: func() proto.Message { return &computepb.SubnetworkAggregatedList{} }, kind: "compute#subnetworkAggregatedList",
		scopes: regionScopes,
		items: func(e *Emulator, project string, now time.Time) []scopedItem {
			return regional(e.st.Subnets, project, now, func(r *subnetRec) (string, string, timing, proto.Message) {
				return r.Project, r.Region, r.T, clone(r.V.V)
			})
		},
	},
	"addresses": {
		newList: func() proto.Message { return &computepb.AddressAggregatedList{} }, kind: "compute#addressAggregatedList",
		// Global addresses are listed under "global"; the sandbox has none.
		scopes: func() []string { return append([]string{"global"}, regionScopes()...) },
		items: func(e *Emulator, project string, now time.Time) []scopedItem {
			return regional(e.st.Addresses, project, now, func(a *addrRec) (string, string, timing, proto.Message) {
				return a.Project, a.Region, a.T, e.renderAddress(a, now)
			})
		},
	},
	"routers": {
		newList: func() proto.Message { return &computepb.RouterAggregatedList{} }, kind: "compute#routerAggregatedList",
		scopes: regionScopes,
		items: func(e *Emulator, project string, now time.Time) []scopedItem {
			return regional(e.st.Routers, project, now, func(r *routerRec) (string, string, timing, proto.Message) {
				return r.Project, r.Region, r.T, clone(r.V.V)
			})
		},
	},
	// GKE's cluster autoscaler scales node pools from inside GKE: their
	// managed instance groups have no Compute autoscaler, as on Google
	// Cloud, so this lists none.
	"autoscalers": {
		newList: func() proto.Message { return &computepb.AutoscalerAggregatedList{} }, kind: "compute#autoscalerAggregatedList",
		scopes: func() []string { return append(regionScopes(), zoneScopes()...) },
		items:  func(*Emulator, string, time.Time) []scopedItem { return nil },
	},
	"instanceGroupManagers": {
		newList: func() proto.Message { return &computepb.InstanceGroupManagerAggregatedList{} }, kind: "compute#instanceGroupManagerAggregatedList",
		scopes: func() []string { return append(regionScopes(), zoneScopes()...) },
		items: func(e *Emulator, project string, now time.Time) []scopedItem {
			var out []scopedItem
			for _, m := range e.migs(project) {
				out = append(out, scopedItem{"zones/" + m.zone, m.render()})
			}
			return out
		},
	},
}

// aggregatedList answers GET projects/P/aggregated/COLL: items keyed by
// scope, every scope without items on this page carrying the
// NO_RESULTS_ON_PAGE warning, as Compute answers.
func (e *Emulator) aggregatedList(rt croute, p listParams, now time.Time) proto.Message {
	ag := aggregatedLists[rt.coll]
	all := ag.items(e, rt.project, now)
	sort.Slice(all, func(i, j int) bool {
		if all[i].scope != all[j].scope {
			return all[i].scope < all[j].scope
		}
		return nameOf(all[i].item) < nameOf(all[j].item)
	})
	kept, next := p.page(all)
	list := ag.newList()
	m := list.ProtoReflect()
	fields := m.Descriptor().Fields()
	base := "projects/" + rt.project + "/aggregated/" + rt.coll
	m.Set(fields.ByName("kind"), protoreflect.ValueOfString(ag.kind))
	m.Set(fields.ByName("id"), protoreflect.ValueOfString(base))
	m.Set(fields.ByName("self_link"), protoreflect.ValueOfString(computeBase+base))
	if next != "" {
		m.Set(fields.ByName("next_page_token"), protoreflect.ValueOfString(next))
	}
	itemsFd := fields.ByName("items")
	items := m.Mutable(itemsFd).Map()
	scoped := func(scope string) protoreflect.Message {
		k := protoreflect.ValueOfString(scope).MapKey()
		if !items.Has(k) {
			items.Set(k, items.NewValue())
		}
		return items.Mutable(k).Message()
	}
	collName := protoreflect.Name(toSnake(rt.coll))
	for _, it := range kept {
		sl := scoped(it.scope)
		sl.Mutable(sl.Descriptor().Fields().ByName(collName)).List().Append(protoreflect.ValueOfMessage(it.item.ProtoReflect()))
	}
	for _, scope := range ag.scopes() {
		k := protoreflect.ValueOfString(scope).MapKey()
		if items.Has(k) {
			continue
		}
		w := &computepb.Warning{
			Code:    proto.String("NO_RESULTS_ON_PAGE"),
			Message: proto.String(fmt.Sprintf("There are no results for scope '%s' on this page.", scope)),
			Data:    []*computepb.Data{{Key: proto.String("scope"), Value: proto.String(scope)}},
		}
		sl := scoped(scope)
		sl.Set(sl.Descriptor().Fields().ByName("warning"), protoreflect.ValueOfMessage(w.ProtoReflect()))
	}
	return list
}

func nameOf(m proto.Message) string {
	fd := m.ProtoReflect().Descriptor().Fields().ByName("name")
	if fd == nil {
		return ""
	}
	return m.ProtoReflect().Get(fd).String()
}

// toSnake is a collection's proto field name ("instanceGroupManagers" →
// "instance_group_managers").
func toSnake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// listAutoscalers lists a zone's or region's Compute autoscalers: none
// (GKE node pools autoscale without one).
func (e *Emulator) listAutoscalers(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	scope := "projects/" + rt.project + "/" + rt.scope + "/" + rt.loc + "/autoscalers"
	if rt.scope == "regions" {
		return &computepb.RegionAutoscalerList{Kind: proto.String("compute#regionAutoscalerList"), Id: proto.String(scope), SelfLink: proto.String(computeBase + scope)}, nil, false
	}
	return &computepb.AutoscalerList{Kind: proto.String("compute#autoscalerList"), Id: proto.String(scope), SelfLink: proto.String(computeBase + scope)}, nil, false
}

func (e *Emulator) getAutoscaler(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	return nil, notFound("projects/" + rt.project + "/" + rt.scope + "/" + rt.loc + "/autoscalers/" + rt.name), false
}
