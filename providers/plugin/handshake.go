package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
)

// ProtocolVersion is the version of the plugin protocol this package speaks
// (proto/regionctl/driver/v1). It is go-plugin's negotiated protocol
// version: a host and a plugin with no version in common refuse each other
// at start, with a message naming both.
const ProtocolVersion = 1

// ProtocolMinor is the minor version of protocol 1 this package speaks:
// what it added to v1 (driver.proto lists each minor's additions). Both
// sides send it in the handshake, so a host can tell a plugin built
// before an addition from one whose driver lacks the feature.
const ProtocolMinor = 1

// ExecutablePrefix starts the name of every driver plugin executable:
// regionctl-driver-NAME serves the driver NAME.
const ExecutablePrefix = "regionctl-driver-"

// handshake is go-plugin's check that the executable it started is a
// regionctl driver plugin (and not any program that happens to be called
// regionctl-driver-x): the host sets the cookie in the plugin's
// environment, and a plugin started without it says what it is and exits.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "REGIONCTL_DRIVER_PLUGIN",
	MagicCookieValue: "b7f1c3d2-regionctl-driver-v1",
}

// The names go-plugin dispenses the two services under.
const (
	dispenseDriver   = "driver"
	dispenseEmulator = "emulator"
)

// maxMessage bounds one message either way (a large region's Expand or a
// ReadMany of a whole region); gRPC's default of 4 MiB is too tight for a
// fleet of big regions in one batch.
const maxMessage = 64 << 20

// driverPlugin is the go-plugin glue for the Driver service: it registers
// the server on the plugin's side and makes a client on the host's.
type driverPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv pb.DriverServer // plugin side only
}

func (p *driverPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDriverServer(s, p.srv)
	return nil
}

func (p *driverPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewDriverClient(c), nil
}

// emulatorPlugin is the go-plugin glue for the Emulator service.
type emulatorPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv pb.EmulatorServer // plugin side only
}

func (p *emulatorPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterEmulatorServer(s, p.srv)
	return nil
}

func (p *emulatorPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewEmulatorClient(c), nil
}

// pluginSets are the services of each protocol version, as go-plugin
// negotiates them.
func pluginSets(d pb.DriverServer, e pb.EmulatorServer) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		ProtocolVersion: {
			dispenseDriver:   &driverPlugin{srv: d},
			dispenseEmulator: &emulatorPlugin{srv: e},
		},
	}
}
