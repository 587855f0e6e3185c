package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// owner is what an object's tags say about who made it: the regionctl
// address (for GCP the hash of it, as its labels hold) and the create's
// idempotency key (hashed likewise on GCP).
type owner struct {
	address, key string
}

// ownerOf reads regionctl's tags from a census object; ok is false for an
// object regionctl's tags do not name (one the cloud made on its own, or
// an Azure subnet, which takes no tags).
func ownerOf(o sandbox.CensusObject) (owner, bool) {
	t := o.Tags
	switch o.Cloud {
	case "aws":
		return owner{t[aws.TagAddress], t[aws.TagIdempotencyKey]}, t[aws.TagManagedBy] == "regionctl" && t[aws.TagAddress] != ""
	case "azure":
		return owner{t[azure.TagAddress], t[azure.TagIdempotencyKey]}, t[azure.TagManagedBy] == "regionctl" && t[azure.TagAddress] != ""
	case "gcp":
		if d := t["description"]; d != "" {
			// "regionctl region=R address=H key=K": networks, subnetworks
			// and routers take no labels.
			f := strings.Fields(d)
			if len(f) == 0 || f[0] != "regionctl" {
				return owner{}, false
			}
			var w owner
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "address":
					w.address = v
				case "key":
					w.key = v
				}
			}
			return w, w.address != ""
		}
		return owner{t[gcp.LabelAddress], t[gcp.LabelIdempotencyKey]}, t[gcp.LabelManagedBy] == "regionctl" && t[gcp.LabelAddress] != ""
	}
	return owner{}, false
}

// gcpHash is how the GCP driver fits an address or key into a label value.
func gcpHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:32]
}

// censusProblems lists every way the emulated clouds disagree with the
// regions' state: an object regionctl's tags name that no state resource
// accounts for (an orphan), two objects of one type for one address (a
// duplicate), a state resource with no object (missing), an object made
// by another create than the one state records, and anything state still
// holds as pending, tainted or deposed. In-cluster objects (StorageClasses,
// Services) live in the clusters' API servers, not in the census.
func censusProblems(census []sandbox.CensusObject, states []*state.State) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// What state accounts for, by the address as each cloud tags it.
	type recorded struct {
		res   state.Resource
		cloud string
	}
	want := map[string]recorded{}
	subnetIDs := map[string]string{} // Azure subnet ARM ID (lower case) → address
	for _, st := range states {
		for _, r := range st.Resources {
			if kubernetes.Handles(r.Type) {
				continue
			}
			if r.Status != state.StatusCreated {
				report("state holds %s %s (ID %q) after convergence", r.Status, r.Address, r.ID)
			}
			tag := r.Address
			if st.Provider == "gcp" {
				tag = gcpHash(r.Address)
			}
			want[tag] = recorded{res: r, cloud: st.Provider}
			if r.Type == azure.TypeSubnet {
				subnetIDs[strings.ToLower(r.ID)] = r.Address
			}
		}
	}

	found := map[string]map[string][]string{} // tag → census type → IDs
	regionctlVNets := map[string]bool{}
	for _, o := range census {
		if _, ok := ownerOf(o); ok && o.Type == "virtualNetwork" {
			regionctlVNets[strings.ToLower(o.ID)] = true
		}
	}
	for _, o := range census {
		w, ok := ownerOf(o)
		if !ok && o.Cloud == "azure" && o.Type == "subnet" {
			parent, _, _ := strings.Cut(strings.ToLower(o.ID), "/subnets/")
			if !regionctlVNets[parent] {
				continue // a subnet of a network regionctl did not make
			}
			addr, known := subnetIDs[strings.ToLower(o.ID)]
			if !known {
				report("orphan: azure subnet %s in a regionctl network, which no state resource accounts for", o.ID)
				continue
			}
			w, ok = owner{address: addr}, true
		}
		if !ok {
			continue // made by the cloud itself (main route table, node resource group, …)
		}
		rec, known := want[w.address]
		if !known {
			report("orphan: %s %s %s (%s, %s) carries the address tag %q, which no state resource has", o.Cloud, o.Type, o.ID, o.Name, o.State, w.address)
			continue
		}
		if w.key != "" {
			wantKey := rec.res.IdempotencyKey
			if rec.cloud == "gcp" {
				wantKey = gcpHash(wantKey)
			}
			if w.key != wantKey {
				report("stale: %s %s %s was made by another create of %s than the one state records (key %s, state %s)", o.Cloud, o.Type, o.ID, rec.res.Address, w.key, wantKey)
			}
		}
		if o.Cloud == "gcp" && o.Type == "container.nodePool" && o.Name == "regionctl-bootstrap" {
			report("leak: GKE cluster %s still has its bootstrap node pool", rec.res.Address)
		}
		if found[w.address] == nil {
			found[w.address] = map[string][]string{}
		}
		found[w.address][o.Type] = append(found[w.address][o.Type], o.ID)
	}
	for tag, rec := range want {
		types := found[tag]
		if len(types) == 0 {
			report("missing: state holds %s = %s but the cloud has no object tagged for it", rec.res.Address, rec.res.ID)
		}
		for typ, ids := range types {
			if len(ids) > 1 {
				sort.Strings(ids)
				report("duplicate: %d %s objects for %s: %v", len(ids), typ, rec.res.Address, ids)
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// regionctlObjects counts the census objects regionctl's tags name.
func regionctlObjects(census []sandbox.CensusObject) int {
	n := 0
	for _, o := range census {
		if _, ok := ownerOf(o); ok {
			n++
		}
	}
	return n
}
