package kit_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// A tiny cloud of "disks" to drive the kit through its public surface.

type diskIn struct {
	Zone   string            `kit:"zone,replace" why:"a disk cannot move between zones"`
	SizeGB int               `kit:"size_gb"`
	Tags   []string          `kit:"tags,set"`
	Labels map[string]string `kit:"labels"`
	Note   *string           `kit:"note"`
	Extra  string            `kit:"extra,omitempty"`
	Spec   diskSpec          `kit:"spec"`
}

type diskSpec struct {
	Kind  string   `kit:"kind"`
	Zones []string `kit:"zones,set"`
}

type diskOut struct {
	ID     string `kit:"id"`
	Serial string `kit:"serial"`
	Secret string `kit:"secret,sensitive"`
}

type env struct{ cloud *cloud }

type cloud struct {
	mu      sync.Mutex
	disks   map[string]diskIn
	next    int
	fail    error
	settled []string
	// making holds disks still being made: Read reports no serial until
	// Settle finishes them. failed holds disks whose creation failed.
	making, failed map[string]bool
	updates        [][]string
	// order reverses the tags Read reports, as a cloud may.
	order bool
}

type diskHandler struct{}

func (diskHandler) Create(_ context.Context, c *kit.Call[env, diskIn, diskOut]) (string, error) {
	cl := c.Env.cloud
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.fail != nil {
		return "", cl.fail
	}
	cl.next++
	id := fmt.Sprintf("disk-%d", cl.next)
	cl.disks[id] = c.In
	return id, nil
}

func (diskHandler) Read(_ context.Context, c *kit.Call[env, diskIn, diskOut]) (*kit.Live[diskIn, diskOut], error) {
	cl := c.Env.cloud
	cl.mu.Lock()
	defer cl.mu.Unlock()
	d, ok := cl.disks[c.ID]
	if !ok {
		return nil, nil
	}
	if cl.order {
		d.Tags = []string{d.Tags[1], d.Tags[0]}
	}
	out := diskOut{ID: c.ID, Serial: "s-" + c.ID, Secret: "hunter2"}
	switch {
	case cl.failed[c.ID]:
		return c.FoundFailed(d, out), nil
	case cl.making[c.ID]:
		out.Serial = ""
	}
	return c.Found(d, out), nil
}

func (diskHandler) Update(_ context.Context, c *kit.Call[env, diskIn, diskOut], changed []string) error {
	cl := c.Env.cloud
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.updates = append(cl.updates, changed)
	if _, ok := cl.disks[c.ID]; ok {
		cl.disks[c.ID] = c.In
	}
	return nil
}

func (diskHandler) Delete(_ context.Context, c *kit.Call[env, diskIn, diskOut]) error {
	cl := c.Env.cloud
	cl.mu.Lock()
	defer cl.mu.Unlock()
	delete(cl.disks, c.ID)
	return nil
}

func (diskHandler) Find(_ context.Context, c *kit.Call[env, diskIn, diskOut]) (string, error) {
	cl := c.Env.cloud
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for id, d := range cl.disks {
		if d.Zone == c.In.Zone && d.Extra == c.Key {
			return id, nil
		}
	}
	return "", nil
}

func (diskHandler) Settle(_ context.Context, c *kit.Call[env, diskIn, diskOut]) error {
	cl := c.Env.cloud
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.settled = append(cl.settled, c.ID)
	delete(cl.making, c.ID)
	return nil
}

// snapshot is an immutable type (no Updater).
type snapIn struct {
	Disk string `kit:"disk,replace"`
}

type snapOut struct {
	ID string `kit:"id"`
}

type snapHandler struct{}

func (snapHandler) Create(context.Context, *kit.Call[kit.None, snapIn, snapOut]) (string, error) {
	return "snap-1", nil
}

func (snapHandler) Read(_ context.Context, c *kit.Call[kit.None, snapIn, snapOut]) (*kit.Live[snapIn, snapOut], error) {
	return c.Found(c.In, snapOut{ID: c.ID}), nil
}

func (snapHandler) Delete(context.Context, *kit.Call[kit.None, snapIn, snapOut]) error { return nil }

var errThrottle = errors.New("Throttling: slow down")

