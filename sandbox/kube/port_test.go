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

// TestPortsAreReserved: a port freePort handed out is never handed out
// again by this process (etcd's client and peer ports were picked by two
// calls before either was bound), and another process cannot reserve it.
func TestPortsAreReserved(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	for p := range seen {
		if reservePort(p) {
			t.Fatalf("port %d reserved again", p)
		}
		if f, err := lockPortFile(p); err != errPortLocked {
			if f != nil {
				f.Close()
			}
			// flock locks are per open file: a second open in this process
			// stands for another process.
			t.Fatalf("the lock of port %d was taken again: %v", p, err)
		}
		break
	}
}
