// Command regionctl provisions the same region on any cloud from one
// declarative spec. It only builds the driver registry and hands over to the
// CLI in package cli (github.com/regionctl/regionctl/cli).
package main

import (
	"os"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
)

// registry is the one explicit list of drivers regionctl ships.
func registry() providers.Registry {
	return providers.Registry{
		"aws":   aws.New,
		"azure": azure.New,
		"gcp":   gcp.New,
	}
}

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Config{Registry: registry()}))
}