func newRouter(t *testing.T, cl *cloud, upgrades ...kit.Upgrade) *kit.Router {
	t.Helper()
	r, err := kit.New(kit.Options{Name: "toy", Classify: func(err error) providers.ErrorClass {
		if errors.Is(err, errThrottle) {
			return providers.ClassThrottled
		}
		return providers.ClassUnknown
	}},
		kit.Type[env, diskIn, diskOut]{Name: "toy_disk", Handler: diskHandler{}, Upgrades: upgrades,
			Connect: func(context.Context, kit.Target) (env, error) { return env{cloud: cl}, nil }},
		kit.Type[kit.None, snapIn, snapOut]{Name: "toy_snapshot", Handler: snapHandler{}},
	)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func newCloud() *cloud {
	return &cloud{disks: map[string]diskIn{}, making: map[string]bool{}, failed: map[string]bool{}}
}

func diskInputs() providers.Values {
	return providers.Values{
		"zone": "z1", "size_gb": 10, "tags": []any{"b", "a"}, "labels": map[string]any{"team": "x"}, "note": nil,
		"spec": map[string]any{"kind": "ssd", "zones": []any{"z2", "z1"}},
	}
}

func TestSchemaFromTags(t *testing.T) {
	r := newRouter(t, newCloud())
	s := r.Schemas()
	if len(s) != 2 || s[0].Type != "toy_disk" || s[1].Type != "toy_snapshot" || s[0].Version != 0 {
		t.Fatalf("schemas %+v", s)
	}
	got := map[string]providers.Attribute{}
	for _, a := range s[0].Inputs {
		got[a.Name] = a
	}
	want := map[string]providers.Attribute{
		"zone":    {Name: "zone", Type: "string", RequiresReplace: true, ReplaceReason: "a disk cannot move between zones"},
		"size_gb": {Name: "size_gb", Type: "integer"},
		"tags":    {Name: "tags", Type: "list(string)"},
		"labels":  {Name: "labels", Type: "map(string)"},
		"note":    {Name: "note", Type: "string", Optional: true},
		"extra":   {Name: "extra", Type: "string", Optional: true},
		"spec": {Name: "spec", Type: "object", Attributes: []providers.Attribute{
			{Name: "kind", Type: "string"}, {Name: "zones", Type: "list(string)"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs\n got %+v\nwant %+v", got, want)
	}
	if o := s[0].Outputs; len(o) != 3 || !o[2].Sensitive {
		t.Errorf("outputs %+v", o)
	}
}

func TestDeclarationErrors(t *testing.T) {
	type untagged struct{ Name string }
	type secretIn struct {
		Password string `kit:"password,sensitive"`
	}
	type badOption struct {
		Name string `kit:"name,bogus"`
	}
	type chanIn struct {
		C chan int `kit:"c"`
	}
	for name, d := range map[string]kit.Declaration{
		"untagged field":  kit.Type[kit.None, untagged, snapOut]{Name: "a", Handler: nopHandler[untagged]{}},
		"sensitive input": kit.Type[kit.None, secretIn, snapOut]{Name: "b", Handler: nopHandler[secretIn]{}},
		"unknown option":  kit.Type[kit.None, badOption, snapOut]{Name: "c", Handler: nopHandler[badOption]{}},
		"channel field":   kit.Type[kit.None, chanIn, snapOut]{Name: "d", Handler: nopHandler[chanIn]{}},
		"no name":         kit.Type[kit.None, snapIn, snapOut]{Handler: snapHandler{}},
	} {
		if _, err := kit.New(kit.Options{Name: "toy"}, d); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	d := kit.Type[kit.None, snapIn, snapOut]{Name: "x", Handler: snapHandler{}}
	if _, err := kit.New(kit.Options{}, d, d); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("declared twice: %v", err)
	}
}

type nopHandler[In any] struct{}

func (nopHandler[In]) Create(context.Context, *kit.Call[kit.None, In, snapOut]) (string, error) {
	return "", nil
}

func (nopHandler[In]) Read(context.Context, *kit.Call[kit.None, In, snapOut]) (*kit.Live[In, snapOut], error) {
	return nil, nil
}
func (nopHandler[In]) Delete(context.Context, *kit.Call[kit.None, In, snapOut]) error { return nil }

func TestCreateReadRoundTrip(t *testing.T) {
	cl := newCloud()
	r := newRouter(t, cl)
	ctx := context.Background()
	resp, err := r.Create(ctx, providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: diskInputs(), IdempotencyKey: "k"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if resp.ID != "disk-1" || !reflect.DeepEqual(resp.Outputs, providers.Values{"id": "disk-1", "serial": "s-disk-1"}) {
		t.Errorf("Create = %+v (the sensitive output must not be there)", resp)
	}
	if got := cl.disks["disk-1"]; got.SizeGB != 10 || got.Labels["team"] != "x" || got.Spec.Kind != "ssd" || got.Note != nil {
		t.Errorf("handler saw %+v", got)
	}
	// A plan file gives numbers as float64; the cloud reorders sets.
	recorded := diskInputs()
	recorded["size_gb"] = float64(10)
	cl.order = true
	read, err := r.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: resp.ID, Inputs: recorded}})
	if err != nil || !read.Exists {
		t.Fatalf("Read: %+v %v", read, err)
	}
	want := providers.Values{
		"zone": "z1", "size_gb": 10, "tags": []any{"b", "a"}, "labels": map[string]any{"team": "x"}, "note": nil,
		"spec": map[string]any{"kind": "ssd", "zones": []any{"z2", "z1"}},
	}
	if !reflect.DeepEqual(read.Inputs, want) {
		t.Errorf("Read inputs\n got %#v\nwant %#v", read.Inputs, want)
	}
	// A set that differs from the recorded one is sorted.
	cl.disks["disk-1"] = diskIn{Zone: "z1", Tags: []string{"d", "c"}, Spec: diskSpec{Zones: []string{"z3", "z2"}}}
	cl.order = false
	read, err = r.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: resp.ID, Inputs: recorded}})
	if err != nil {
		t.Fatal(err)
	}
	if got := read.Inputs["tags"]; !reflect.DeepEqual(got, []any{"c", "d"}) {
		t.Errorf("differing set = %v; want sorted", got)
	}
	if got := read.Inputs["spec"].(map[string]any)["zones"]; !reflect.DeepEqual(got, []any{"z2", "z3"}) {
		t.Errorf("differing nested set = %v; want sorted", got)
	}
	// Gone: Exists false, no error; no ID: no call.
	read, err = r.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: "disk-9", Inputs: recorded}})
	if err != nil || read.Exists {
		t.Errorf("gone: %+v %v", read, err)
	}
}

