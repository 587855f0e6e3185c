package aws

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// Per-region credentials. A region may name a role to assume
// (spec.overrides.aws.assumeRole) and the account it expects to act in
// (spec.overrides.aws.accountId); a fleet then spans accounts, one role
// per region, from one set of base credentials (the default chain, or the
// sandbox's key). Both travel as every AWS resource's Connection inputs
// (kit.Options.Connection): recorded in plans and state, so an apply of a
// saved plan, a refresh and a destroy whose spec is gone all act through
// the same role, and a change of role alone changes nothing in the cloud.

// connection is what every AWS resource's calls go through.
type connection struct {
	// AssumeRole is the role the region's calls assume; nil for the base
	// credentials.
	AssumeRole *assumeRole `kit:"assume_role,omitempty" doc:"the IAM role the region's calls assume (spec.overrides.aws.assumeRole)"`
	// AccountID is the account the region must act in; planning and
	// applying stop when the credentials act in another.
	AccountID *string `kit:"account_id,omitempty" doc:"the AWS account the region must act in (spec.overrides.aws.accountId)"`
}

// assumeRole is an IAM role to assume with sts:AssumeRole.
type assumeRole struct {
	RoleARN     string `kit:"role_arn"`
	ExternalID  string `kit:"external_id,omitempty"`
	SessionName string `kit:"session_name,omitempty"`
}

// defaultSessionName names the sessions regionctl opens (CloudTrail shows
// it as the assumed-role ARN's last part).
const defaultSessionName = "regionctl"

// key identifies the credentials a connection uses ("" for the base ones).
func (c connection) key() string {
	if c.AssumeRole == nil {
		return ""
	}
	return c.AssumeRole.RoleARN + "\x00" + c.AssumeRole.ExternalID + "\x00" + c.AssumeRole.SessionName
}

// values are the Connection inputs of a region's resources (nil when the
// region uses the base credentials and names no account).
func (c connection) values() providers.Values {
	v := providers.Values{}
	if r := c.AssumeRole; r != nil {
		m := map[string]any{"role_arn": r.RoleARN}
		if r.ExternalID != "" {
			m["external_id"] = r.ExternalID
		}
		if r.SessionName != "" {
			m["session_name"] = r.SessionName
		}
		v["assume_role"] = m
	}
	if c.AccountID != nil {
		v["account_id"] = *c.AccountID
	}
	return v
}

// connectionOf reads the Connection inputs of one resource's values.
func connectionOf(in providers.Values) (connection, error) {
	var c connection
	if in == nil {
		return c, nil
	}
	err := kit.Decode(in, &c)
	return c, err
}

// connectionFor is the connection of target t: its desired inputs', else
// its recorded ones'.
func connectionFor(t kit.Target) (connection, error) {
	for _, v := range []providers.Values{t.Inputs, t.Prev} {
		if _, ok := v["assume_role"]; ok {
			return connectionOf(v)
		}
		if _, ok := v["account_id"]; ok {
			return connectionOf(v)
		}
	}
	return connection{}, nil
}

// remember records region's connection, for calls that carry no AWS
// inputs of their own (the in-cluster objects' tokens).
func (d *Driver) remember(region string, c connection) {
	if region == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.regions[region] = c
}

// connectionOfRegion is what remember recorded for region.
func (d *Driver) connectionOfRegion(region string) connection {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.regions[region]
}

// configFor is the base configuration for location, signing with c's
// credentials: the base ones, or sessions of c's role, assumed through
// STS in location (the sandbox's STS in sandbox mode) and renewed before
// they expire.
func (d *Driver) configFor(location string, c connection) aws.Config {
	cfg := d.base.Copy()
	if location != "" {
		cfg.Region = location
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if d.endpoint != "" {
		cfg.BaseEndpoint = aws.String(d.endpoint)
	}
	if c.AssumeRole == nil {
		return cfg
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	k := c.key()
	creds, ok := d.roleCreds[k]
	if !ok {
		r := *c.AssumeRole
		stsCfg := cfg.Copy()
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(stsCfg), r.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = r.SessionName
			if o.RoleSessionName == "" {
				o.RoleSessionName = defaultSessionName
			}
			if r.ExternalID != "" {
				o.ExternalID = aws.String(r.ExternalID)
			}
		}))
		d.roleCreds[k] = creds
	}
	cfg.Credentials = creds
	return cfg
}

// Validation of the overrides' values.
var (
	roleARNPattern     = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	accountIDPattern   = regexp.MustCompile(`^[0-9]{12}$`)
)

// checkAccount refuses an identity in another account than c names.
func (c connection) checkAccount(region string, id providers.Identity) error {
	if c.AccountID == nil || *c.AccountID == id.ID {
		return nil
	}
	how := "the credentials act"
	if c.AssumeRole != nil {
		how = "the role " + c.AssumeRole.RoleARN + " acts"
	}
	return fmt.Errorf("aws: region %s must act in AWS account %s (spec.overrides.aws.accountId), but %s in %s as %s: refusing; fix the role or the account id: %w",
		region, *c.AccountID, how, id.ID, id.Principal, providers.ErrWrongAccount)
}

// regionOf is the region name of an address ("" when it has none).
func regionOf(address string) string {
	region, _, _ := strings.Cut(address, "/")
	return region
}

// identityOf resolves who c's credentials act as in location, with STS
// GetCallerIdentity, caching the answer per credentials.
func (d *Driver) identityOf(ctx context.Context, location string, c connection) (providers.Identity, error) {
	k := c.key()
	d.mu.Lock()
	cached, ok := d.identities[k]
	d.mu.Unlock()
	if ok {
		return cached, nil
	}
	out, err := sts.NewFromConfig(d.configFor(location, c)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		if c.AssumeRole != nil {
			return providers.Identity{}, fmt.Errorf("aws: assume %s and ask which account it acts in (sts:AssumeRole, sts:GetCallerIdentity): %w", c.AssumeRole.RoleARN, err)
		}
		return providers.Identity{}, fmt.Errorf("aws: which account do the credentials act in (sts:GetCallerIdentity): %w", err)
	}
	id := providers.Identity{Kind: "AWS account", ID: aws.ToString(out.Account), Principal: aws.ToString(out.Arn)}
	if id.ID == "" {
		return providers.Identity{}, fmt.Errorf("aws: sts:GetCallerIdentity named no account")
	}
	d.mu.Lock()
	d.identities[k] = id
	d.mu.Unlock()
	return id, nil
}
