package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/regionctl/regionctl/providers"
)

var _ providers.Identifier = (*Driver)(nil)

// Identity resolves the AWS account the driver's credentials act in with
// STS GetCallerIdentity (in the sandbox: the emulator's STS). The answer is
// cached: one driver has one set of credentials.
func (d *Driver) Identity(ctx context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	d.mu.Lock()
	cached := d.identity
	d.mu.Unlock()
	if cached.ID != "" {
		return providers.IdentityResponse{Identity: cached}, nil
	}
	cfg := d.base.Copy()
	for _, r := range req.Resources {
		if loc, _ := r.Inputs["location"].(string); loc != "" {
			cfg.Region = loc // STS answers in every region; use the region's own
			break
		}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if d.endpoint != "" {
			o.BaseEndpoint = aws.String(d.endpoint) // the sandbox's STS
		}
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return providers.IdentityResponse{}, fmt.Errorf("aws: which account do the credentials act in (sts:GetCallerIdentity): %w", err)
	}
	id := providers.Identity{Kind: "AWS account", ID: aws.ToString(out.Account), Principal: aws.ToString(out.Arn)}
	if id.ID == "" {
		return providers.IdentityResponse{}, fmt.Errorf("aws: sts:GetCallerIdentity named no account")
	}
	d.mu.Lock()
	d.identity = id
	d.mu.Unlock()
	return providers.IdentityResponse{Identity: id}, nil
}
