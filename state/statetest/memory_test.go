package statetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/statetest"
)

func TestMemoryConformance(t *testing.T) {
	statetest.Run(t, statetest.Harness{
		New:  func(*testing.T) state.Backend { return statetest.NewMemory() },
		Open: func(_ *testing.T, b state.Backend) state.Backend { return b },
		Corrupt: func(_ *testing.T, b state.Backend, region string) {
			b.(*statetest.Memory).SetRaw(region, []byte("{not json"))
		},
		Raw: func(_ *testing.T, b state.Backend, region string) []byte { return b.(*statetest.Memory).Raw(region) },
	})
}

func TestMemoryFailWrite(t *testing.T) {
	ctx := context.Background()
	m := statetest.NewMemory()
	boom := errors.New("boom")
	m.FailWrite = func(s *state.State) error {
		if s.Serial == 2 {
			return boom
		}
		return nil
	}
	s := statetest.Sample("r", "L", 1)
	if err := m.Write(ctx, s, 0); err != nil {
		t.Fatal(err)
	}
	s2 := s.Clone()
	s2.Serial = 2
	if err := m.Write(ctx, s2, 1); !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want boom", err)
	}
	if got, _ := m.Read(ctx, "r"); got.Serial != 1 {
		t.Fatalf("serial after a failed write = %d, want 1", got.Serial)
	}
}
