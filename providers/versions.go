package providers

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseMinor reads the Kubernetes major and minor of a version: "1.33",
// "1.33.2" and "1.33.4-gke.1200" are all 1, 33.
func ParseMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	if len(parts) == 3 {
		parts[2] = ""
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(strings.SplitN(parts[1], "-", 2)[0])
	return a, b, err1 == nil && err2 == nil
}

// CheckMinorUpgrade returns an error unless moving a cluster of service
// (EKS, GKE, AKS) from Kubernetes minor from to minor to is one step
// forward or no change: managed Kubernetes services upgrade one minor at a
// time and never downgrade. The error says what to set instead.
func CheckMinorUpgrade(service, from, to string) error {
	if from == to {
		return nil
	}
	fa, fb, ok1 := ParseMinor(from)
	ta, tb, ok2 := ParseMinor(to)
	switch {
	case !ok1 || !ok2:
		return fmt.Errorf("cannot compare Kubernetes versions %q and %q", from, to)
	case ta < fa || ta == fa && tb < fb:
		return fmt.Errorf("cannot downgrade Kubernetes %s to %s: %s does not downgrade; set kubernetesVersion back to %s", from, to, service, from)
	case ta != fa || tb != fb+1:
		return fmt.Errorf("cannot upgrade Kubernetes %s to %s in one step: %s upgrades one minor version at a time; set kubernetesVersion to %d.%d, apply, then continue", from, to, service, fa, fb+1)
	}
	return nil
}
