// Package plugin runs regionctl drivers as separate executables: a driver
// built by another team, in another module, released on its own schedule,
// that regionctl finds and starts at run time instead of linking it in.
//
// A plugin is an executable named regionctl-driver-NAME whose main calls
// Serve with the driver's factory (and, optionally, its cloud's emulator for
// --sandbox). regionctl finds plugins with SearchDirs and Discover
// (--plugin-dir, $REGIONCTL_PLUGIN_DIR, ./.regionctl/plugins,
// ~/.regionctl/plugins, then $PATH; the first of each name wins), starts one
// with Plugin.Launch, and hands the engine what Launch returns: a
// providers.Driver (with Lister, Validator, StateUpgrader, ClusterAccessor,
// and Finder when the plugin's driver has it) whose every call crosses to
// the plugin's process. Neither the engine nor providers/drivertest can tell
// the difference.
//
// The two processes talk gRPC through hashicorp/go-plugin (the mechanism of
// Terraform's providers): go-plugin starts the executable, checks a
// handshake cookie, negotiates the protocol version and connects them over
// a local socket. The protocol itself is proto/regionctl/driver/v1
// (driver.proto): Handshake (the plugin's name, version and whether it has
// an emulator), Configure (providers.Options), GetCapabilities (with the
// resource schemas), Validate, Expand, Read, ReadMany, Create, Update,
// Delete, Find, ClusterAccess, UpgradeState, Identity, ImportID,
// CheckHealth, CheckUpdate and Stop, plus the Emulator service (Start,
// List, Stop). Resource values and the region travel as JSON; a driver's
// errors travel with their class (providers.Classify) and whether they
// refuse the account (providers.ErrWrongAccount), so the engine's rules
// for throttling, busy resources, failed creates and wrong targets work
// across the boundary; diagnostics travel with their field paths and the
// host attaches the source positions; the retries a driver reports
// (providers.ReportRetry) come back with each call's answer. Both sides
// send the protocol's minor version (ProtocolMinor) in the handshake, so
// the host can tell a plugin too old for a feature from one without it.
//
// A plugin that dies in the middle of an operation costs that operation
// only: the call fails as a lost reply does (a create stays pending in
// state and the next run finds it by its idempotency key), and the next
// call starts the plugin again. A plugin never outlives the regionctl that
// started it: it holds the read end of a pipe regionctl keeps open, and
// exits when that closes.
package plugin
