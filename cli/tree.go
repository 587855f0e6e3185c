package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// CommandTree returns regionctl's command tree, with every subcommand and
// flag, wired to no driver and no terminal. It is for tools and tests that
// check documentation and CI examples against the real commands (see
// examples/ci); running its commands does nothing useful.
func CommandTree() *cobra.Command {
	cfg := Config{
		Stdin:      strings.NewReader(""),
		Stdout:     io.Discard,
		Stderr:     io.Discard,
		Getenv:     func(string) string { return "" },
		IsTerminal: func(any) bool { return false },
	}
	cfg = cfg.withDefaults()
	root, _ := newRoot(&cfg, nil)
	return root
}
