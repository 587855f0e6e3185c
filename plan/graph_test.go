package plan

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regionctl/regionctl/providers"
)

func TestNormalizeValuesMatchesJSON(t *testing.T) {
	type custom struct{ A int }
	tests := []struct {
		name string
		in   map[string]any
	}{
		{name: "scalars", in: map[string]any{"s": "x", "b": true, "i": 3, "i64": int64(-4), "f": 1.5, "nil": nil}},
		{name: "nested", in: map[string]any{"m": map[string]any{"l": []any{1, "a", nil, map[string]string{"k": "v"}}}, "ss": []string{"a"}}},
		{name: "typed nils", in: map[string]any{"m": map[string]any(nil), "l": []any(nil), "ss": []string(nil)}},
		{name: "values and refs", in: map[string]any{"v": providers.Values{"r": providers.Ref("a/t.n", "id")}}},
		{name: "struct falls back to JSON", in: map[string]any{"c": custom{A: 1}, "u8": uint8(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeValues(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(tt.in)
			var want map[string]any
			_ = json.Unmarshal(data, &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-json +normalize):\n%s", diff)
			}
		})
	}
	if _, err := normalizeValues(map[string]any{"nan": math.NaN()}); err == nil {
		t.Error("NaN normalized without error")
	}
}
