package providers

import "testing"

func TestParseTaint(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
		want        Taint
		constant    string
	}{
		{in: "gpu=true:NoSchedule", want: Taint{"gpu", "true", "NoSchedule"}, constant: "NO_SCHEDULE"},
		{in: "dedicated:PreferNoSchedule", want: Taint{Key: "dedicated", Effect: "PreferNoSchedule"}, constant: "PREFER_NO_SCHEDULE"},
		{in: "a=b=c:NoExecute", want: Taint{"a", "b=c", "NoExecute"}, constant: "NO_EXECUTE"},
		{in: "gpu=true", wantErr: `taint "gpu=true" has no effect; write key[=value]:Effect`},
		{in: "gpu:Never", wantErr: `taint "gpu:Never" has unknown effect "Never"; want NoSchedule, PreferNoSchedule or NoExecute`},
		{in: "=x:NoSchedule", wantErr: `taint "=x:NoSchedule" has an empty key`},
	} {
		got, err := ParseTaint(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseTaint(%q) error = %v; want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want || got.EffectConstant() != tc.constant {
			t.Errorf("ParseTaint(%q) = %+v (%s), %v", tc.in, got, got.EffectConstant(), err)
		}
	}
}
