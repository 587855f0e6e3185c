package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/state/backendconfig"
)

// rateBudgets are the overrides of the rate budgets the drivers pace their
// API calls with: the `rateBudgets` block of regionctl.yaml, then each
// --rate-budget flag (which wins), as "cloud:bucket" → limit:
//
//	# regionctl.yaml
//	rateBudgets:
//	  aws:ec2/write: 5/s,200     # RATE/s,BURST
//	  azure:arm/read: 20/s,250
//	  digitalocean:api: 4/s,250  # a driver plugin's, when it declares them
//
// Each must name a bucket its cloud has: a built-in cloud's published one
// (budget.Published), or one the driver of that name declares
// (providers.Capabilities.RateBudgets; a plugin's cross the boundary).
// Called with driversMu held (from driver).
func (a *app) rateBudgets(ctx context.Context) (budget.Overrides, error) {
	out := budget.Overrides{}
	check := func(cloud, bucket string) error { return a.checkRateBudget(ctx, cloud, bucket) }
	path := backendconfig.FileName // in the working directory, like the backend block
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	default:
		if err := parseRateBudgets(backendconfig.FileName, data, out, check); err != nil {
			return nil, err
		}
	}
	for _, f := range a.g.rateBudgets {
		k, l, err := parseOverride(f, check)
		if err != nil {
			return nil, fmt.Errorf("%w: --rate-budget %v", ErrBadFlag, err)
		}
		out[k] = l
	}
	return out, nil
}

// checkRateBudgets refuses rate budgets rateBudgets would refuse.
func (a *app) checkRateBudgets(ctx context.Context) error {
	a.driversMu.Lock()
	defer a.driversMu.Unlock()
	_, err := a.rateBudgets(ctx)
	return err
}

// checkRateBudget reports an error unless cloud has bucket: in
// budget.Published for a built-in cloud, else in the budgets the driver of
// that name declares (building it offline). An unknown cloud's error names
// every cloud with budgets.
func (a *app) checkRateBudget(ctx context.Context, cloud, bucket string) error {
	if budget.Published[cloud] != nil {
		return budget.Check(cloud, bucket)
	}
	if _, ok := a.registry().registry[cloud]; ok {
		t, err := a.declaredBudgets(ctx, cloud)
		if err != nil {
			return err
		}
		if len(t) == 0 {
			return fmt.Errorf("driver %s declares no rate budgets (providers.Capabilities.RateBudgets), so it has none to override", cloud)
		}
		return budget.CheckIn(map[string]budget.Table{cloud: t}, cloud, bucket)
	}
	known := maps.Clone(budget.Published)
	for name := range a.registry().registry {
		if t, err := a.declaredBudgets(ctx, name); err == nil && len(t) > 0 && known[name] == nil {
			known[name] = t
		}
	}
	return budget.CheckIn(known, cloud, bucket)
}

// declaredBudgets are the rate budgets driver name declares in its
// capabilities, from the driver built offline. Called with driversMu held.
func (a *app) declaredBudgets(ctx context.Context, name string) (budget.Table, error) {
	d, err := a.offlineDriverLocked(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", name, err)
	}
	return d.Capabilities().RateBudgets, nil
}

// parseOverride parses "cloud:bucket=RATE/s,BURST", refused when check
// refuses its cloud and bucket.
func parseOverride(s string, check func(cloud, bucket string) error) (string, budget.Limit, error) {
	key, l, err := budget.SplitOverride(s)
	if err != nil {
		return "", budget.Limit{}, err
	}
	cloud, bucket, _ := strings.Cut(key, ":")
	if err := check(cloud, bucket); err != nil {
		return "", budget.Limit{}, fmt.Errorf("%q: %w", s, err)
	}
	return key, l, nil
}

// parseRateBudgets reads the rateBudgets block of a regionctl.yaml into
// out, with errors naming the file, line and column; check refuses a key
// whose cloud has no such bucket.
func parseRateBudgets(name string, data []byte, out budget.Overrides, check func(cloud, bucket string) error) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("%s: %v", name, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil // backendconfig reports a file of the wrong shape
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "rateBudgets" {
			continue
		}
		block := root.Content[i+1]
		if block.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d:%d: rateBudgets: want a mapping like `aws:ec2/write: 5/s,200`", name, block.Line, block.Column)
		}
		for j := 0; j+1 < len(block.Content); j += 2 {
			k, v := block.Content[j], block.Content[j+1]
			key, l, err := parseOverride(k.Value+"="+v.Value, check)
			if err != nil {
				return fmt.Errorf("%s:%d:%d: rateBudgets: %v", name, k.Line, k.Column, err)
			}
			out[key] = l
		}
	}
	return nil
}
