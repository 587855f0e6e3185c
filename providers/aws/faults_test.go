package aws_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	awsdriver "github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

// TestFailedCreateIsDeleted: an EKS cluster, node group or add-on whose
// create ends failed (CREATE_FAILED, FAILED) is deleted by Create, which
// returns the error and no ID, so the engine records nothing; Find does not
// adopt it, and a second Create under the same key (as the next apply does)
// makes it anew.
func TestFailedCreateIsDeleted(t *testing.T) {
	tests := []struct {
		name, op, typ, sandboxType string
	}{
		{"cluster", "eks:CreateCluster", awsdriver.TypeEKSCluster, "eks:cluster"},
		{"node group", "eks:CreateNodegroup", awsdriver.TypeEKSNodeGroup, "eks:nodegroup"},
		{"add-on", "eks:CreateAddon", awsdriver.TypeEKSAddon, "eks:addon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: tt.op, Kind: sandbox.FaultFail, Nth: 1}}})
			ctx := context.Background()
			failed := 0
			applyAllWith(t, d, smallRegion(), func(req providers.CreateRequest) (providers.CreateResponse, error) {
				if req.Type != tt.typ || failed > 0 {
					return d.Create(ctx, req)
				}
				failed++
				resp, err := d.Create(ctx, req)
				if err == nil || !strings.Contains(err.Error(), "deleted the failed") {
					t.Fatalf("Create %s with a failing %s = %+v, %v; want an error saying the failed object was deleted", req.Address, tt.op, resp, err)
				}
				if resp.ID != "" {
					t.Errorf("Create %s returned ID %q with its error; want none (the object is deleted)", req.Address, resp.ID)
				}
				if !errors.Is(err, providers.ErrCreateFailed) {
					t.Errorf("Create %s with a failing %s: %v; want it to wrap providers.ErrCreateFailed", req.Address, tt.op, err)
				}
				for _, o := range sb.List() {
					if o.Type == tt.sandboxType {
						t.Errorf("after the failed create the sandbox holds %s %s (%s)", o.Type, o.Name, o.State)
					}
				}
				f, err := d.(providers.Finder).Find(ctx, providers.FindRequest{Address: req.Address, Type: req.Type, Inputs: req.Inputs, IdempotencyKey: req.IdempotencyKey})
				if err != nil || f.Found {
					t.Errorf("Find after the failed create = %+v, %v; want not found", f, err)
				}
				return d.Create(ctx, req) // the next apply: same key
			})
			if failed != 1 {
				t.Fatalf("no %s was created", tt.typ)
			}
			if got := sb.Requests()[tt.op]; got != 2 {
				t.Errorf("%s was called %d times; want 2 (the failed create and the retry)", tt.op, got)
			}
		})
	}
}

// TestLostRepliesMakeOneObject: when the reply to a create is lost after the
// cloud made the object, Create still returns that object and the cloud
// holds no second one: EC2 creates without a client token are tried once by
// the SDK and looked up by their idempotency-key tag before the driver
// retries them; CreateRouteTable and CreateNatGateway pass the key as
// ClientToken; CreateRole adopts the role its first attempt made.
func TestLostRepliesMakeOneObject(t *testing.T) {
	for _, op := range []string{
		"ec2:CreateVpc", "ec2:CreateSubnet", "ec2:CreateInternetGateway", "ec2:AllocateAddress",
		"ec2:CreateSecurityGroup", "ec2:CreateRouteTable", "ec2:CreateNatGateway", "iam:CreateRole",
		"eks:CreateCluster", "eks:CreateNodegroup", "eks:CreateAddon",
	} {
		t.Run(op, func(t *testing.T) {
			sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: op, Kind: sandbox.FaultDropAfter, Nth: 1}}})
			a := applyAll(t, d, smallRegion())
			owner := map[string]string{}
			for addr, in := range a.inst {
				owner[in.ID] = addr
				for _, k := range []string{"id", "arn", "role_id"} {
					if v, ok := in.Outputs[k].(string); ok && v != "" {
						owner[v] = addr
					}
				}
			}
			seen := map[string]string{}
			for _, obj := range inventory(sb) {
				_, id, _ := strings.Cut(obj, "/")
				addr, ok := owner[id]
				if !ok {
					t.Errorf("leak: the sandbox holds %s, which no Create returned", obj)
					continue
				}
				if prev := seen[addr]; prev != "" {
					t.Errorf("duplicate: %s and %s are both %s", prev, obj, addr)
				}
				seen[addr] = obj
			}
		})
	}
}

// applyAllWith is applyAll with each Create made through create, so a test
// can watch or repeat one.
func applyAllWith(t *testing.T, d providers.Driver, r *spec.Region, create func(providers.CreateRequest) (providers.CreateResponse, error)) *applied {
	t.Helper()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	a := &applied{d: d, inst: map[string]*providers.Instance{}, res: map[string]providers.Resource{}}
	t.Cleanup(func() { a.destroy(t) })
	pending := slices.Clone(resp.Resources)
	for len(pending) > 0 {
		i := slices.IndexFunc(pending, func(res providers.Resource) bool {
			for _, dep := range append(providers.Refs(map[string]any(res.Inputs)), res.DependsOn...) {
				if _, ok := a.inst[dep]; !ok {
					return false
				}
			}
			return true
		})
		if i < 0 {
			t.Fatalf("cannot order %d resources", len(pending))
		}
		res := pending[i]
		pending = slices.Delete(pending, i, i+1)
		in := a.resolve(t, res.Inputs).(providers.Values)
		key := "key-" + strings.ReplaceAll(res.Address, "/", "-")
		cr, err := create(providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: key})
		if err != nil {
			t.Fatalf("Create %s: %v", res.Address, err)
		}
		a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
		a.res[res.Address] = res
		a.order = append(a.order, res.Address)
	}
	return a
}

// TestFailedNATGatewayIsTainted: a NAT gateway that EC2 reports failed is
// returned with its ID and an error wrapping providers.ErrCreateFailed, so
// the engine taints it and replaces it under a new key (a retry under the
// same ClientToken would get the failed gateway back). A client-side
// failure would leave it pending instead, to be read again.
func TestFailedNATGatewayIsTainted(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "ec2:CreateNatGateway", Kind: sandbox.FaultFail, Nth: 1}}})
	ctx := context.Background()
	failed := 0
	applyAllWith(t, d, smallRegion(), func(req providers.CreateRequest) (providers.CreateResponse, error) {
		if req.Type != awsdriver.TypeNATGateway || failed > 0 {
			return d.Create(ctx, req)
		}
		failed++
		resp, err := d.Create(ctx, req)
		if err == nil || resp.ID == "" {
			t.Fatalf("Create %s with a failing gateway = %+v, %v; want its ID and an error", req.Address, resp, err)
		}
		if !errors.Is(err, providers.ErrCreateFailed) {
			t.Errorf("Create %s with a failing gateway: %v; want it to wrap providers.ErrCreateFailed", req.Address, err)
		}
		if _, derr := d.Delete(ctx, providers.DeleteRequest{Instance: providers.Instance{Address: req.Address, Type: req.Type, ID: resp.ID, Inputs: req.Inputs}}); derr != nil {
			t.Errorf("Delete of the failed gateway %s: %v", resp.ID, derr)
		}
		req.IdempotencyKey += "-replacement"
		return d.Create(ctx, req)
	})
	if failed != 1 {
		t.Fatal("no NAT gateway was created")
	}
}
