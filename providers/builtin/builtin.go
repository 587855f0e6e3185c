// Package builtin is the one explicit list of the drivers regionctl ships:
// aws, azure and gcp. cmd/regionctl runs the CLI with it; a program that
// builds its own regionctl (package cli) starts from it and adds drivers of
// its own:
//
//	reg := builtin.Registry()
//	reg["mycloud"] = mycloud.New
//	os.Exit(cli.Main(os.Args[1:], cli.Config{Registry: reg}))
package builtin

import (
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
)

// Registry returns a new registry of the built-in drivers; the caller may
// add to it.
func Registry() providers.Registry {
	return providers.Registry{
		"aws":   aws.New,
		"azure": azure.New,
		"gcp":   gcp.New,
	}
}
