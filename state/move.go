package state

import (
	"fmt"
	"slices"
)

// Move gives the objects recorded at address from (the current one and
// any deposed ones) the address to, and points the dependencies of the
// other resources at it: `regionctl state mv`, after a rename in the spec,
// so the next plan keeps the objects instead of replacing them. Nothing
// may be recorded at to yet. It returns the objects moved; state is
// unchanged on error.
func (s *State) Move(from, to string) ([]Resource, error) {
	if from == to {
		return nil, fmt.Errorf("%s and the destination are the same address", from)
	}
	var moved []Resource
	for _, r := range s.Resources {
		switch r.Address {
		case from:
			moved = append(moved, r)
		case to:
			return nil, fmt.Errorf("%s is already in state (ID %s): move or remove it first", to, r.ID)
		}
	}
	if len(moved) == 0 {
		return nil, fmt.Errorf("no resource %s in the state of region %s", from, s.Region)
	}
	kept := s.Resources[:0]
	for _, r := range s.Resources {
		if r.Address != from {
			kept = append(kept, r)
		}
	}
	s.Resources = kept
	for i := range s.Resources {
		deps := s.Resources[i].Dependencies
		if j := slices.Index(deps, from); j >= 0 {
			deps = slices.Clone(deps)
			if slices.Contains(deps, to) {
				deps = slices.Delete(deps, j, j+1)
			} else {
				deps[j] = to
			}
			s.Resources[i].Dependencies = deps
		}
	}
	for i := range moved {
		moved[i].Address = to
		s.Resources = append(s.Resources, moved[i])
	}
	s.sort()
	return moved, nil
}
