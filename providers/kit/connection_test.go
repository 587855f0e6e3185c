package kit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// conn says where a toy call goes: a role to act as.
type conn struct {
	Role *string `kit:"role,omitempty"`
}

// TestConnectionInputs: Connection inputs are in every type's schema,
// pass Finish, reach Connect but not the handler, read back as recorded,
// and a change to them alone calls no handler.
func TestConnectionInputs(t *testing.T) {
	ctx := context.Background()
	cl := newCloud()
	var seen []string
	r, err := kit.New(kit.Options{Name: "toy", Connection: conn{}},
		kit.Type[env, diskIn, diskOut]{Name: "toy_disk", Handler: diskHandler{},
			Connect: func(_ context.Context, tg kit.Target) (env, error) {
				role, err := tg.String("role")
				seen = append(seen, role)
				return env{cloud: cl}, err
			}},
	)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range r.Schemas()[0].Inputs {
		names = append(names, a.Name)
	}
	if !strings.Contains(strings.Join(names, ","), ",role") {
		t.Errorf("schema inputs %v lack the connection input role", names)
	}
	in := diskInputs()
	in["role"] = "ops"
	res := []providers.Resource{{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in}}
	if err := r.Finish(res); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if len(res[0].ForceNew) != 1 || res[0].ForceNew[0] != "zone" {
		t.Errorf("ForceNew %v, want [zone]: a connection input never forces a replacement", res[0].ForceNew)
	}
	bad := providers.Values{"role": 5}
	for k, v := range diskInputs() {
		bad[k] = v
	}
	if err := r.Finish([]providers.Resource{{Address: "r/toy_disk.b", Type: "toy_disk", Inputs: bad}}); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("Finish with a number as role: %v, want an error naming role", err)
	}

	cr, err := r.Create(ctx, providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[0] != "ops" {
		t.Errorf("Connect saw roles %v, want ops", seen)
	}
	inst := providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
	rr, err := r.Read(ctx, providers.ReadRequest{Instance: inst})
	if err != nil || rr.Inputs["role"] != "ops" {
		t.Errorf("Read: role %v (err %v), want ops as recorded", rr.Inputs["role"], err)
	}
	moved := providers.Values{}
	for k, v := range in {
		moved[k] = v
	}
	moved["role"] = "admin"
	before := len(cl.updates)
	if _, err := r.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: moved, Changed: []string{"role"}}); err != nil {
		t.Fatalf("Update of the role alone: %v", err)
	}
	if len(cl.updates) != before {
		t.Errorf("a change of the connection input alone called the handler's Update: %v", cl.updates[before:])
	}
	moved["size_gb"] = 20
	if _, err := r.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: moved, Changed: []string{"role", "size_gb"}}); err != nil {
		t.Fatal(err)
	}
	if got := cl.updates[len(cl.updates)-1]; len(got) != 1 || got[0] != "size_gb" {
		t.Errorf("the handler's Update saw changed %v, want [size_gb]", got)
	}

	type clash struct {
		Zone string `kit:"zone"`
	}
	if _, err := kit.New(kit.Options{Name: "toy", Connection: clash{}}, kit.Type[env, diskIn, diskOut]{Name: "toy_disk", Handler: diskHandler{}}); err == nil {
		t.Errorf("a type declaring a Connection input's name was accepted")
	}
}