func TestTypeErrorsNameTheField(t *testing.T) {
	r := newRouter(t, newCloud())
	for _, tc := range []struct {
		name  string
		key   string
		value any
		want  string
	}{
		{"string for integer", "size_gb", "big", `toy: create r/toy_disk.a: input size_gb: want an integer, got string "big"`},
		{"fraction for integer", "size_gb", 1.5, "input size_gb: want an integer, got number 1.5"},
		{"number for string", "zone", 5, "input zone: want a string, got number 5"},
		{"nested", "spec", map[string]any{"kind": true}, "input spec.kind: want a string, got true"},
		{"list element", "tags", []any{"a", 3}, "input tags[1]: want a string, got number 3"},
		{"map value", "labels", map[string]any{"team": []any{}}, "input labels.team: want a string, got a list"},
		{"unresolved reference", "zone", providers.Ref("r/x.y", "zone"), "inputs hold unresolved references to r/x.y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := diskInputs()
			in[tc.key] = tc.value
			_, err := r.Create(context.Background(), providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to contain %q", err, tc.want)
			}
		})
	}
	_, err := r.Create(context.Background(), providers.CreateRequest{Address: "r/toy_vm.a", Type: "toy_vm"})
	if err == nil || !strings.Contains(err.Error(), `unknown resource type "toy_vm"`) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestFinishFillsForceNewAndChecks(t *testing.T) {
	r := newRouter(t, newCloud())
	res := []providers.Resource{
		{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: diskInputs()},
		{Address: "r/toy_snapshot.a", Type: "toy_snapshot", Inputs: providers.Values{"disk": providers.Ref("r/toy_disk.a", "id")}},
	}
	if err := r.Finish(res); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !reflect.DeepEqual(res[0].ForceNew, []string{"zone"}) || !reflect.DeepEqual(res[1].ForceNew, []string{"disk"}) {
		t.Errorf("ForceNew %v %v", res[0].ForceNew, res[1].ForceNew)
	}
	for name, in := range map[string]providers.Values{
		"unknown key":   {"disk": "d", "color": "red"},
		"missing input": {},
		"wrong type":    {"disk": 7},
	} {
		err := r.Finish([]providers.Resource{{Address: "r/toy_snapshot.a", Type: "toy_snapshot", Inputs: in}})
		if err == nil || !strings.Contains(err.Error(), "r/toy_snapshot.a: input") {
			t.Errorf("%s: Finish = %v", name, err)
		}
	}
}

