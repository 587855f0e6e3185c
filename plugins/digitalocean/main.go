// Command regionctl-driver-digitalocean is the DigitalOcean driver as a
// regionctl plugin: put the binary in ~/.regionctl/plugins (or on PATH) and
// regions with provider: digitalocean plan and apply through it; --sandbox
// runs its emulator of the DigitalOcean API. See
// docs/providers/digitalocean.md.
package main

import (
	"github.com/regionctl/regionctl/plugins/digitalocean/digitalocean"
	"github.com/regionctl/regionctl/plugins/digitalocean/emulator"
	"github.com/regionctl/regionctl/providers/plugin"
)

// version is the plugin's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "0.1.0"

func main() {
	plugin.Serve(plugin.Config{
		Name:     digitalocean.Name,
		Version:  version,
		New:      digitalocean.New,
		Emulator: emulator.Start,
	})
}
