package gcp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox"
)

func insertNetwork(t testing.TB, e *env, name string) {
	t.Helper()
	op, err := e.networks.Insert(context.Background(), &computepb.InsertNetworkRequest{Project: project,
		NetworkResource: &computepb.Network{Name: proto.String(name), AutoCreateSubnetworks: proto.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func insertSubnet(t testing.TB, e *env, name, cidr string, secondary map[string]string) {
	t.Helper()
	s := &computepb.Subnetwork{Name: proto.String(name), Network: proto.String("projects/" + project + "/global/networks/net"), IpCidrRange: proto.String(cidr)}
	for n, c := range secondary {
		s.SecondaryIpRanges = append(s.SecondaryIpRanges, &computepb.SubnetworkSecondaryRange{RangeName: proto.String(n), IpCidrRange: proto.String(c)})
	}
	op, err := e.subnets.Insert(context.Background(), &computepb.InsertSubnetworkRequest{Project: project, Region: "us-central1", SubnetworkResource: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestComputeOperationAppearsAtDone steps the clock: the insert operation
// is RUNNING and the network absent until the latency has passed.
func TestComputeOperationAppearsAtDone(t *testing.T) {
	e := start(t, t.TempDir(), time.Minute)
	ctx := context.Background()
	op, err := e.networks.Insert(ctx, &computepb.InsertNetworkRequest{Project: project,
		NetworkResource: &computepb.Network{Name: proto.String("net"), AutoCreateSubnetworks: proto.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	if op.Done() || op.Proto().GetStatus() != computepb.Operation_RUNNING {
		t.Fatalf("insert op status %v, want RUNNING", op.Proto().GetStatus())
	}
	if _, err := e.networks.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "net"}); err == nil {
		t.Fatal("network visible before its operation is DONE")
	} else if code, reason := googleErr(t, err); code != http.StatusNotFound || reason != "notFound" {
		t.Fatalf("got %d %s, want 404 notFound", code, reason)
	}
	if err := op.Poll(ctx); err != nil || op.Done() {
		t.Fatalf("poll: done=%v err=%v", op.Done(), err)
	}
	e.clk.Advance(time.Minute)
	if err := op.Wait(ctx); err != nil { // the first poll sees DONE: no sleep
		t.Fatal(err)
	}
	if got := op.Proto().GetProgress(); got != 100 {
		t.Errorf("progress %d, want 100", got)
	}
	// The same operation through GetGlobalOperation and the wait endpoint.
	got, err := e.gops.Get(ctx, &computepb.GetGlobalOperationRequest{Project: project, Operation: op.Name()})
	if err != nil || got.GetStatus() != computepb.Operation_DONE || got.GetTargetLink() != "https://www.googleapis.com/compute/v1/projects/proj-a/global/networks/net" {
		t.Fatalf("GetGlobalOperation: %v %v", got, err)
	}
	n, err := e.networks.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "net"})
	if err != nil {
		t.Fatal(err)
	}
	if n.GetRoutingConfig().GetRoutingMode() != "REGIONAL" || n.GetMtu() != 1460 || n.GetAutoCreateSubnetworks() {
		t.Errorf("network defaults: %v", n)
	}
	// Other projects are separate.
	if list, err := e.networks.List(ctx, &computepb.ListNetworksRequest{Project: "proj-b"}).Next(); err == nil {
		t.Errorf("proj-b lists %v", list)
	}
}

func TestComputeNetworking(t *testing.T) {
	e := start(t, t.TempDir(), 0)
	ctx := context.Background()
	insertNetwork(t, e, "net")
	insertSubnet(t, e, "nodes", "10.0.0.0/20", map[string]string{"pods": "10.4.0.0/14", "services": "10.8.0.0/20"})

	s, err := e.subnets.Get(ctx, &computepb.GetSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes"})
	if err != nil {
		t.Fatal(err)
	}
	if s.GetGatewayAddress() != "10.0.0.1" || len(s.GetSecondaryIpRanges()) != 2 || s.GetNetwork() != "https://www.googleapis.com/compute/v1/projects/proj-a/global/networks/net" {
		t.Errorf("subnetwork: %v", s)
	}
	n, err := e.networks.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "net"})
	if err != nil || len(n.GetSubnetworks()) != 1 || n.GetSubnetworks()[0] != s.GetSelfLink() {
		t.Fatalf("network subnetworks %v, %v", n.GetSubnetworks(), err)
	}

	// Errors, as the SDK decodes them.
	bad := []struct {
		name       string
		call       func() error
		wantCode   int
		wantReason string
	}{
		{"duplicate network", func() error {
			_, err := e.networks.Insert(ctx, &computepb.InsertNetworkRequest{Project: project, NetworkResource: &computepb.Network{Name: proto.String("net"), AutoCreateSubnetworks: proto.Bool(false)}})
			return err
		}, 409, "alreadyExists"},
		{"bad name", func() error {
			_, err := e.networks.Insert(ctx, &computepb.InsertNetworkRequest{Project: project, NetworkResource: &computepb.Network{Name: proto.String("Net_1"), AutoCreateSubnetworks: proto.Bool(false)}})
			return err
		}, 400, "invalid"},
		{"overlapping primary", func() error {
			_, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "europe-west1", SubnetworkResource: &computepb.Subnetwork{
				Name: proto.String("other"), Network: proto.String("net"), IpCidrRange: proto.String("10.0.8.0/24")}})
			return err
		}, 400, "invalid"},
		{"primary overlapping a secondary range", func() error {
			_, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "us-central1", SubnetworkResource: &computepb.Subnetwork{
				Name: proto.String("other"), Network: proto.String("net"), IpCidrRange: proto.String("10.5.0.0/24")}})
			return err
		}, 400, "invalid"},
		{"secondary ranges overlapping each other", func() error {
			_, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "us-central1", SubnetworkResource: &computepb.Subnetwork{
				Name: proto.String("other"), Network: proto.String("net"), IpCidrRange: proto.String("10.20.0.0/24"),
				SecondaryIpRanges: []*computepb.SubnetworkSecondaryRange{{RangeName: proto.String("a"), IpCidrRange: proto.String("10.30.0.0/16")}, {RangeName: proto.String("b"), IpCidrRange: proto.String("10.30.1.0/24")}}}})
			return err
		}, 400, "invalid"},
		{"cidr with host bits", func() error {
			_, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "us-central1", SubnetworkResource: &computepb.Subnetwork{
				Name: proto.String("other"), Network: proto.String("net"), IpCidrRange: proto.String("10.20.0.1/24")}})
			return err
		}, 400, "invalid"},
		{"cidr not a cidr", func() error {
			_, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "us-central1", SubnetworkResource: &computepb.Subnetwork{
				Name: proto.String("other"), Network: proto.String("net"), IpCidrRange: proto.String("10.20.0.0/33")}})
			return err
		}, 400, "invalid"},
		{"subnet of missing network", func() error {
			_, err := e.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: project, Region: "us-central1", SubnetworkResource: &computepb.Subnetwork{
				Name: proto.String("other"), Network: proto.String("nope"), IpCidrRange: proto.String("10.20.0.0/24")}})
			return err
		}, 404, "notFound"},
		{"delete network with subnetworks", func() error {
			_, err := e.networks.Delete(ctx, &computepb.DeleteNetworkRequest{Project: project, Network: "net"})
			return err
		}, 400, "resourceInUseByAnotherResource"},
		{"get missing router", func() error {
			_, err := e.routers.Get(ctx, &computepb.GetRouterRequest{Project: project, Region: "us-central1", Router: "nope"})
			return err
		}, 404, "notFound"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			if code, reason := googleErr(t, err); code != tc.wantCode || reason != tc.wantReason {
				t.Fatalf("got %d %s (%v), want %d %s", code, reason, err, tc.wantCode, tc.wantReason)
			}
		})
	}

	// Addresses: a manual NAT IP (EXTERNAL) and an INTERNAL one in the subnetwork.
	for _, a := range []*computepb.Address{
		{Name: proto.String("nat-ip"), Labels: map[string]string{"managed-by": "regionctl"}},
		{Name: proto.String("ilb"), AddressType: proto.String("INTERNAL"), Subnetwork: proto.String("regions/us-central1/subnetworks/nodes")},
	} {
		op, err := e.addrs.Insert(ctx, &computepb.InsertAddressRequest{Project: project, Region: "us-central1", AddressResource: a})
		if err != nil {
			t.Fatal(err)
		}
		if err := op.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ilb, err := e.addrs.Get(ctx, &computepb.GetAddressRequest{Project: project, Region: "us-central1", Address: "ilb"})
	if err != nil || ilb.GetAddress() != "10.0.0.2" || ilb.GetSubnetwork() != s.GetSelfLink() {
		t.Fatalf("internal address %v, %v", ilb, err)
	}
	natIP, err := e.addrs.Get(ctx, &computepb.GetAddressRequest{Project: project, Region: "us-central1", Address: "nat-ip"})
	if err != nil || natIP.GetAddressType() != "EXTERNAL" || natIP.GetNetworkTier() != "PREMIUM" || natIP.GetAddress() == "" || natIP.GetLabels()["managed-by"] != "regionctl" {
		t.Fatalf("external address %v, %v", natIP, err)
	}

	// A router with Cloud NAT on the manual IP.
	op, err := e.routers.Insert(ctx, &computepb.InsertRouterRequest{Project: project, Region: "us-central1", RouterResource: &computepb.Router{
		Name: proto.String("router"), Network: proto.String("net"), Bgp: &computepb.RouterBgp{Asn: proto.Uint32(64514)},
		Nats: []*computepb.RouterNat{{Name: proto.String("nat"), NatIpAllocateOption: proto.String("MANUAL_ONLY"), NatIps: []string{"nat-ip"},
			SourceSubnetworkIpRangesToNat: proto.String("LIST_OF_SUBNETWORKS"),
			Subnetworks:                   []*computepb.RouterNatSubnetworkToNat{{Name: proto.String("nodes"), SourceIpRangesToNat: []string{"ALL_IP_RANGES"}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := e.routers.Get(ctx, &computepb.GetRouterRequest{Project: project, Region: "us-central1", Router: "router"})
	if err != nil || len(r.GetNats()) != 1 || r.GetNats()[0].GetNatIps()[0] != natIP.GetSelfLink() || r.GetNats()[0].GetSubnetworks()[0].GetName() != s.GetSelfLink() {
		t.Fatalf("router %v, %v", r, err)
	}
	natIP, _ = e.addrs.Get(ctx, &computepb.GetAddressRequest{Project: project, Region: "us-central1", Address: "nat-ip"})
	if natIP.GetStatus() != "IN_USE" || len(natIP.GetUsers()) != 1 || natIP.GetUsers()[0] != r.GetSelfLink() {
		t.Errorf("NAT IP status %s users %v, want IN_USE by the router", natIP.GetStatus(), natIP.GetUsers())
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"address used by NAT", func() error {
			_, err := e.addrs.Delete(ctx, &computepb.DeleteAddressRequest{Project: project, Region: "us-central1", Address: "nat-ip"})
			return err
		}},
		{"subnetwork used by NAT and address", func() error {
			_, err := e.subnets.Delete(ctx, &computepb.DeleteSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes"})
			return err
		}},
	} {
		if code, reason := googleErr(t, tc.call()); code != 400 || reason != "resourceInUseByAnotherResource" {
			t.Errorf("%s: got %d %s", tc.name, code, reason)
		}
	}

	// Patch the router: AUTO_ONLY NAT for all ranges frees the address.
	op, err = e.routers.Patch(ctx, &computepb.PatchRouterRequest{Project: project, Region: "us-central1", Router: "router", RouterResource: &computepb.Router{
		Nats: []*computepb.RouterNat{{Name: proto.String("nat"), NatIpAllocateOption: proto.String("AUTO_ONLY"), SourceSubnetworkIpRangesToNat: proto.String("ALL_SUBNETWORKS_ALL_IP_RANGES")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ = e.routers.Get(ctx, &computepb.GetRouterRequest{Project: project, Region: "us-central1", Router: "router"})
	if r.GetNats()[0].GetNatIpAllocateOption() != "AUTO_ONLY" || r.GetBgp().GetAsn() != 64514 {
		t.Errorf("patched router %v", r)
	}

	// Patch the subnetwork's secondary ranges with its fingerprint.
	_, err = e.subnets.Patch(ctx, &computepb.PatchSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes",
		SubnetworkResource: &computepb.Subnetwork{Fingerprint: proto.String("stale"), SecondaryIpRanges: s.GetSecondaryIpRanges()}})
	if code, reason := googleErr(t, err); code != 412 || reason != "conditionNotMet" {
		t.Errorf("stale fingerprint: %d %s", code, reason)
	}
	op, err = e.subnets.Patch(ctx, &computepb.PatchSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes",
		SubnetworkResource: &computepb.Subnetwork{Fingerprint: s.Fingerprint, SecondaryIpRanges: append(s.GetSecondaryIpRanges(),
			&computepb.SubnetworkSecondaryRange{RangeName: proto.String("extra"), IpCidrRange: proto.String("10.9.0.0/20")})}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	// Tear down in dependency order; the sandbox ends empty.
	steps := []func() (*compute.Operation, error){
		func() (*compute.Operation, error) {
			return e.routers.Delete(ctx, &computepb.DeleteRouterRequest{Project: project, Region: "us-central1", Router: "router"})
		},
		func() (*compute.Operation, error) {
			return e.addrs.Delete(ctx, &computepb.DeleteAddressRequest{Project: project, Region: "us-central1", Address: "nat-ip"})
		},
		func() (*compute.Operation, error) {
			return e.addrs.Delete(ctx, &computepb.DeleteAddressRequest{Project: project, Region: "us-central1", Address: "ilb"})
		},
		func() (*compute.Operation, error) {
			return e.subnets.Delete(ctx, &computepb.DeleteSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes"})
		},
		func() (*compute.Operation, error) {
			return e.networks.Delete(ctx, &computepb.DeleteNetworkRequest{Project: project, Network: "net"})
		},
	}
	for i, step := range steps {
		op, err := step()
		if err != nil {
			t.Fatalf("delete step %d: %v", i, err)
		}
		if err := op.Wait(ctx); err != nil {
			t.Fatalf("delete step %d: %v", i, err)
		}
	}
	if objs := gcpObjects(e.sb); len(objs) != 0 {
		t.Errorf("left behind: %v", objs)
	}
}

func gcpObjects(sb *sandbox.Sandbox) []sandbox.Object {
	var out []sandbox.Object
	for _, o := range sb.List() {
		if o.Cloud == "gcp" {
			out = append(out, o)
		}
	}
	return out
}
