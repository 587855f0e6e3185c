package plugin

import goplugin "github.com/hashicorp/go-plugin"

// ServeAtProtocol serves cfg speaking only protocol version v, as a
// plugin of another generation would, for the version negotiation test.
func ServeAtProtocol(cfg Config, v int) {
	srv, emu := newServer(cfg), &emulatorServer{cfg: cfg}
	hs := handshake
	hs.ProtocolVersion = uint(v)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]goplugin.PluginSet{v: pluginSets(srv, emu)[ProtocolVersion]},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}

// ServeAtMinor serves cfg saying protocol 1.minor in its handshake, as a
// plugin built before that minor's additions would.
func ServeAtMinor(cfg Config, minor int) {
	watchLifeline()
	srv := newServer(cfg)
	srv.minor = minor
	serve(cfg, srv)
}
