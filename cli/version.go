package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// versionString is the build's version: Version when stamped at build
// time (make build, make release), else the module version `go install`
// records, else "dev" with the VCS revision Go stamps into the binary.
func versionString() string {
	if Version != "dev" && Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

func (a *app) versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print regionctl's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				_, err := fmt.Fprintf(a.cfg.Stdout, "{\"version\": %q, \"go\": %q, \"platform\": %q}\n", versionString(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
				return err
			}
			_, err := fmt.Fprintf(a.cfg.Stdout, "regionctl %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// choiceValue is a string flag limited to choices, checked when parsed.
type choiceValue struct {
	v       *string
	choices []string
}

var _ pflag.Value = choiceValue{}

func (c choiceValue) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}

func (c choiceValue) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("%q: use one of %s", s, strings.Join(c.choices, ", "))
	}
	*c.v = s
	return nil
}

func (choiceValue) Type() string { return "string" }
