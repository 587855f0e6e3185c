package azure

import (
	"context"
	"fmt"

	"github.com/regionctl/regionctl/providers"
)

var _ providers.Identifier = (*Driver)(nil)

// Identity names the Azure subscription the region's resources live in:
// the resource group's subscription_id input (spec.overrides.azure.
// subscriptionId) or the default subscription (AZURE_SUBSCRIPTION_ID; the
// sandbox's). It makes no call.
func (d *Driver) Identity(_ context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	sub := providers.FirstInput(req.Resources, "subscription_id")
	if sub == "" {
		sub = d.subscription
	}
	if sub == "" {
		return providers.IdentityResponse{}, fmt.Errorf("azure: region %s: no Azure subscription: set spec.overrides.azure.subscriptionId or %s", req.Region, EnvSubscription)
	}
	return providers.IdentityResponse{Identity: providers.Identity{Kind: "Azure subscription", ID: sub}}, nil
}
