package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WritePlanFile writes p to path as JSON, atomically: the file is written
// beside path under a temporary name, synced, and renamed over path, so a
// reader sees the old file or the new one. The file holds the plan's inputs
// and refreshed values, never credentials; it is created with mode 0600.
func WritePlanFile(path string, p *Plan) error {
	if p.FormatVersion == 0 {
		p.FormatVersion = FormatVersion
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plan file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write plan file %s: %w", path, err)
	}
	return nil
}

// ReadPlanFile reads a plan written by WritePlanFile. A file that is not
// JSON, not a plan, or made by a newer regionctl is an error saying so.
func ReadPlanFile(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	var probe struct {
		FormatVersion *int `json:"formatVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("read plan file %s: not a regionctl plan file (corrupt or truncated JSON): %w", path, err)
	}
	switch {
	case probe.FormatVersion == nil || *probe.FormatVersion < 1:
		return nil, fmt.Errorf("read plan file %s: not a regionctl plan file (no formatVersion)", path)
	case *probe.FormatVersion > FormatVersion:
		return nil, fmt.Errorf("read plan file %s: format version %d is newer than this regionctl understands (%d): apply it with the regionctl that made it, or plan again", path, *probe.FormatVersion, FormatVersion)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		var ua *UnknownActionError
		if errors.As(err, &ua) {
			return nil, fmt.Errorf("read plan file %s: %w", path, err)
		}
		return nil, fmt.Errorf("read plan file %s: corrupt plan: %w", path, err)
	}
	for _, r := range p.Regions {
		if r.Region == "" {
			return nil, fmt.Errorf("read plan file %s: corrupt plan: a region has no name", path)
		}
	}
	return &p, nil
}
