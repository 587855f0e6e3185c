package kube

import (
	"fmt"
	"strconv"
	"strings"
)

// Which Kubernetes minor a cluster's control plane serves.
//
// The sandbox builds one release of each component (Version, v1.34.2). Since
// Kubernetes 1.31 every component can emulate an older minor
// (--emulated-version, KEP-4330 "compatibility versions"): the API server
// then serves that minor's APIs and feature gates, and the other components
// follow the same minor. A v1.34 binary emulates 1.31 to 1.34 (its --help
// says "Options are: kube=1.31..1.34"). So:
//
//   - a cluster at 1.31, 1.32, 1.33 or 1.34 gets exactly its minor's API
//     surface: discovery lists what that minor serves (1.33 adds
//     networking.k8s.io/v1 ServiceCIDR and IPAddress; 1.34 adds
//     resource.k8s.io/v1 and storage.k8s.io/v1 VolumeAttributesClass);
//   - an older cluster (1.30, EKS extended support) is served as 1.31 and a
//     newer one (1.35) as 1.34, the nearest minors the binary has.
//
// /version always tells the truth about the binary: gitVersion "v1.34.2",
// major "1", minor "34", and emulationMajor/emulationMinor the served
// minor, so `kubectl version` prints "Server Version: v1.34.2" for every
// cluster and client-go's ServerVersion reports the emulated minor in
// EmulationMinor. See docs/sandbox.md.
const (
	binaryMinor         = 34
	oldestEmulatedMinor = binaryMinor - 3
)

// ServedMinor returns the minor ("1.33") a control plane serves for a
// cluster at version ("1.33", "1.33.5", "1.33.5-gke.1308000"; empty means
// the binary's own), and whether it is the cluster's own minor.
func ServedMinor(version string) (served string, exact bool, err error) {
	if version == "" {
		return fmt.Sprintf("1.%d", binaryMinor), true, nil
	}
	minor, err := parseMinor(version)
	if err != nil {
		return "", false, err
	}
	m := min(max(minor, oldestEmulatedMinor), binaryMinor)
	return fmt.Sprintf("1.%d", m), m == minor, nil
}

// parseMinor reads the minor of "1.33", "v1.33.5" or "1.33.5-gke.1308000".
func parseMinor(version string) (int, error) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(version, "v"), "1.")
	if ok {
		digits := rest
		if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = rest[:i]
		}
		if n, err := strconv.Atoi(digits); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("sandbox: Kubernetes version %q: want 1.MINOR[.PATCH]", version)
}
