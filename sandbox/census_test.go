package sandbox_test

import (
	"testing"

	"github.com/regionctl/regionctl/sandbox"
)

// TestCensusReportsTags: the census lists every object with its tags, the
// same from a running sandbox and from its directory; objects the cloud
// made on its own (a VPC's main route table) carry none of the caller's.
func TestCensusReportsTags(t *testing.T) {
	c := start(t, sandboxOpts())
	vpc, subnets := network(t, c)
	for _, census := range [][]sandbox.CensusObject{c.sb.Census(), mustCensusDir(t, c.sb.Dir())} {
		if len(census) != len(c.sb.List()) {
			t.Errorf("census has %d objects, List %d", len(census), len(c.sb.List()))
		}
		byID := map[string]sandbox.CensusObject{}
		for _, o := range census {
			byID[o.ID] = o
		}
		for _, id := range append([]string{vpc}, subnets...) {
			o, ok := byID[id]
			if !ok || o.Tags["regionctl:region"] != "r1" || o.Tags["Name"] == "" {
				t.Errorf("census object %s = %+v; want its tags", id, o)
			}
		}
		for _, o := range census {
			if o.Type == "ec2:route-table" && o.Tags["regionctl:region"] != "" {
				t.Errorf("the main route table %s carries the caller's tags %v", o.ID, o.Tags)
			}
		}
	}
}

func mustCensusDir(t *testing.T, dir string) []sandbox.CensusObject {
	t.Helper()
	objs, err := sandbox.CensusDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