func TestUpdateFollowsTheSchema(t *testing.T) {
	cl := newCloud()
	r := newRouter(t, cl)
	ctx := context.Background()
	resp, err := r.Create(ctx, providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: diskInputs()})
	if err != nil {
		t.Fatal(err)
	}
	inst := providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: resp.ID, Inputs: diskInputs(), Outputs: resp.Outputs}
	bigger := diskInputs()
	bigger["size_gb"] = 20
	if _, err := r.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: bigger, Changed: []string{"size_gb"}}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if cl.disks[resp.ID].SizeGB != 20 || !reflect.DeepEqual(cl.updates, [][]string{{"size_gb"}}) {
		t.Errorf("after update: %+v %v", cl.disks[resp.ID], cl.updates)
	}
	moved := diskInputs()
	moved["zone"] = "z2"
	_, err = r.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: moved, Changed: []string{"zone"}})
	if !errors.Is(err, providers.ErrPermanent) || !strings.Contains(err.Error(), "zone cannot be changed in place") || len(cl.updates) != 1 {
		t.Errorf("replace key: %v (updates %v)", err, cl.updates)
	}
	snap := providers.Instance{Address: "r/toy_snapshot.a", Type: "toy_snapshot", ID: "snap-1", Inputs: providers.Values{"disk": "d"}}
	_, err = r.Update(ctx, providers.UpdateRequest{Instance: snap, Inputs: providers.Values{"disk": "d"}, Changed: []string{"note"}})
	if !errors.Is(err, providers.ErrPermanent) || !strings.Contains(err.Error(), "no input of toy_snapshot can change in place") {
		t.Errorf("no updater: %v", err)
	}
	delete(cl.disks, resp.ID)
	_, err = r.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: bigger, Changed: []string{"size_gb"}})
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("update of a vanished disk: %v", err)
	}
}

func TestErrorsGetClasses(t *testing.T) {
	cl := newCloud()
	r := newRouter(t, cl)
	cl.fail = fmt.Errorf("call CreateDisk: %w", errThrottle)
	_, err := r.Create(context.Background(), providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: diskInputs()})
	if providers.Classify(err) != providers.ClassThrottled || !errors.Is(err, errThrottle) {
		t.Errorf("class %v of %v", providers.Classify(err), err)
	}
	if want := "toy: create r/toy_disk.a: call CreateDisk: Throttling: slow down"; err.Error() != want {
		t.Errorf("message %q; want %q", err, want)
	}
	cl.fail = fmt.Errorf("cluster FAILED: %w", providers.ErrCreateFailed)
	_, err = r.Create(context.Background(), providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: diskInputs()})
	if providers.Classify(err) != providers.ClassCreateFailed {
		t.Errorf("a class the handler set is kept: %v", providers.Classify(err))
	}
}

