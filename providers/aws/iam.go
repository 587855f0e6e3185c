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

	"github.com/regionctl/regionctl/providers"
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
// (IAM returns the document URL-encoded).
func trustedService(doc string) any {
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
		return s
	case []any:
		if len(s) == 1 {
			return s[0]
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

func (roleHandler) get(ctx context.Context, c *call, name string) (*iamtypes.Role, error) {
	out, err := c.cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Role, nil
}

func (h roleHandler) find(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	if name == "" {
		return "", nil
	}
	r, err := h.get(ctx, c, name)
	if err != nil || r == nil {
		return "", err
	}
	if !c.matchTags(iamTagMap(r.Tags)) {
		return "", nil
	}
	return name, nil
}

func (h roleHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	r, err := h.get(ctx, c, name)
	if err != nil {
		return "", err
	}
	if r != nil && !c.matchTags(iamTagMap(r.Tags)) {
		return "", fmt.Errorf("IAM role %s already exists and was not made by this create (its %s tag is %q): delete it, or rename the region",
			name, TagAddress, iamTagMap(r.Tags)[TagAddress])
	}
	if r == nil {
		var tags []iamtypes.Tag
		for _, t := range ec2Tags(c.tags()) {
			tags = append(tags, iamtypes.Tag{Key: t.Key, Value: t.Value})
		}
		_, err := c.cl.iam.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy(str(c.in, "service"))),
			Description: aws.String("regionctl " + c.address), Tags: tags,
		})
		if errCode(err) == "EntityAlreadyExists" {
			// CreateRole takes no client token: when a reply is lost, the
			// SDK's retry finds the role the first attempt made. Adopt it
			// when it carries our key; anyone else's role is an error.
			r, gerr := h.get(ctx, c, name)
			switch {
			case gerr != nil:
				return "", fmt.Errorf("%w; then look it up: %w", err, gerr)
			case r != nil && c.matchTags(iamTagMap(r.Tags)):
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
	c.id = name
	return name, h.reconcile(ctx, c)
}

func (roleHandler) attached(ctx context.Context, c *call) ([]string, error) {
	var arns []string
	p := iam.NewListAttachedRolePoliciesPaginator(c.cl.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(c.id)})
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
func (h roleHandler) reconcile(ctx context.Context, c *call) error {
	have, err := h.attached(ctx, c)
	if err != nil {
		return fmt.Errorf("list attached policies: %w", err)
	}
	want := strList(c.in, "policy_arns")
	for _, arn := range want {
		if slices.Contains(have, arn) {
			continue
		}
		if _, err := c.cl.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(c.id), PolicyArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("attach %s: %w", arn, err)
		}
	}
	for _, arn := range have {
		if slices.Contains(want, arn) {
			continue
		}
		if _, err := c.cl.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(c.id), PolicyArn: aws.String(arn)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("detach %s: %w", arn, err)
		}
	}
	return nil
}

func (h roleHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	r, err := h.get(ctx, c, c.id)
	if err != nil || r == nil {
		return false, nil, nil, err
	}
	arns, err := h.attached(ctx, c)
	if isNotFound(err) {
		return false, nil, nil, nil
	}
	if err != nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"name": aws.ToString(r.RoleName), "service": trustedService(aws.ToString(r.AssumeRolePolicyDocument)),
		"policy_arns": orderLike(arns, strList(c.prev, "policy_arns")),
	}
	return true, in, providers.Values{"id": c.id, "arn": aws.ToString(r.Arn), "role_id": aws.ToString(r.RoleId)}, nil
}

func (h roleHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		if k != "policy_arns" {
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	return h.reconcile(ctx, c)
}

func (h roleHandler) delete(ctx context.Context, c *call) error {
	arns, err := h.attached(ctx, c)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list attached policies: %w", err)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		if _, err := c.cl.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(c.id), PolicyArn: aws.String(arn)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("detach %s: %w", arn, err)
		}
	}
	err = c.d.retryDependency(ctx, func() error {
		_, err := c.cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(c.id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}
