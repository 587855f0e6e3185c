package kube

import (
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// freePort picks a port for a program to listen on later. The program binds
// it some time after this returns, so the port must not be handed to anyone
// else meanwhile:
//   - it comes from below the kernel's ephemeral range
//     (ip_local_port_range), where the source ports of outgoing
//     connections — which a busy machine makes by the thousand — are never
//     taken from;
//   - it is reserved: never handed out twice by this process, and locked
//     (flock on a file named after it) against every other sandbox on the
//     machine for as long as this process lives.
//
// Only when no such port is found does it fall back to one the kernel
// picks.
func freePort() (int, error) {
	low := ephemeralLow()
	if low > minPickedPort {
		for range 64 {
			if p := minPickedPort + mathrand.IntN(low-minPickedPort); portFree(p) && reservePort(p) {
				return p, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sandbox: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// minPickedPort is the lowest port freePort picks: above the registered
// ports of common servers.
const minPickedPort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return linuxDefault
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return linuxDefault
	}
	return n
}

// reserved are the ports this process handed out, with the lock files
// that keep other processes from them (nil when locking was not possible).
var reserved = struct {
	sync.Mutex
	ports map[int]*os.File
}{ports: map[int]*os.File{}}

// reservePort reserves p for this process: false when this process or
// another sandbox on the machine reserved it already. The reservation lasts
// as long as the process (its programs keep their ports). When the lock
// folder cannot be used, only this process's own reservations count.
func reservePort(p int) bool {
	reserved.Lock()
	defer reserved.Unlock()
	if _, taken := reserved.ports[p]; taken {
		return false
	}
	f, err := lockPortFile(p)
	if err == errPortLocked {
		return false
	}
	reserved.ports[p] = f // f is nil when locking is not possible here
	return true
}

var errPortLocked = fmt.Errorf("port reserved by another process")

// lockPortFile takes the lock file of port p without waiting.
func lockPortFile(p int) (*os.File, error) {
	dir := filepath.Join(os.TempDir(), "regionctl-sandbox-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, errPortLocked
		}
		return nil, err
	}
	return f, nil
}
