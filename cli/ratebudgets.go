package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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
func (a *app) rateBudgets() (budget.Overrides, error) {
	out := budget.Overrides{}
	path := backendconfig.FileName // in the working directory, like the backend block
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	default:
		if err := parseRateBudgets(backendconfig.FileName, data, out); err != nil {
			return nil, err
		}
	}
	for _, f := range a.g.rateBudgets {
		k, l, err := budget.ParseOverride(f)
		if err != nil {
			return nil, fmt.Errorf("%w: --rate-budget %v", ErrBadFlag, err)
		}
		out[k] = l
	}
	return out, nil
}

// parseRateBudgets reads the rateBudgets block of a regionctl.yaml into
// out, with errors naming the file, line and column.
func parseRateBudgets(name string, data []byte, out budget.Overrides) error {
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
			key, l, err := budget.ParseOverride(k.Value + "=" + v.Value)
			if err != nil {
				return fmt.Errorf("%s:%d:%d: rateBudgets: %v", name, k.Line, k.Column, err)
			}
			out[key] = l
		}
	}
	return nil
}
