// Command regionctl provisions the same region on any cloud from one
// declarative spec. It only hands the built-in drivers (package
// providers/builtin) to the CLI in package cli
// (github.com/regionctl/regionctl/cli).
package main

import (
	"os"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers/builtin"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Config{Registry: builtin.Registry()}))
}
