package gcp

import (
	"slices"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Google's APIs ignore output-only fields in a request: a client that
// sends back what it read (gcloud's read-modify-write, an SDK's whole
// resource) cannot set them. clearOutputOnly drops them from a request
// message before the emulator looks at it. GKE's messages carry the
// google.api.field_behavior OUTPUT_ONLY annotation; Compute's protos carry
// none, so computeOutputOnly lists the fields compute/v1's discovery
// document marks readOnly ("[Output Only]") on the resources the emulator
// takes in requests (by JSON name; the parity suite checks none comes back).
var computeOutputOnly = map[protoreflect.FullName][]string{
	"google.cloud.compute.v1.Network": {"additionalTags", "creationTimestamp", "firewallPolicy", "id", "kind", "peerings", "selfLinkWithId"},
	"google.cloud.compute.v1.Subnetwork": {"creationTimestamp", "gatewayAddress", "id", "ipv6CidrRange", "ipv6GceEndpoint", "kind", "state",
		"systemReservedExternalIpv6Ranges", "systemReservedInternalIpv6Ranges", "utilizationDetails"},
	"google.cloud.compute.v1.Address":   {"creationTimestamp", "id", "kind", "region", "status"},
	"google.cloud.compute.v1.Router":    {"creationTimestamp", "kind"},
	"google.cloud.compute.v1.RouterNat": {"effectiveTcpTimeWaitTimeoutSec"},
}

func clearOutputOnly(m proto.Message) { clearOutputOnlyFields(m.ProtoReflect()) }

func clearOutputOnlyFields(m protoreflect.Message) {
	listed := computeOutputOnly[m.Descriptor().FullName()]
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if outputOnly(fd) || slices.Contains(listed, fd.JSONName()) {
			m.Clear(fd)
			return true
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				clearOutputOnlyFields(v.List().Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				clearOutputOnlyFields(mv.Message())
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			clearOutputOnlyFields(v.Message())
		}
		return true
	})
}

func outputOnly(fd protoreflect.FieldDescriptor) bool {
	bs, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return slices.Contains(bs, annotations.FieldBehavior_OUTPUT_ONLY)
}
