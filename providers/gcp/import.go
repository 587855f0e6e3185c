package gcp

import (
	"context"
	"fmt"
	"strings"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

var _ providers.Importer = (*Driver)(nil)

// importCollections is the collection of a GCP resource path each type's
// objects are in, and the input that holds their region or location.
var importCollections = map[string]struct{ collection, locationInput string }{
	TypeNetwork:    {"networks", ""},
	TypeSubnetwork: {"subnetworks", "region"},
	TypeRouter:     {"routers", "region"},
	TypeAddress:    {"addresses", "region"},
	TypeCluster:    {"clusters", "location"},
	TypeNodePool:   {"nodePools", "location"},
}

// ImportID accepts, for `regionctl import` and import blocks, an object's
// resource path ("projects/P/locations/L/clusters/C/nodePools/N") or self
// link as well as its name, checking the project, region or location and
// cluster the path names against the region's inputs where they are
// known. A node pool's ID also names its cluster's uid, which the pool's
// handler looks up.
func (d *Driver) ImportID(ctx context.Context, req providers.ImportIDRequest) (providers.ImportIDResponse, error) {
	name, cluster, err := importName(req.Type, req.ID, req.Inputs)
	if err != nil {
		return providers.ImportIDResponse{}, fmt.Errorf("gcp: import %s (%s): %v: %w", req.Address, req.ID, err, providers.ErrPermanent)
	}
	if cluster != "" && req.Inputs["cluster"] == nil {
		req.Inputs = cloneInputs(req.Inputs)
		req.Inputs["cluster"] = cluster
	}
	req.ID = name
	return d.Router.ImportID(ctx, req)
}

func cloneInputs(in providers.Values) providers.Values {
	out := make(providers.Values, len(in)+1)
	for k, v := range in {
		out[k] = v
	}
	return out
}

// importName returns the name in id (a name, a resource path or a self
// link) and, for a node pool, the cluster its path names.
func importName(typ, id string, in providers.Values) (name, cluster string, err error) {
	i := strings.Index(id, "projects/")
	coll, known := importCollections[typ]
	if i < 0 || !known {
		return id, "", nil
	}
	parts := strings.Split(strings.Trim(id[i:], "/"), "/")
	path := map[string]string{}
	for j := 0; j < len(parts); j++ {
		if parts[j] == "global" {
			continue
		}
		if j+1 >= len(parts) {
			return "", "", fmt.Errorf("the path ends in %q without a name", parts[j])
		}
		path[parts[j]] = parts[j+1]
		j++
	}
	name = path[coll.collection]
	if name == "" || !strings.HasSuffix(strings.Trim(id, "/"), "/"+coll.collection+"/"+name) {
		return "", "", fmt.Errorf("the path does not name a %s (want .../%s/NAME)", typ, coll.collection)
	}
	if want, _ := in["project"].(string); want != "" && path["projects"] != want {
		return "", "", fmt.Errorf("it is in project %s, but the region's project is %s", path["projects"], want)
	}
	if coll.locationInput != "" {
		where := path["regions"] + path["locations"] + path["zones"]
		if want, _ := in[coll.locationInput].(string); want != "" && where != "" && where != want {
			return "", "", fmt.Errorf("it is in %s, but the region's location is %s", where, want)
		}
	}
	if typ == TypeNodePool {
		cluster = path["clusters"]
		if want, _ := in["cluster"].(string); want != "" && cluster != want {
			return "", "", fmt.Errorf("it belongs to GKE cluster %s, but the region's cluster is %s", cluster, want)
		}
	}
	return name, cluster, nil
}

// ImportID turns a node pool's name into its ID "<name>@<cluster uid>".
func (h nodePoolHandler) ImportID(ctx context.Context, c *nodePoolCall) (string, error) {
	name, uid := splitPoolID(c.ID)
	if uid != "" {
		return c.ID, nil
	}
	if poolCluster(c) == "" {
		return "", kit.Classed(fmt.Errorf("node pool %s: its cluster is not known yet: import the cluster first, or give the pool's path projects/P/locations/L/clusters/C/nodePools/%s", name, name), providers.ErrPermanent)
	}
	cl, err := h.cluster(ctx, c, "")
	if err != nil {
		return "", err
	}
	if cl == nil {
		return "", kit.Classed(fmt.Errorf("GKE cluster %s does not exist in %s", poolCluster(c), c.Env.loc), providers.ErrPermanent)
	}
	return poolID(name, cl), nil
}
