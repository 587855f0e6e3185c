package gcp

import (
	"context"
	"fmt"
	"os"

	"github.com/regionctl/regionctl/providers"
)

var _ providers.Identifier = (*Driver)(nil)

// offlineProject stands in for the default project when the driver is
// built offline (validate) and neither the spec nor the environment names
// one: the project that Application Default Credentials carry is only
// known at plan time, which reports it when there is none.
const offlineProject = "project-from-credentials-at-plan-time"

// Identity names the GCP project the region's resources live in: the
// "project" input the driver expanded them with (spec.overrides.gcp.project
// or the default project), so a plan and its apply are bound to the same
// project. It makes no call.
func (d *Driver) Identity(_ context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	project := providers.FirstInput(req.Resources, "project")
	if project == "" {
		project = d.project
	}
	if project == "" {
		return providers.IdentityResponse{}, fmt.Errorf("gcp: region %s: no GCP project%s", req.Region, d.adcHint())
	}
	return providers.IdentityResponse{Identity: providers.Identity{Kind: "GCP project", ID: project}}, nil
}

// offlineDefaultProject is the default project of a driver built offline:
// the environment's, else offlineProject. Credentials are not read.
func offlineDefaultProject() string {
	for _, env := range []string{"GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"} {
		if p := os.Getenv(env); p != "" {
			return p
		}
	}
	return offlineProject
}
