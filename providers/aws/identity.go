package aws

import (
	"context"

	"github.com/regionctl/regionctl/providers"
)

var _ providers.Identifier = (*Driver)(nil)

// Identity resolves the AWS account a region's calls act in with STS
// GetCallerIdentity (in the sandbox: the emulator's STS), through the role
// the region assumes when its resources name one (account.go), and
// refuses an account other than the one spec.overrides.aws.accountId
// names. The answer is cached per set of credentials.
func (d *Driver) Identity(ctx context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	var c connection
	location := ""
	for _, r := range req.Resources {
		if loc, _ := r.Inputs["location"].(string); loc != "" && location == "" {
			location = loc // STS answers in every region; use the region's own
		}
		if _, ok := r.Inputs["assume_role"]; ok || r.Inputs["account_id"] != nil {
			var err error
			if c, err = connectionOf(r.Inputs); err != nil {
				return providers.IdentityResponse{}, err
			}
			break
		}
	}
	d.remember(req.Region, c)
	id, err := d.identityOf(ctx, location, c)
	if err != nil {
		return providers.IdentityResponse{}, err
	}
	if err := c.checkAccount(req.Region, id); err != nil {
		return providers.IdentityResponse{}, err
	}
	return providers.IdentityResponse{Identity: id}, nil
}
