package drivertest

import (
	"github.com/regionctl/regionctl/providers"
)

// testIdentity checks a providers.Identifier: it names an account (a Kind
// and an ID) for the region's expanded resources, the same one each time,
// without panicking; the engine binds plans and state to that answer.
func (s *suite) testIdentity(t *st) {
	idr, ok := s.d.(providers.Identifier)
	if !ok {
		t.Skipf("driver does not implement providers.Identifier: plans and state are bound to \"a real cloud\", not to an account")
	}
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.d.Expand(ctx, providers.ExpandRequest{Region: s.cfg.Region})
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	req := providers.IdentityRequest{Region: s.cfg.Region.Metadata.Name, Resources: resp.Resources}
	var first, second providers.IdentityResponse
	err = guard(func() error {
		var err error
		if first, err = idr.Identity(ctx, req); err != nil {
			return err
		}
		second, err = idr.Identity(ctx, req)
		return err
	})
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	id := first.Identity
	if id.Kind == "" || id.ID == "" || id.Account() == "" {
		t.Errorf("Identity names no account: %+v (want a Kind such as \"AWS account\" and an ID)", id)
	}
	if second.Identity.Account() != id.Account() {
		t.Errorf("Identity answers %q, then %q: a plan would be refused by its own apply", id.Account(), second.Identity.Account())
	}
	t.Logf("account: %s (principal %q)", id.Account(), id.Principal)
}
