package sandbox

import (
	"maps"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// CensusObject is one object the emulated clouds hold, with its tags (AWS
// and Azure tags, GCP labels; for GCP networks, subnetworks and routers,
// which take no labels, the tag "description" holds their description).
// Objects a cloud makes on its own (a VPC's main route table, an AKS
// node resource group) usually carry none of regionctl's.
type CensusObject struct {
	Object
	Tags map[string]string `json:"tags,omitempty"`
}

// Census returns every object the emulators hold with its tags, in List's
// order: what a test compares with regionctl's state to find orphans,
// duplicates and missing objects.
func (s *Sandbox) Census() []CensusObject {
	return census(s.emus)
}

// CensusDir reads the state a sandbox left in dir (running or not) and
// returns its census.
func CensusDir(dir string) ([]CensusObject, error) {
	o := Options{Dir: dir}.withDefaults()
	emus := newEmulators(o)
	for _, e := range emus {
		if err := loadState(dir, e); err != nil {
			return nil, err
		}
	}
	return census(emus), nil
}

func census(emus []emu.Emulator) []CensusObject {
	tags := map[string]map[string]string{}
	for _, e := range emus {
		if t, ok := e.(emu.Tagger); ok {
			maps.Copy(tags, t.Tags())
		}
	}
	objs := listAll(emus)
	out := make([]CensusObject, len(objs))
	for i, o := range objs {
		out[i] = CensusObject{Object: o, Tags: tags[emu.TagKey(o.Type, o.ID)]}
	}
	return out
}
