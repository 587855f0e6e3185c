// Package drivertest is the conformance suite every regionctl driver passes:
// ours for AWS, GCP and Azure against the sandbox emulators, and any
// third-party driver against its own cloud or emulator.
//
// The suite drives the providers.Driver interface directly — it does not use
// the plan engine — and checks what the engine relies on: well-formed
// Capabilities; a pure, deterministic, acyclic Expand whose references all
// resolve; create, read, update, replace and delete that leave the cloud
// exactly as the desired graph says (a Read that disagrees with the desired
// inputs would make the engine plan a spurious change); idempotent creates;
// cancellation that leaves nothing invisible behind; reads and deletes
// of objects that are gone; and, for a driver that publishes resource
// schemas (Capabilities.Resources, as every providers/kit driver does),
// resources and outputs that keep to them.
//
// A third-party driver's whole conformance test:
//
//	func TestConformance(t *testing.T) {
//		cloud := fakecloud.Start(t) // an emulator that starts empty
//		drivertest.Run(t, drivertest.Config{
//			Driver:        mydriver.New(cloud.Endpoint()),
//			Region:        mustLoad(t, "testdata/region.yaml"),
//			UpdateInPlace: func(r *spec.Region) *spec.Region { c := drivertest.CloneRegion(r); c.Spec.Cluster.NodePools[0].Max++; return c },
//			Replace:       func(r *spec.Region) *spec.Region { c := drivertest.CloneRegion(r); c.Spec.Cluster.NodePools[0].Machine.CPU *= 2; return c },
//			Inventory:     cloud.ObjectIDs, // optional: proves nothing is left behind
//		})
//	}
//
// The suite creates real objects. It deletes everything it created before it
// returns, also when a check fails, and reports anything it could not delete.
package drivertest
