// Command regionctl-driver-acme is the Acme driver as a regionctl plugin:
// put the binary in ~/.regionctl/plugins (or on PATH) and regions with
// provider: acme plan and apply through it; --sandbox runs its emulator.
package main

import (
	"example.com/regionctl-driver-acme/acme"
	"example.com/regionctl-driver-acme/emulator"
	"github.com/regionctl/regionctl/providers/plugin"
)

// version is the plugin's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "0.1.0"

func main() {
	plugin.Serve(plugin.Config{
		Name:     acme.Name,
		Version:  version,
		New:      acme.New,
		Emulator: emulator.Start,
	})
}
