package sandbox_test

import (
	"os"
	"strings"

	"github.com/regionctl/regionctl/sandbox"
)

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }

func idShape(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"-")
	if !ok || len(rest) != 17 {
		return false
	}
	for _, r := range rest {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

func sandboxOpts() sandbox.Options { return sandbox.Options{} }
