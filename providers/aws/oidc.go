package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
)

// Workload identity on EKS (spec.cluster.workloadIdentity: true) is IRSA:
// an IAM OpenID Connect provider for the cluster's issuer, so a role whose
// trust policy names the provider can be assumed with a pod's projected
// service-account token (sts:AssumeRoleWithWebIdentity). The provider
// trusts tokens for the audience sts.amazonaws.com; IAM checks the
// issuer's certificate against its own trusted CAs, so no thumbprint is
// needed.

// TypeIAMOIDCProvider is the IAM OpenID Connect provider of a cluster.
const TypeIAMOIDCProvider = "aws_iam_oidc_provider"

// irsaAudience is the audience of the tokens EKS's pod identity webhook
// projects for IRSA.
const irsaAudience = "sts.amazonaws.com"

// expandWorkloadIdentity adds the cluster's OIDC provider when asked.
func expandWorkloadIdentity(region, cluster string, on bool, add func(providers.Resource)) {
	if !on {
		return
	}
	add(providers.Resource{
		Address: providers.Address(region, TypeIAMOIDCProvider, "cluster"), Type: TypeIAMOIDCProvider,
		Inputs: providers.Values{"url": providers.Ref(cluster, "oidc_issuer"), "client_ids": []any{irsaAudience}},
	})
}

// ---- aws_iam_oidc_provider ----
//
// A provider's ID is its ARN (IAM's APIs take it); its URL, unique per
// account, is what Find looks for.

type oidcIn struct {
	URL       string   `kit:"url,replace" why:"IAM cannot change an OpenID Connect provider's URL"`
	ClientIDs []string `kit:"client_ids,set,replace" why:"regionctl sets the audiences only when it creates the provider"`
}

type oidcOut struct {
	ID  string `kit:"id"`
	ARN string `kit:"arn"`
}

type oidcCall = call[oidcIn, oidcOut]

type oidcHandler struct{}

func (oidcHandler) get(ctx context.Context, c *oidcCall, arn string) (*iam.GetOpenIDConnectProviderOutput, error) {
	out, err := c.Env.cl.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if isNotFound(err) {
		return nil, nil
	}
	return out, err
}

// byURL finds the provider of url in the account ("" when there is none).
func (h oidcHandler) byURL(ctx context.Context, c *oidcCall, url string) (string, *iam.GetOpenIDConnectProviderOutput, error) {
	list, err := c.Env.cl.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return "", nil, err
	}
	want := strings.TrimPrefix(url, "https://")
	for _, p := range list.OpenIDConnectProviderList {
		arn := aws.ToString(p.Arn)
		if !strings.HasSuffix(arn, ":oidc-provider/"+want) {
			continue
		}
		got, err := h.get(ctx, c, arn)
		return arn, got, err
	}
	return "", nil, nil
}

func (h oidcHandler) Find(ctx context.Context, c *oidcCall) (string, error) {
	arn, p, err := h.byURL(ctx, c, c.In.URL)
	if err != nil || p == nil || !matchTags(c.Meta, iamTagMap(p.Tags)) {
		return "", err
	}
	return arn, nil
}

func (h oidcHandler) Create(ctx context.Context, c *oidcCall) (string, error) {
	var tt []iamtypes.Tag
	for _, t := range ec2Tags(tags(c.Meta)) {
		tt = append(tt, iamtypes.Tag{Key: t.Key, Value: t.Value})
	}
	out, err := c.Env.cl.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(c.In.URL), ClientIDList: c.In.ClientIDs, Tags: tt})
	if errCode(err) == "EntityAlreadyExists" {
		// No client token: a lost reply's retry finds the provider the
		// first attempt made. Adopt it when it carries our key.
		arn, p, gerr := h.byURL(ctx, c, c.In.URL)
		switch {
		case gerr != nil:
			return "", fmt.Errorf("%w; then look it up: %w", err, gerr)
		case p != nil && matchTags(c.Meta, iamTagMap(p.Tags)):
			return arn, nil
		}
		return "", fmt.Errorf("an IAM OpenID Connect provider for %s already exists and was not made by this create: use it outside regionctl, or delete it and apply again: %w", c.In.URL, err)
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.OpenIDConnectProviderArn), nil
}

func (h oidcHandler) Read(ctx context.Context, c *oidcCall) (*kit.Live[oidcIn, oidcOut], error) {
	p, err := h.get(ctx, c, c.ID)
	if err != nil || p == nil {
		return nil, err
	}
	in := oidcIn{URL: "https://" + aws.ToString(p.Url), ClientIDs: p.ClientIDList}
	return c.Found(in, oidcOut{ID: c.ID, ARN: c.ID}), nil
}

// Update has nothing to do: every input forces a replacement.
func (oidcHandler) Update(context.Context, *oidcCall, []string) error { return nil }

func (oidcHandler) Delete(ctx context.Context, c *oidcCall) error {
	_, err := c.Env.cl.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(c.ID)})
	if isNotFound(err) {
		return nil
	}
	return err
}

// workloadIdentity is what a deploy needs to bind a service account to an
// IAM role, from the recorded cluster and OIDC provider (nil without the
// provider).
func workloadIdentity(resources []providers.Instance, cluster providers.Instance) *kubernetes.WorkloadIdentity {
	for _, r := range resources {
		if r.Type != TypeIAMOIDCProvider {
			continue
		}
		arn, _ := r.Outputs["arn"].(string)
		issuer, _ := r.Inputs["url"].(string)
		if issuer == "" {
			issuer, _ = cluster.Outputs["oidc_issuer"].(string)
		}
		return &kubernetes.WorkloadIdentity{
			Issuer: issuer, Provider: arn, Audience: irsaAudience,
			ServiceAccountAnnotation: "eks.amazonaws.com/role-arn",
			TrustSubject:             strings.TrimPrefix(issuer, "https://") + ":sub = system:serviceaccount:NAMESPACE:NAME",
		}
	}
	return nil
}
