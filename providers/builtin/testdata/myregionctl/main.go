// Command myregionctl is regionctl with one more driver, built outside
// regionctl's repository.
package main

import (
	"os"

	"example.com/myregionctl/toy"
	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers/builtin"
)

func main() {
	reg := builtin.Registry()
	reg["toy"] = toy.New
	os.Exit(cli.Main(os.Args[1:], cli.Config{Registry: reg}))
}
