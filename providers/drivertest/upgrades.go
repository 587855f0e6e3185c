package drivertest

import (
	"context"
	"fmt"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
)

// testCheckUpdate checks a providers.UpdateChecker against the suite's own
// in-place update (Config.UpdateInPlace), which a driver must accept: no
// error diagnostic, every diagnostic placed at a spec path, and no cloud
// call (it runs at plan time, like Expand).
func (s *suite) testCheckUpdate(t *st, w *world, updated []providers.Resource) {
	uc, ok := s.d.(providers.UpdateChecker)
	if !ok {
		t.Skipf("driver does not implement providers.UpdateChecker")
	}
	steps, err := w.diff(updated)
	if err != nil {
		t.Fatalf("%v", err)
	}
	before := s.callCount()
	checked := 0
	for _, st := range steps {
		if st.action != actUpdate {
			continue
		}
		in := w.inst[st.res.Address]
		after, err := resolveValues(st.res.Inputs, w.outputs, nil)
		if err != nil {
			t.Fatalf("%s: %v", st.res.Address, err)
		}
		var ds diag.Diagnostics
		err = guard(func() error {
			ctx, cancel := s.ctx()
			defer cancel()
			ds = uc.CheckUpdate(ctx, providers.CheckUpdateRequest{Address: st.res.Address, Type: st.res.Type, Before: in.Inputs, After: after})
			return nil
		})
		if err != nil {
			t.Fatalf("CheckUpdate of %s: %v", st.res.Address, err)
		}
		checked++
		for _, d := range ds {
			if d.Severity == diag.Error {
				t.Errorf("CheckUpdate refuses the suite's in-place update of %s (Config.UpdateInPlace), which the driver updates in place: %s", st.res.Address, d.Summary)
			}
			if !strings.HasPrefix(d.Path, "spec") {
				t.Errorf("CheckUpdate of %s: diagnostic %q has path %q; want the spec field it is about (\"spec.cluster.kubernetesVersion\"), where regionctl places it", st.res.Address, d.Summary, d.Path)
			}
		}
	}
	if after := s.callCount(); before >= 0 && after != before {
		t.Errorf("CheckUpdate made %d cloud calls; it runs at plan time and must make none", after-before)
	}
	t.Logf("checked %d in-place updates", checked)
}

// testHealth checks a providers.HealthChecker on the created region: it
// answers with named checks; with Config.Healthy (the cloud runs what the
// checks look at) every check passes.
func (s *suite) testHealth(t *st, w *world, region string) {
	hc, ok := s.d.(providers.HealthChecker)
	if !ok {
		t.Skipf("driver does not implement providers.HealthChecker")
	}
	if !s.cfg.Healthy {
		t.Skipf("Config.Healthy is not set: the cloud may not run what the health checks look at")
	}
	req := providers.HealthRequest{Region: region}
	for _, r := range w.graph {
		req.Resources = append(req.Resources, *w.inst[r.Address])
	}
	var resp providers.HealthResponse
	err := s.withCtx(func(ctx context.Context) (err error) {
		resp, err = hc.CheckHealth(ctx, req)
		return err
	})
	if err != nil {
		t.Fatalf("CheckHealth of the created region: %v", err)
	}
	if len(resp.Checks) == 0 {
		t.Fatalf("CheckHealth of the created region reports no check")
	}
	for _, c := range resp.Checks {
		if c.Name == "" {
			t.Errorf("CheckHealth: a check without a name: %+v", c)
		}
	}
	if failing := resp.Failing(); len(failing) > 0 {
		t.Errorf("CheckHealth: the region the suite created is not healthy: %s", describeChecks(failing))
	}
}

func describeChecks(cs []providers.HealthCheck) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s (%s)", c.Name, c.Detail)
	}
	return strings.Join(parts, "; ")
}
