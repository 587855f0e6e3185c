package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/plugins/digitalocean/catalog"
)

// vpc is a VPC as the API writes it.
type vpc struct {
	ID          string `json:"id"`
	URN         string `json:"urn"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Region      string `json:"region"`
	IPRange     string `json:"ip_range"`
	Default     bool   `json:"default"`
	CreatedAt   string `json:"created_at"`
}

// privateRanges are RFC 1918's; a VPC's range must lie in one.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func knownRegion(slug string) bool {
	return slices.ContainsFunc(catalog.Regions, func(r catalog.Region) bool { return r.Slug == slug })
}

func (e *Emulator) createVPC(w *writer, r *http.Request, _ []string) {
	var req struct {
		Name        string `json:"name"`
		Region      string `json:"region"`
		Description string `json:"description"`
		IPRange     string `json:"ip_range"`
	}
	if !w.decode(r, &req) {
		return
	}
	if msg := e.checkVPC(req.Name, req.Region, req.Description, req.IPRange); msg != "" {
		w.fail(http.StatusUnprocessableEntity, "%s", msg)
		return
	}
	id := newID()
	v := &vpc{ID: id, URN: "do:vpc:" + id, Name: req.Name, Description: req.Description, Region: req.Region,
		IPRange: req.IPRange, CreatedAt: now()}
	e.cloud.VPCs[id] = v
	if e.save(w) {
		w.json(http.StatusCreated, map[string]any{"vpc": v})
	}
}

// checkVPC is the API's validation of a new VPC: a unique name, a known
// region, and a private range from /28 to /16 that overlaps no other VPC
// of the account.
func (e *Emulator) checkVPC(name, region, description, ipRange string) string {
	switch {
	case name == "":
		return "name is required"
	case len(description) > 255:
		return "description must be at most 255 characters"
	case !knownRegion(region):
		return fmt.Sprintf("region %q is not a valid region", region)
	}
	for _, v := range e.cloud.VPCs {
		if v.Name == name {
			return fmt.Sprintf("a VPC with the name %q already exists", name)
		}
	}
	if ipRange == "" {
		return ""
	}
	p, err := netip.ParsePrefix(ipRange)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return fmt.Sprintf("ip_range %q is not a valid IPv4 CIDR block", ipRange)
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return fmt.Sprintf("ip_range %q must be between /16 and /28", ipRange)
	}
	if !slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return r.Contains(p.Addr()) && r.Bits() <= p.Bits() }) {
		return fmt.Sprintf("ip_range %q must be a private (RFC 1918) range", ipRange)
	}
	for _, v := range e.cloud.VPCs {
		if o, err := netip.ParsePrefix(v.IPRange); err == nil && o.Overlaps(p) {
			return fmt.Sprintf("ip_range %q overlaps the range of VPC %s (%s)", ipRange, v.Name, v.IPRange)
		}
	}
	return ""
}

func (e *Emulator) listVPCs(w *writer, r *http.Request, _ []string) {
	out := []*vpc{}
	for _, id := range slices.Sorted(maps.Keys(e.cloud.VPCs)) {
		out = append(out, e.cloud.VPCs[id])
	}
	slices.SortStableFunc(out, func(a, b *vpc) int { return strings.Compare(a.CreatedAt, b.CreatedAt) })
	page(e, w, r, "vpcs", out)
}

func (e *Emulator) vpc(w *writer, id string) *vpc {
	v := e.cloud.VPCs[id]
	if v == nil {
		w.fail(http.StatusNotFound, "The resource you were accessing could not be found.")
	}
	return v
}

func (e *Emulator) getVPC(w *writer, _ *http.Request, args []string) {
	if v := e.vpc(w, args[0]); v != nil {
		w.json(http.StatusOK, map[string]any{"vpc": v})
	}
}

// updateVPC changes the name and description (PUT and PATCH; the range and
// region cannot change).
func (e *Emulator) updateVPC(w *writer, r *http.Request, args []string) {
	v := e.vpc(w, args[0])
	if v == nil {
		return
	}
	var req struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if !w.decode(r, &req) {
		return
	}
	if req.Name != nil && *req.Name != v.Name {
		if msg := e.checkVPC(*req.Name, v.Region, "", ""); msg != "" {
			w.fail(http.StatusUnprocessableEntity, "%s", msg)
			return
		}
		v.Name = *req.Name
	}
	if req.Description != nil {
		v.Description = *req.Description
	}
	if e.save(w) {
		w.json(http.StatusOK, map[string]any{"vpc": v})
	}
}

// deleteVPC refuses a VPC that still has members (a cluster in it), as the
// API does with 403.
func (e *Emulator) deleteVPC(w *writer, _ *http.Request, args []string) {
	v := e.vpc(w, args[0])
	if v == nil {
		return
	}
	for _, c := range e.cloud.Clusters {
		if c.VPCUUID == v.ID {
			w.fail(http.StatusForbidden, "Can not delete VPC with members (kubernetes cluster %s)", c.Name)
			return
		}
	}
	delete(e.cloud.VPCs, v.ID)
	if e.save(w) {
		w.WriteHeader(http.StatusNoContent)
	}
}
