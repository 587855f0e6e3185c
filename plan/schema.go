package plan

import (
	"context"
	"fmt"
	"sync"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// schemaIndex is a driver's resource schemas by type
// (Capabilities.Resources), read once. A driver without schemas has an
// empty index: its resources are version 0 and replace by ForceNew alone.
type schemaIndex struct {
	once   sync.Once
	byType map[string]providers.ResourceSchema
}

func indexSchemas(c providers.Capabilities) map[string]providers.ResourceSchema {
	m := make(map[string]providers.ResourceSchema, len(c.Resources))
	for _, s := range c.Resources {
		m[s.Type] = s
	}
	return m
}

func (x *schemaIndex) of(drv providers.Driver) map[string]providers.ResourceSchema {
	x.once.Do(func() { x.byType = indexSchemas(drv.Capabilities()) })
	return x.byType
}

// upgradeResource returns res with its inputs and outputs in the current
// schema version of its type, through the driver's StateUpgrader; state
// written before schema versions existed is version 0. A resource recorded
// by a newer driver than this one is an error: its values cannot be read
// safely. It makes no cloud call.
func upgradeResource(ctx context.Context, drv providers.Driver, schemas map[string]providers.ResourceSchema, res state.Resource) (state.Resource, error) {
	s, ok := schemas[res.Type]
	switch {
	case !ok || res.SchemaVersion == s.Version:
		return res, nil
	case res.SchemaVersion > s.Version:
		return res, fmt.Errorf("%s was recorded with schema version %d of %s, but this driver knows versions up to %d: use a newer regionctl",
			res.Key(), res.SchemaVersion, res.Type, s.Version)
	}
	up, ok := drv.(providers.StateUpgrader)
	if !ok {
		return res, fmt.Errorf("%s was recorded with schema version %d of %s, and the driver (at version %d) cannot upgrade it",
			res.Key(), res.SchemaVersion, res.Type, s.Version)
	}
	resp, err := up.UpgradeState(ctx, providers.UpgradeStateRequest{Instance: instanceOf(res)})
	if err != nil {
		return res, fmt.Errorf("upgrade %s from schema version %d: %w", res.Key(), res.SchemaVersion, err)
	}
	if resp.SchemaVersion != s.Version {
		return res, fmt.Errorf("upgrade %s: the driver returned schema version %d, not %d", res.Key(), resp.SchemaVersion, s.Version)
	}
	in, err := normalizeValues(resp.Inputs)
	if err != nil {
		return res, fmt.Errorf("upgrade %s: inputs: %w", res.Key(), err)
	}
	out, err := normalizeValues(resp.Outputs)
	if err != nil {
		return res, fmt.Errorf("upgrade %s: outputs: %w", res.Key(), err)
	}
	res.Inputs, res.Outputs, res.SchemaVersion = in, out, resp.SchemaVersion
	return res, nil
}

// replaceRules returns the inputs of d whose change replaces it — its
// ForceNew, plus the inputs its type's schema marks RequiresReplace that it
// has — and the schema's reason for each, where it gives one.
func replaceRules(d *providers.Resource, schemas map[string]providers.ResourceSchema) (forceNew map[string]bool, why map[string]string) {
	forceNew, why = map[string]bool{}, map[string]string{}
	for _, k := range d.ForceNew {
		forceNew[k] = true
	}
	s, ok := schemas[d.Type]
	if !ok {
		return forceNew, why
	}
	for _, k := range s.ReplaceKeys(d.Inputs) {
		forceNew[k] = true
	}
	for _, a := range s.Inputs {
		if forceNew[a.Name] && a.ReplaceReason != "" {
			why[a.Name] = a.ReplaceReason
		}
	}
	return forceNew, why
}
