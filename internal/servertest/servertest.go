// Package servertest finds the storage servers (MinIO, fake-gcs-server,
// Azurite) that scripts/test-servers.sh starts for the remote state
// backends' tests, through the REGIONCTL_TEST_* variables it prints.
package servertest

import (
	"os"
	"testing"
)

// Script is the command that starts the servers and prints the variables.
const Script = `eval "$(scripts/test-servers.sh start)"`

// Env returns the values of the named variables. When one is unset the
// test fails, naming the script to run, so CI never passes by skipping; with
// -short it is skipped instead, saying why.
func Env(t testing.TB, names ...string) []string {
	t.Helper()
	vals := make([]string, len(names))
	for i, name := range names {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			msg := name + " is not set: start the test storage servers with " + Script + " (from the repository root), then run the tests again"
			if testing.Short() {
				t.Skip("-short: skipping a test against a real storage server: " + msg)
			}
			t.Fatal(msg)
		}
		vals[i] = v
	}
	return vals
}
