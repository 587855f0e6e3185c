package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/regionctl/regionctl/providers/kit"
)

// ---- aws_iam_role ----
//
// A role's ID is its name: IAM's APIs take names, and role names are
// unique per account.

type roleHandler struct{}

func trustPolicy(service string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": service}, "Action": "sts:AssumeRole",
		}},
	}
	b, _ := json.Marshal(doc) // a map of strings always marshals
	return string(b)
}

// trustedService returns the service principal of a role's trust policy
// (IAM returns the document URL-encoded), or nil.
func trustedService(doc string) *string {
	if dec, err := url.QueryUnescape(doc); err == nil {
		doc = dec
	}
	var p struct {
		Statement []struct {
			Principal struct {
				Service any `json:"Service"`
			} `json:"Principal"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &p) != nil || len(p.Statement) != 1 {
		return nil
	}
	switch s := p.Statement[0].Principal.Service.(type) {
	case string:
		return &s
	case []any:
		if len(s) == 1 {
			if v, ok := s[0].(string); ok {
				return &v
			}
		}
	}
	return nil
}

func iamTagMap(tags []iamtypes.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

type roleIn struct {
	Name string `kit:"name,replace" why:"IAM cannot rename a role"`
	// Service is the principal of the trust policy; nil when the policy is
	// not one regionctl writes.
	Service    *string  `kit:"service,replace" why:"regionctl writes a role's trust policy only when it creates it"`
	PolicyARNs []string `kit:"policy_arns,set"`
}

type roleOut struct {
	ID     string `kit:"id"`
	ARN    string `kit:"arn"`
	RoleID string `kit:"role_id"`
}

type roleCall = call[roleIn, roleOut]

func (roleHandler) get(ctx context.Context, c *roleCall, name string) (*iamtypes.Role, error) {
	out, err := c.Env.cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Role, nil
}

func (h roleHandler) Find(ctx context.Context, c *roleCall) (string, error) {
	name := c.In.Name
	if name == "" {
		return "", nil
	}
	r, err := h.get(ctx, c, name)
	if err != nil || r == nil {
		return "", err
	}
	if !matchTags(c.Meta, iamTagMap(r.Tags)) {
		return "", nil
	}
	return name, nil
}

func (h roleHandler) Create(ctx context.Context, c *roleCall) (string, error) {
	name := c.In.Name
	r, err := h.get(ctx, c, name)
	if err != nil {
		return "", err
	}
	if r != nil && !matchTags(c.Meta, iamTagMap(r.Tags)) {
		return "", fmt.Errorf("IAM role %s already exists and was not made by this create (its %s tag is %q): delete it, or rename the region",
			name, TagAddress, iamTagMap(r.Tags)[TagAddress])
	}
	if r == nil {
		var tt []iamtypes.Tag
		for _, t := range ec2Tags(tags(c.Meta)) {
			tt = append(tt, iamtypes.Tag{Key: t.Key, Value: t.Value})
		}
		_, err := c.Env.cl.iam.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy(aws.ToString(c.In.Service))),
			Description: aws.String("regionctl " + c.Address), Tags: tt,
		})
		if errCode(err) == "EntityAlreadyExists" {
			// CreateRole takes no client token: when a reply is lost, the
			// SDK's retry finds the role the first attempt made. Adopt it
			// when it carries our key; anyone else's role is an error.
			r, gerr := h.get(ctx, c, name)
			switch {
			case gerr != nil:
				return "", fmt.Errorf("%w; then look it up: %w", err, gerr)
			case r != nil && matchTags(c.Meta, iamTagMap(r.Tags)):
				err = nil
			case r != nil:
				return "", fmt.Errorf("IAM role %s already exists and was not made by this create (its %s tag is %q): delete it, or rename the region",
					name, TagAddress, iamTagMap(r.Tags)[TagAddress])
			}
		}
		if err != nil {
			return "", err
		}
	}
	c.ID = name
	return name, h.reconcile(ctx, c)
}

func (roleHandler) attached(ctx context.Context, c *roleCall) ([]string, error) {
	var arns []string
	p := iam.NewListAttachedRolePoliciesPaginator(c.Env.cl.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(c.ID)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range out.AttachedPolicies {
			arns = append(arns, aws.ToString(a.PolicyArn))
		}
	}
	return arns, nil
}

// reconcile attaches the wanted managed policies and detaches the others.
func (h roleHandler) reconcile(ctx context.Context, c *roleCall) error {
	have, err := h.attached(ctx, c)
	if err != nil {
		return fmt.Errorf("list attached policies: %w", err)
	}
	want := c.In.PolicyARNs
	for _, arn := range want {
		if slices.Contains(have, arn) {
			continue
		}
		if _, err := c.Env.cl.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(c.ID), PolicyArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("attach %s: %w", arn, err)
		}
	}
	for _, arn := range have {
		if slices.Contains(want, arn) {
			continue
		}
		if _, err := c.Env.cl.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(c.ID), PolicyArn: aws.String(arn)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("detach %s: %w", arn, err)
		}
	}
	return nil
}

func (h roleHandler) Read(ctx context.Context, c *roleCall) (*kit.Live[roleIn, roleOut], error) {
	r, err := h.get(ctx, c, c.ID)
	if err != nil || r == nil {
		return nil, err
	}
	arns, err := h.attached(ctx, c)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return roleLive(c, r.RoleName, r.AssumeRolePolicyDocument, r.Arn, r.RoleId, arns), nil
}

// roleLive reports a role from what GetRole (or the account's
// authorization details) says of it and its attached policies.
func roleLive(c *roleCall, name, trust, arn, roleID *string, policyARNs []string) *kit.Live[roleIn, roleOut] {
	in := roleIn{Name: aws.ToString(name), Service: trustedService(aws.ToString(trust)), PolicyARNs: policyARNs}
	return c.Found(in, roleOut{ID: c.ID, ARN: aws.ToString(arn), RoleID: aws.ToString(roleID)})
}

// Update attaches and detaches managed policies, the only input that
// changes in place.
func (h roleHandler) Update(ctx context.Context, c *roleCall, _ []string) error {
	return h.reconcile(ctx, c)
}

func (h roleHandler) Delete(ctx context.Context, c *roleCall) error {
	arns, err := h.attached(ctx, c)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list attached policies: %w", err)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		if _, err := c.Env.cl.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(c.ID), PolicyArn: aws.String(arn)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("detach %s: %w", arn, err)
		}
	}
	err = c.Env.d.retryDependency(ctx, func() error {
		_, err := c.Env.cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(c.ID)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}
