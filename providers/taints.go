package providers

import (
	"fmt"
	"strings"
)

// Taint is a node taint as the spec writes it: "key[=value]:Effect".
type Taint struct {
	Key, Value string
	// Effect is Kubernetes's name: NoSchedule, PreferNoSchedule or NoExecute.
	Effect string
}

// taintEffects maps Kubernetes taint effects onto the constants the EKS and
// GKE APIs use.
var taintEffects = map[string]string{
	"NoSchedule":       "NO_SCHEDULE",
	"PreferNoSchedule": "PREFER_NO_SCHEDULE",
	"NoExecute":        "NO_EXECUTE",
}

// ParseTaint splits "key[=value]:Effect" and checks the effect; the error
// says how to write a taint.
func ParseTaint(s string) (Taint, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return Taint{}, fmt.Errorf("taint %q has no effect; write key[=value]:Effect", s)
	}
	kv, eff := s[:i], s[i+1:]
	if _, known := taintEffects[eff]; !known {
		return Taint{}, fmt.Errorf("taint %q has unknown effect %q; want NoSchedule, PreferNoSchedule or NoExecute", s, eff)
	}
	key, value, _ := strings.Cut(kv, "=")
	if key == "" {
		return Taint{}, fmt.Errorf("taint %q has an empty key", s)
	}
	return Taint{Key: key, Value: value, Effect: eff}, nil
}

// EffectConstant is the effect as the EKS and GKE APIs spell it
// (NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE).
func (t Taint) EffectConstant() string { return taintEffects[t.Effect] }
