package aws

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// IAM OpenID Connect providers: what IRSA needs to let a cluster's
// service-account tokens assume roles. A provider is keyed by its URL
// without the scheme (unique per account, as in IAM); its ARN is
// arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH.

// oidcProviderRec is one provider.
type oidcProviderRec struct {
	URL         string         `json:"url"` // without https://
	ClientIDs   []string       `json:"clientIds"`
	Thumbprints []string       `json:"thumbprints"`
	Created     time.Time      `json:"created"`
	Tags        []iamtypes.Tag `json:"tags"`
}

// thumbprintRE is a SHA-1 certificate thumbprint, as IAM accepts it.
var thumbprintRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

func (e *Emulator) oidcARN(u string) string {
	return fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", e.acct, u)
}

// oidcProvider finds the provider an ARN names in the current account.
func (e *Emulator) oidcProvider(arn string) (string, *oidcProviderRec, *apiErr) {
	prefix := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/", e.acct)
	u, ok := strings.CutPrefix(arn, prefix)
	if !ok || u == "" {
		if !strings.HasPrefix(arn, "arn:aws:iam::") {
			return "", nil, errf(400, "InvalidInput", "ARN %s is not valid.", arn)
		}
		return "", nil, errf(404, "NoSuchEntity", "OpenIDConnect Provider not found for arn %s", arn)
	}
	p, ok := e.st.OIDCProviders[u]
	if !ok {
		return "", nil, errf(404, "NoSuchEntity", "OpenIDConnect Provider not found for arn %s", arn)
	}
	return u, p, nil
}

// oidcOp answers the OpenID Connect provider operations; ok is false for
// any other operation.
func (e *Emulator) oidcOp(op string, f form) (out smithy.Serializable, changed bool, aerr *apiErr, ok bool) {
	s := e.st
	switch op {
	case "CreateOpenIDConnectProvider":
		raw := f.get("Url")
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || len(raw) > 255 {
			return nil, false, errf(400, "InvalidInput", "Invalid Url: %s", raw), true
		}
		key := u.Host + strings.TrimSuffix(u.Path, "/")
		thumbs := f.list("ThumbprintList.member")
		for _, t := range thumbs {
			if !thumbprintRE.MatchString(t) {
				return nil, false, errf(400, "InvalidInput", "Thumbprint %s is not a valid SHA-1 fingerprint.", t), true
			}
		}
		if len(thumbs) > 5 {
			return nil, false, errf(400, "LimitExceeded", "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5"), true
		}
		if _, dup := s.OIDCProviders[key]; dup {
			return nil, false, errf(409, "EntityAlreadyExists", "Provider with url %s already exists.", raw), true
		}
		tags := iamTags(f)
		if aerr := checkTags("iam:CreateOpenIDConnectProvider", nil, iamTagMap(tags)); aerr != nil {
			return nil, false, aerr, true
		}
		s.OIDCProviders[key] = &oidcProviderRec{URL: key, ClientIDs: nonNil(f.list("ClientIDList.member")), Thumbprints: nonNil(thumbs),
			Created: e.env.Now().UTC(), Tags: tags}
		return &iam.CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: ptr(e.oidcARN(key)), Tags: tags}, true, nil, true

	case "GetOpenIDConnectProvider":
		_, p, aerr := e.oidcProvider(f.get("OpenIDConnectProviderArn"))
		if aerr != nil {
			return nil, false, aerr, true
		}
		return &iam.GetOpenIDConnectProviderOutput{Url: ptr(p.URL), ClientIDList: nonNil(p.ClientIDs), ThumbprintList: nonNil(p.Thumbprints),
			CreateDate: ptr(p.Created), Tags: append([]iamtypes.Tag{}, p.Tags...)}, false, nil, true

	case "DeleteOpenIDConnectProvider":
		u, _, aerr := e.oidcProvider(f.get("OpenIDConnectProviderArn"))
		if aerr != nil {
			return nil, false, aerr, true
		}
		delete(s.OIDCProviders, u)
		return &iam.DeleteOpenIDConnectProviderOutput{}, true, nil, true

	case "ListOpenIDConnectProviders":
		list := []iamtypes.OpenIDConnectProviderListEntry{}
		for _, u := range sortedKeys(s.OIDCProviders) {
			list = append(list, iamtypes.OpenIDConnectProviderListEntry{Arn: ptr(e.oidcARN(u))})
		}
		return &iam.ListOpenIDConnectProvidersOutput{OpenIDConnectProviderList: list}, false, nil, true
	}
	return nil, false, nil, false
}