// TestFindSettlesOnlyWhenAsked: Find with Settle (the engine adopting at
// apply time) waits until the found object is usable before it reads its
// outputs; a plain Find (a plan) does not wait. (Before issue 16 Find always
// settled, so a plan could wait minutes for a cluster.)
func TestFindSettlesOnlyWhenAsked(t *testing.T) {
	cl := newCloud()
	r := newRouter(t, cl)
	in := diskInputs()
	in["extra"] = "key-1"
	cl.disks["disk-7"] = diskIn{Zone: "z1", Extra: "key-1", Tags: []string{"a", "b"}}
	cl.making["disk-7"] = true
	f, err := r.Find(context.Background(), providers.FindRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in, IdempotencyKey: "key-1"})
	if err != nil || !f.Found || f.ID != "disk-7" || f.Outputs["serial"] != "" {
		t.Fatalf("Find without Settle = %+v, %v; want disk-7 as it is (no serial yet)", f, err)
	}
	if len(cl.settled) != 0 {
		t.Errorf("a Find without Settle settled %v", cl.settled)
	}
	f, err = r.Find(context.Background(), providers.FindRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in, IdempotencyKey: "key-1", Settle: true})
	if err != nil || !f.Found || f.ID != "disk-7" || f.Outputs["serial"] != "s-disk-7" {
		t.Fatalf("Find with Settle = %+v, %v", f, err)
	}
	if !reflect.DeepEqual(cl.settled, []string{"disk-7"}) {
		t.Errorf("settled %v", cl.settled)
	}
	// One that failed while it settled is not found: the create that
	// follows makes it again.
	cl.failed["disk-7"] = true
	if f, err = r.Find(context.Background(), providers.FindRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in, IdempotencyKey: "key-1", Settle: true}); err != nil || f.Found {
		t.Errorf("Find with Settle of a failed disk = %+v, %v; want not found", f, err)
	}
	f, err = r.Find(context.Background(), providers.FindRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: in, IdempotencyKey: "other"})
	if err != nil || f.Found {
		t.Errorf("other key: %+v %v", f, err)
	}
	// A type without a Finder finds nothing.
	f, err = r.Find(context.Background(), providers.FindRequest{Address: "r/toy_snapshot.a", Type: "toy_snapshot", Inputs: providers.Values{"disk": "d"}})
	if err != nil || f.Found {
		t.Errorf("no finder: %+v %v", f, err)
	}
}

// TestReadSettlesWhenAsked: a Read with Settle (the engine adopting a
// pending object by its recorded ID) waits until the object is usable, so
// its outputs are complete; a plain Read reports the object as it is. A
// failed creation is reported as CreateFailed either way.
func TestReadSettlesWhenAsked(t *testing.T) {
	cl := newCloud()
	r := newRouter(t, cl)
	cl.disks["disk-3"] = diskIn{Zone: "z1", Tags: []string{"a", "b"}}
	cl.making["disk-3"] = true
	inst := providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: "disk-3", Inputs: diskInputs()}
	got, err := r.Read(context.Background(), providers.ReadRequest{Instance: inst})
	if err != nil || !got.Exists || got.Outputs["serial"] != "" || len(cl.settled) != 0 {
		t.Fatalf("Read = %+v, %v (settled %v); want the disk as it is, unsettled", got, err, cl.settled)
	}
	got, err = r.Read(context.Background(), providers.ReadRequest{Instance: inst, Settle: true})
	if err != nil || !got.Exists || got.Outputs["serial"] != "s-disk-3" || got.CreateFailed {
		t.Fatalf("Read with Settle = %+v, %v; want the settled disk with its serial", got, err)
	}
	cl.failed["disk-3"] = true
	for _, settle := range []bool{false, true} {
		got, err = r.Read(context.Background(), providers.ReadRequest{Instance: inst, Settle: settle})
		if err != nil || !got.Exists || !got.CreateFailed {
			t.Errorf("Read (settle %v) of a failed disk = %+v, %v; want Exists and CreateFailed", settle, got, err)
		}
	}
	// A batched refresh reports it the same way.
	many, err := r.ReadMany(context.Background(), []providers.ReadRequest{{Instance: inst}})
	if err != nil || len(many) != 1 || !many[0].Exists || !many[0].CreateFailed {
		t.Errorf("ReadMany of a failed disk = %+v, %v; want Exists and CreateFailed", many, err)
	}
}

// renameSize is schema version 0 → 1: the input "size" became "size_gb".
func renameSize(in, out providers.Values) (providers.Values, providers.Values, error) {
	if v, ok := in["size"]; ok {
		in["size_gb"] = v
		delete(in, "size")
	}
	return in, out, nil
}

