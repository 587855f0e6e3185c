package kube

import "testing"

// TestFreePortAvoidsTheEphemeralRange: the ports the sandbox's programs
// listen on come from below the kernel's ephemeral range, where outgoing
// connections never take their source ports (a port taken by one between
// picking and binding failed a kube-apiserver start with "address already in
// use" on a busy machine).
func TestFreePortAvoidsTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low <= minPickedPort {
		t.Skipf("ephemeral range starts at %d: nothing below it to pick from", low)
	}
	for range 20 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < minPickedPort || p >= low {
			t.Fatalf("freePort() = %d, want a port in [%d, %d)", p, minPickedPort, low)
		}
	}
}
