package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// IDFile is the file in a sandbox directory that holds the sandbox's ID.
const IDFile = "sandbox-id"

// ID returns the ID of the sandbox kept in dir, creating the directory and
// the ID the first time. The ID names this emulated cloud in plan files and
// state documents, so a plan made against one sandbox is never applied to
// another one, or to a real cloud. Deleting the directory makes a new
// sandbox with a new ID.
func ID(dir string) (string, error) {
	id, err := ReadID(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+IDFile+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("sandbox: write its ID: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString("sbx-" + uuid.NewString() + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("sandbox: write its ID: %w", werr)
	}
	// Link fails when another process created the ID first: then that one
	// is the sandbox's ID.
	if err := os.Link(tmp.Name(), filepath.Join(dir, IDFile)); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("sandbox: write its ID: %w", err)
	}
	return ReadID(dir)
}

// ReadID returns the ID of the sandbox kept in dir without creating one;
// the error wraps fs.ErrNotExist when dir holds no sandbox.
func ReadID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, IDFile))
	if err != nil {
		return "", fmt.Errorf("sandbox: no sandbox in %s: %w", dir, err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("sandbox: %s is empty", filepath.Join(dir, IDFile))
	}
	return id, nil
}

// Emulates reports whether the sandbox emulates the cloud of the driver
// with that registry name. A driver it does not emulate must not run with
// --sandbox: it would talk to its real cloud.
func Emulates(driver string) bool {
	for _, e := range newEmulators(Options{}.withDefaults()) {
		if e.Cloud() == driver {
			return true
		}
	}
	return false
}