func TestUpgradeOlderValues(t *testing.T) {
	cl := newCloud()
	r := newRouter(t, cl, renameSize)
	if v := r.Schemas()[0].Version; v != 1 {
		t.Fatalf("version %d; want 1", v)
	}
	old := diskInputs()
	delete(old, "size_gb")
	old["size"] = 30
	inst := providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: "disk-1", Inputs: old}
	up, err := r.UpgradeState(context.Background(), providers.UpgradeStateRequest{Instance: inst})
	if err != nil || up.SchemaVersion != 1 || up.Inputs["size_gb"] != 30 || up.Inputs["size"] != nil {
		t.Fatalf("UpgradeState = %+v, %v", up, err)
	}
	if old["size"] != 30 {
		t.Errorf("the recorded values were changed in place: %v", old)
	}
	// A call with old values is upgraded before the handler sees them.
	cl.disks["disk-1"] = diskIn{Zone: "z1", Tags: []string{"a", "b"}}
	bigger := diskInputs()
	bigger["size_gb"] = 40
	if _, err := r.Update(context.Background(), providers.UpdateRequest{Instance: inst, Inputs: bigger, Changed: []string{"size_gb"}}); err != nil {
		t.Fatalf("Update from version 0: %v", err)
	}
	inst.SchemaVersion = 2
	if _, err := r.UpgradeState(context.Background(), providers.UpgradeStateRequest{Instance: inst}); err == nil || !strings.Contains(err.Error(), "use a newer regionctl") {
		t.Errorf("newer version: %v", err)
	}
	if _, err := r.Read(context.Background(), providers.ReadRequest{Instance: inst}); err == nil {
		t.Error("Read accepted values from a newer schema version")
	}
}

func TestTargetString(t *testing.T) {
	tg := kit.Target{Inputs: providers.Values{"a": "x", "n": 3}, Prev: providers.Values{"b": "y", "a": "old"}}
	for key, want := range map[string]string{"a": "x", "b": "y", "c": ""} {
		if got, err := tg.String(key); err != nil || got != want {
			t.Errorf("String(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := tg.String("n"); err == nil || !strings.Contains(err.Error(), "input n: want a string, got number 3") {
		t.Errorf("String(n): %v", err)
	}
}

func TestSameSet(t *testing.T) {
	for _, tc := range []struct {
		a, b []string
		want bool
	}{
		{[]string{"a", "b"}, []string{"b", "a"}, true},
		{[]string{"a", "a"}, []string{"a", "b"}, false},
		{nil, []string{}, true},
		{[]string{"a"}, nil, false},
	} {
		if got := kit.SameSet(tc.a, tc.b); got != tc.want {
			t.Errorf("SameSet(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

// TestMessageRewritesKeepTheChain: Options.Message changes the text of a
// handler's error (a driver's many-line SDK errors shown on one line)
// while errors.Is, errors.As and the classes still see the original.
func TestMessageRewritesKeepTheChain(t *testing.T) {
	cl := newCloud()
	r, err := kit.New(kit.Options{Name: "toy",
		Classify: func(err error) providers.ErrorClass {
			if errors.Is(err, errThrottle) {
				return providers.ClassThrottled
			}
			return providers.ClassUnknown
		},
		Message: func(err error) string { return kit.OneLine(err.Error()) },
	}, kit.Type[env, diskIn, diskOut]{Name: "toy_disk", Handler: diskHandler{},
		Connect: func(context.Context, kit.Target) (env, error) { return env{cloud: cl}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	cl.fail = fmt.Errorf("call CreateDisk\n  reason:\t%w", errThrottle)
	_, err = r.Create(context.Background(), providers.CreateRequest{Address: "r/toy_disk.a", Type: "toy_disk", Inputs: diskInputs()})
	if want := "toy: create r/toy_disk.a: call CreateDisk reason: Throttling: slow down"; err == nil || err.Error() != want {
		t.Errorf("message %q; want %q", err, want)
	}
	if !errors.Is(err, errThrottle) || providers.Classify(err) != providers.ClassThrottled {
		t.Errorf("chain or class lost: %v (class %v)", err, providers.Classify(err))
	}
}
