package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/regionctl/regionctl/providers"
)

var _ providers.Importer = (*Driver)(nil)

// ImportID accepts, for `regionctl import` and import blocks, the ARN of
// any object as well as the ID the driver records (a VPC or allocation ID,
// a cluster, node group, add-on or role name), and for a node group or
// add-on "CLUSTER:NAME" too. It makes no call.
func (d *Driver) ImportID(ctx context.Context, req providers.ImportIDRequest) (providers.ImportIDResponse, error) {
	id, err := importID(req.Type, req.ID, req.Inputs)
	if err != nil {
		return providers.ImportIDResponse{}, fmt.Errorf("aws: import %s (%s): %v: %w", req.Address, req.ID, err, providers.ErrPermanent)
	}
	req.ID = id
	return d.Router.ImportID(ctx, req)
}

// importID turns what a user gave into the ID the driver records for type
// typ, checking what the ARN or "CLUSTER:NAME" says against the inputs
// (location, cluster_name) where they are known.
func importID(typ, id string, in providers.Values) (string, error) {
	inCluster := typ == TypeEKSNodeGroup || typ == TypeEKSAddon
	cluster := ""
	switch {
	case arn.IsARN(id):
		a, err := arn.Parse(id)
		if err != nil {
			return "", err
		}
		if loc, _ := in["location"].(string); a.Region != "" && loc != "" && a.Region != loc {
			return "", fmt.Errorf("the ARN names AWS region %s, but the region's location is %s", a.Region, loc)
		}
		parts := strings.Split(a.Resource, "/")
		switch {
		case inCluster && len(parts) >= 3: // nodegroup/CLUSTER/NAME/UUID, addon/CLUSTER/NAME/UUID
			cluster, id = parts[1], parts[2]
		case inCluster || len(parts) < 2:
			return "", fmt.Errorf("the ARN's resource %q does not name a %s", a.Resource, typ)
		default: // vpc/ID, elastic-ip/ID, cluster/NAME, role/PATH/NAME
			id = parts[len(parts)-1]
		}
	case inCluster && strings.Contains(id, ":"):
		cluster, id, _ = strings.Cut(id, ":")
	}
	if want, _ := in["cluster_name"].(string); cluster != "" && want != "" && cluster != want {
		return "", fmt.Errorf("it belongs to EKS cluster %s, but the region's cluster is %s", cluster, want)
	}
	if id == "" {
		return "", fmt.Errorf("no name or ID in it")
	}
	return id, nil
}
