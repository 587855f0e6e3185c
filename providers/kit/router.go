package kit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// Meta identifies the resource one call is about.
type Meta struct {
	Address string
	Type    string
	// Key is the create's idempotency key (Create and Find; "" otherwise).
	Key string
	// ID is the cloud's identifier ("" on Create and Find). A handler's
	// Create may set it once the object exists, for its own later steps.
	ID string
}

// Target is what a Type's Connect sees: the call's identity and its raw
// inputs, from which a driver picks its clients (location, project,
// subscription).
type Target struct {
	Meta
	// Inputs are the desired inputs (Create, Update, Find) or the recorded
	// ones (Read, Delete); Prev are the recorded ones, nil for Create and
	// Find.
	Inputs, Prev providers.Values
}

// String returns input key from Inputs, else from Prev; "" when neither
// has it. A value that is not a string is an error naming the key.
func (t Target) String(key string) (string, error) {
	for _, v := range []providers.Values{t.Inputs, t.Prev} {
		x, ok := v[key]
		if !ok || x == nil {
			continue
		}
		s, ok := x.(string)
		if !ok {
			return "", typeError("input "+key, "a string", x)
		}
		if s != "" {
			return s, nil
		}
	}
	return "", nil
}

// Call is one operation on one resource, as a handler sees it: typed
// inputs, recorded values, and the driver's environment for it.
type Call[E, In, Out any] struct {
	Meta
	// Env is what the type's Connect returned (clients, location).
	Env E
	// In are the desired inputs (Create, Update, Find) or, for Read and
	// Delete, the recorded ones. They are resolved: no references.
	In In
	// Prev are the recorded inputs (Read, Update, Delete); for the read
	// that follows a Create, Update or Find they equal In.
	Prev In
	// Recorded are the recorded outputs (Read, Update, Delete).
	Recorded Out
}

// Found is what Read returns for a resource that exists: its live inputs
// (in the shape Expand gives them, as far as the cloud reports them) and
// its outputs.
func (c *Call[E, In, Out]) Found(in In, out Out) *Live[In, Out] {
	return &Live[In, Out]{In: in, Out: out}
}

// Live is a resource as the cloud reports it.
type Live[In, Out any] struct {
	In  In
	Out Out
}

// Handler manages one resource type with the cloud's SDK. The kit calls it
// only with resolved inputs and a non-empty ID where one is needed.
type Handler[E, In, Out any] interface {
	// Create makes the resource — or finishes the one an interrupted create
	// with the same c.Key made — and waits until it is usable; it returns
	// the ID, also when it fails after the object came to exist.
	Create(ctx context.Context, c *Call[E, In, Out]) (string, error)
	// Read reports the live resource c.ID, or nil when it is gone.
	Read(ctx context.Context, c *Call[E, In, Out]) (*Live[In, Out], error)
	// Delete removes c.ID and waits until it is gone; gone already is fine.
	Delete(ctx context.Context, c *Call[E, In, Out]) error
}

// Updater is implemented by handlers of types with inputs that can change
// in place. The kit calls Update only with keys that do not require a
// replacement; without Updater every change is refused (the engine
// replaces the resource).
type Updater[E, In, Out any] interface {
	Update(ctx context.Context, c *Call[E, In, Out], changed []string) error
}

// Finder is implemented by handlers that can find what an interrupted
// create made (by tags, labels or names): it returns the ID, or "".
type Finder[E, In, Out any] interface {
	Find(ctx context.Context, c *Call[E, In, Out]) (string, error)
}

// Settler is implemented by handlers whose found (adopted) objects may
// still be in the making: the kit calls Settle after Find and before it
// reads the object, so an adopted resource is recorded only once it is
// usable and its outputs are complete.
type Settler[E, In, Out any] interface {
	Settle(ctx context.Context, c *Call[E, In, Out]) error
}

// Importer is implemented by handlers of types whose recorded ID is not
// the only form a user may give to `regionctl import`: the kit calls
// ImportID with c.ID set to what the user wrote and c.In to the desired
// inputs (references resolved as far as state knows them); it returns the
// ID to record, or an error (kit.Classed with providers.ErrPermanent for
// an ID of the wrong form, naming the forms the type accepts). Without it
// the user's ID is recorded as given.
type Importer[E, In, Out any] interface {
	ImportID(ctx context.Context, c *Call[E, In, Out]) (string, error)
}

// Upgrade rewrites a resource's stored inputs and outputs from one schema
// version to the next. It works on raw values: the old shape has no struct.
type Upgrade func(in, out providers.Values) (providers.Values, providers.Values, error)

// None is the environment of types that need none from their driver.
type None struct{}

// Type declares one resource type: its name, its handler over typed inputs
// and outputs, how to connect a call to the cloud, and how to upgrade
// values stored by older versions of the driver. Its schema comes from the
// kit tags of In and Out.
type Type[E, In, Out any] struct {
	Name        string
	Description string
	Handler     Handler[E, In, Out]
	// Connect returns the environment of one call (clients for the
	// location or account the target names). Nil leaves Env zero.
	Connect func(ctx context.Context, t Target) (E, error)
	// Upgrades[i] turns values of schema version i into version i+1; the
	// type's schema version is len(Upgrades).
	Upgrades []Upgrade
}

// Declaration is a declared resource type, ready for New. Type values
// are Declarations.
type Declaration interface {
	bind() (binding, error)
}

// binding is a Type with its type parameters erased.
type binding interface {
	schema() providers.ResourceSchema
	upgrades() []Upgrade
	create(ctx context.Context, m Meta, in providers.Values) (string, providers.Values, error)
	read(ctx context.Context, m Meta, in, out providers.Values) (exists bool, live, outputs providers.Values, err error)
	update(ctx context.Context, m Meta, in, prev, out providers.Values, changed []string) (providers.Values, error)
	delete(ctx context.Context, m Meta, in, out providers.Values) error
	find(ctx context.Context, m Meta, in providers.Values) (string, providers.Values, error)
	importID(ctx context.Context, m Meta, in providers.Values) (string, error)
	readMany(ctx context.Context, metas []Meta, ins, outs []providers.Values) ([]readResult, error)
	check(in providers.Values) error
}

func (t Type[E, In, Out]) bind() (binding, error) {
	if t.Name == "" || t.Handler == nil {
		return nil, errors.New("kit: a Type needs a Name and a Handler")
	}
	s := providers.ResourceSchema{
		Type: t.Name, Version: len(t.Upgrades), Description: t.Description,
		Inputs: attributes(reflect.TypeFor[In]()), Outputs: attributes(reflect.TypeFor[Out]()),
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[In](), reflect.TypeFor[Out]()} {
		if _, err := shapeOf(typ); err != nil {
			return nil, fmt.Errorf("kit: type %s: %w", t.Name, err)
		}
	}
	for _, a := range s.Inputs {
		if a.Sensitive {
			return nil, fmt.Errorf("kit: type %s: input %s cannot be sensitive: inputs are stored in state and plans", t.Name, a.Name)
		}
	}
	for _, a := range s.Outputs {
		if a.RequiresReplace {
			return nil, fmt.Errorf("kit: type %s: output %s cannot force a replacement", t.Name, a.Name)
		}
	}
	return &typed[E, In, Out]{t: t, s: s}, nil
}

// typed is a bound Type.
type typed[E, In, Out any] struct {
	t Type[E, In, Out]
	s providers.ResourceSchema
}

func (b *typed[E, In, Out]) schema() providers.ResourceSchema { return b.s }
func (b *typed[E, In, Out]) upgrades() []Upgrade              { return b.t.Upgrades }

// call builds a typed call: it decodes the values and connects.
func (b *typed[E, In, Out]) call(ctx context.Context, m Meta, in, prev, out providers.Values) (*Call[E, In, Out], error) {
	c := &Call[E, In, Out]{Meta: m}
	if err := decode(in, &c.In, decodeOpts{}); err != nil {
		return nil, fmt.Errorf("input %w", err)
	}
	if prev != nil {
		if err := decode(prev, &c.Prev, decodeOpts{}); err != nil {
			return nil, fmt.Errorf("recorded input %w", err)
		}
	}
	if out != nil {
		if err := decode(out, &c.Recorded, decodeOpts{}); err != nil {
			return nil, fmt.Errorf("recorded output %w", err)
		}
	}
	if b.t.Connect != nil {
		env, err := b.t.Connect(ctx, Target{Meta: m, Inputs: in, Prev: prev})
		if err != nil {
			return nil, err
		}
		c.Env = env
	}
	return c, nil
}

// observe reads c.ID and encodes what it finds, sets normalised like prev.
func (b *typed[E, In, Out]) observe(ctx context.Context, c *Call[E, In, Out], prev providers.Values) (bool, providers.Values, providers.Values, error) {
	live, err := b.t.Handler.Read(ctx, c)
	if err != nil || live == nil {
		return false, nil, nil, err
	}
	in, out, err := b.encodeLive(live, prev)
	if err != nil {
		return false, nil, nil, err
	}
	return true, in, out, nil
}

func (b *typed[E, In, Out]) create(ctx context.Context, m Meta, in providers.Values) (string, providers.Values, error) {
	c, err := b.call(ctx, m, in, nil, nil)
	if err != nil {
		return "", nil, err
	}
	id, err := b.t.Handler.Create(ctx, c)
	if err != nil {
		if id == "" {
			return "", nil, err
		}
		// It exists but is not usable: report what it is, even after a
		// cancellation.
		c.ID, c.Prev = id, c.In
		if exists, _, out, rerr := b.observe(context.WithoutCancel(ctx), c, in); rerr == nil && exists {
			return id, out, err
		}
		return id, nil, err
	}
	if id == "" {
		return "", nil, errors.New("the handler returned no ID")
	}
	c.ID, c.Prev = id, c.In
	exists, _, out, err := b.observe(ctx, c, in)
	switch {
	case err != nil:
		return id, nil, fmt.Errorf("read back %s: %w", id, err)
	case !exists:
		// Not recorded: the next run finds it by its key, or creates it.
		return "", nil, fmt.Errorf("read back %s: it is gone right after it was created", id)
	}
	return id, out, nil
}

func (b *typed[E, In, Out]) read(ctx context.Context, m Meta, in, out providers.Values) (bool, providers.Values, providers.Values, error) {
	c, err := b.call(ctx, m, in, in, out)
	if err != nil {
		return false, nil, nil, err
	}
	return b.observe(ctx, c, in)
}

func (b *typed[E, In, Out]) update(ctx context.Context, m Meta, in, prev, out providers.Values, changed []string) (providers.Values, error) {
	for _, k := range changed {
		if a, ok := b.s.Input(k); ok && a.RequiresReplace {
			return nil, fmt.Errorf("%s cannot be changed in place (it forces a replacement): %w", k, providers.ErrPermanent)
		}
	}
	u, ok := b.t.Handler.(Updater[E, In, Out])
	if !ok {
		return nil, fmt.Errorf("%s: no input of %s can change in place (it is replaced instead): %w", strings.Join(changed, ", "), b.s.Type, providers.ErrPermanent)
	}
	c, err := b.call(ctx, m, in, prev, out)
	if err != nil {
		return nil, err
	}
	if err := u.Update(ctx, c, changed); err != nil {
		return nil, err
	}
	c.Prev = c.In
	exists, _, got, err := b.observe(ctx, c, in)
	switch {
	case err != nil:
		return nil, &readBackError{err}
	case !exists:
		return nil, providers.ErrNotFound
	}
	return got, nil
}

// readBackError is a failure to read a resource after changing it.
type readBackError struct{ err error }

func (e *readBackError) Error() string { return "read back: " + e.err.Error() }
func (e *readBackError) Unwrap() error { return e.err }

func (b *typed[E, In, Out]) delete(ctx context.Context, m Meta, in, out providers.Values) error {
	c, err := b.call(ctx, m, in, in, out)
	if err != nil {
		return err
	}
	return b.t.Handler.Delete(ctx, c)
}

func (b *typed[E, In, Out]) find(ctx context.Context, m Meta, in providers.Values) (string, providers.Values, error) {
	f, ok := b.t.Handler.(Finder[E, In, Out])
	if !ok {
		return "", nil, nil
	}
	c, err := b.call(ctx, m, in, nil, nil)
	if err != nil {
		return "", nil, err
	}
	id, err := f.Find(ctx, c)
	if err != nil || id == "" {
		return "", nil, err
	}
	c.ID, c.Prev = id, c.In
	if s, ok := b.t.Handler.(Settler[E, In, Out]); ok {
		if err := s.Settle(ctx, c); err != nil {
			return "", nil, fmt.Errorf("wait until %s is usable: %w", id, err)
		}
	}
	exists, _, out, err := b.observe(ctx, c, in)
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", id, err)
	}
	if !exists {
		return "", nil, nil
	}
	return id, out, nil
}

func (b *typed[E, In, Out]) importID(ctx context.Context, m Meta, in providers.Values) (string, error) {
	im, ok := b.t.Handler.(Importer[E, In, Out])
	if !ok {
		return m.ID, nil
	}
	c, err := b.call(ctx, m, in, nil, nil)
	if err != nil {
		return "", err
	}
	return im.ImportID(ctx, c)
}

// check verifies expanded inputs: every key is an input of the type, every
// value has the input's type (references stand for any value), and every
// input that is not optional is there.
func (b *typed[E, In, Out]) check(in providers.Values) error {
	var probe In
	return decode(in, &probe, decodeOpts{unknown: true, refs: true, required: true})
}

// Options configure a Router.
type Options struct {
	// Name is the driver's name; every error the Router returns starts
	// with it ("aws: create ...").
	Name string
	// Classify returns the class of a cloud error the handlers returned
	// (throttled, busy, not found, permanent), or providers.ClassUnknown.
	// The Router wraps the error with the class's sentinel, so the engine
	// can use providers.Classify; the message is unchanged.
	Classify func(error) providers.ErrorClass
}

// Router implements the resource half of providers.Driver — Create, Read,
// Update, Delete, Find and UpgradeState — by routing each call to its
// declared Type. A driver embeds it and adds Capabilities (with Schemas),
// Expand (ending with Finish) and, if it has one, Validate.
type Router struct {
	opts  Options
	types map[string]binding
	order []string
}

var (
	_ providers.Finder        = (*Router)(nil)
	_ providers.StateUpgrader = (*Router)(nil)
	_ providers.Importer      = (*Router)(nil)
)

// New declares a driver's resource types. It fails on a declaration whose
// structs are not valid values (an untagged field, an unsupported type, a
// sensitive input) or on a type declared twice: a programmer error, found
// by the driver's first test.
func New(opts Options, decls ...Declaration) (*Router, error) {
	r := &Router{opts: opts, types: map[string]binding{}}
	for _, d := range decls {
		b, err := d.bind()
		if err != nil {
			return nil, err
		}
		typ := b.schema().Type
		if _, dup := r.types[typ]; dup {
			return nil, fmt.Errorf("kit: type %s declared twice", typ)
		}
		r.types[typ] = b
		r.order = append(r.order, typ)
	}
	return r, nil
}

// MustNew is New that panics on an invalid declaration.
func MustNew(opts Options, decls ...Declaration) *Router {
	r, err := New(opts, decls...)
	if err != nil {
		panic(err)
	}
	return r
}

// Schemas returns the schema of every declared type, in declaration order.
func (r *Router) Schemas() []providers.ResourceSchema {
	out := make([]providers.ResourceSchema, len(r.order))
	for i, typ := range r.order {
		out[i] = r.types[typ].schema()
	}
	return out
}

// Handles reports whether typ is a declared type.
func (r *Router) Handles(typ string) bool {
	_, ok := r.types[typ]
	return ok
}

// Finish completes the resources an Expand made: each one's ForceNew
// becomes the inputs its schema marks "replace" that it has (in schema
// order), and its inputs are checked against the schema. An error means
// the driver's Expand is wrong.
func (r *Router) Finish(resources []providers.Resource) error {
	var errs []error
	for i := range resources {
		res := &resources[i]
		b, ok := r.types[res.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s: unknown resource type %q", r.opts.Name, res.Address, res.Type))
			continue
		}
		if err := b.check(res.Inputs); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: input %w", r.opts.Name, res.Address, err))
			continue
		}
		res.ForceNew = b.schema().ReplaceKeys(res.Inputs)
	}
	return errors.Join(errs...)
}

func (r *Router) lookup(typ, address string) (binding, error) {
	b, ok := r.types[typ]
	if !ok {
		return nil, fmt.Errorf("%s: %s: unknown resource type %q", r.opts.Name, address, typ)
	}
	return b, nil
}

// fail wraps a handler's error: class sentinel from Classify, then the
// driver's name and what was being done.
func (r *Router) fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", r.opts.Name, fmt.Sprintf(format, args...), r.classed(err))
}

// classed adds the error class Classify finds, unless err has one.
func (r *Router) classed(err error) error {
	if providers.Classify(err) != providers.ClassUnknown || r.opts.Classify == nil {
		return err
	}
	if s := sentinel(r.opts.Classify(err)); s != nil {
		return &classedError{err: err, class: s}
	}
	return err
}

// Classed returns err with the error class of sentinel (providers.ErrBusy,
// ErrCreateFailed, ...) added and its message unchanged, for a handler that
// knows what kind of failure err is.
func Classed(err, sentinel error) error {
	if err == nil {
		return nil
	}
	return &classedError{err: err, class: sentinel}
}

// classedError is an error with an added class; its message is err's.
type classedError struct {
	err, class error
}

func (e *classedError) Error() string   { return e.err.Error() }
func (e *classedError) Unwrap() []error { return []error{e.err, e.class} }

func sentinel(c providers.ErrorClass) error {
	switch c {
	case providers.ClassNotFound:
		return providers.ErrNotFound
	case providers.ClassThrottled:
		return providers.ErrThrottled
	case providers.ClassBusy:
		return providers.ErrBusy
	case providers.ClassPermanent:
		return providers.ErrPermanent
	case providers.ClassCreateFailed:
		return providers.ErrCreateFailed
	}
	return nil
}

func checkResolved(in providers.Values) error {
	if refs := providers.Refs(map[string]any(in)); len(refs) > 0 {
		return fmt.Errorf("inputs hold unresolved references to %s", strings.Join(refs, ", "))
	}
	return nil
}

// current upgrades an instance's values to the type's schema version.
func (r *Router) current(b binding, inst providers.Instance) (providers.Values, providers.Values, error) {
	ups := b.upgrades()
	v := inst.SchemaVersion
	switch {
	case v == len(ups):
		return inst.Inputs, inst.Outputs, nil
	case v > len(ups) || v < 0:
		return nil, nil, fmt.Errorf("recorded with schema version %d of %s, but this driver knows versions up to %d: use a newer regionctl", v, inst.Type, len(ups))
	}
	in, out := inst.Inputs, inst.Outputs
	for i := v; i < len(ups); i++ {
		var err error
		if in, out, err = ups[i](cloneValues(in), cloneValues(out)); err != nil {
			return nil, nil, fmt.Errorf("upgrade %s values from schema version %d to %d: %w", inst.Type, i, i+1, err)
		}
	}
	return in, out, nil
}

func cloneValues(v providers.Values) providers.Values {
	if v == nil {
		return nil
	}
	out := make(providers.Values, len(v))
	for k, x := range v {
		out[k] = cloneAny(x)
	}
	return out
}

func cloneAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return map[string]any(cloneValues(t))
	case providers.Values:
		return cloneValues(t)
	case []any:
		return slices.Clone(t)
	}
	return v
}

// Create makes one resource through its type's handler, then reads it back
// for its outputs. A handler that fails after the object came to exist
// returns its ID with the error, and the outputs read then.
func (r *Router) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.CreateResponse{}, r.fail(err, "create %s", req.Address)
	}
	b, err := r.lookup(req.Type, req.Address)
	if err != nil {
		return providers.CreateResponse{}, err
	}
	id, out, err := b.create(ctx, Meta{Address: req.Address, Type: req.Type, Key: req.IdempotencyKey}, req.Inputs)
	return providers.CreateResponse{ID: id, Outputs: out}, r.fail(err, "create %s", req.Address)
}

// Read returns the live inputs (in the shape Expand produced, sets in the
// recorded order) and outputs. No ID, or a resource that is gone, is
// Exists false.
func (r *Router) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	inst := req.Instance
	if inst.ID == "" {
		return providers.ReadResponse{}, nil
	}
	b, err := r.lookup(inst.Type, inst.Address)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	in, out, err := r.current(b, inst)
	if err != nil {
		return providers.ReadResponse{}, r.fail(err, "read %s (%s)", inst.Address, inst.ID)
	}
	exists, live, outputs, err := b.read(ctx, Meta{Address: inst.Address, Type: inst.Type, ID: inst.ID}, in, out)
	if err != nil || !exists {
		return providers.ReadResponse{}, r.fail(err, "read %s (%s)", inst.Address, inst.ID)
	}
	return providers.ReadResponse{Exists: true, Inputs: live, Outputs: outputs}, nil
}

// Update changes one resource in place, then reads it back. A change of an
// input the schema marks "replace" is refused before any cloud call.
func (r *Router) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	inst := req.Instance
	if err := checkResolved(req.Inputs); err != nil {
		return providers.UpdateResponse{}, r.fail(err, "update %s", inst.Address)
	}
	b, err := r.lookup(inst.Type, inst.Address)
	if err != nil {
		return providers.UpdateResponse{}, err
	}
	prev, out, err := r.current(b, inst)
	if err != nil {
		return providers.UpdateResponse{}, r.fail(err, "update %s (%s)", inst.Address, inst.ID)
	}
	got, err := b.update(ctx, Meta{Address: inst.Address, Type: inst.Type, ID: inst.ID}, req.Inputs, prev, out, req.Changed)
	var rb *readBackError
	if errors.As(err, &rb) {
		return providers.UpdateResponse{}, r.fail(rb.err, "update %s: read back", inst.Address)
	}
	if err != nil {
		return providers.UpdateResponse{}, r.fail(err, "update %s (%s)", inst.Address, inst.ID)
	}
	return providers.UpdateResponse{Outputs: got}, nil
}

// Delete removes one resource and waits until it is gone. A resource
// without an ID, or already gone, is deleted.
func (r *Router) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	inst := req.Instance
	if inst.ID == "" {
		return providers.DeleteResponse{}, nil
	}
	b, err := r.lookup(inst.Type, inst.Address)
	if err != nil {
		return providers.DeleteResponse{}, err
	}
	in, out, err := r.current(b, inst)
	if err == nil {
		err = b.delete(ctx, Meta{Address: inst.Address, Type: inst.Type, ID: inst.ID}, in, out)
	}
	return providers.DeleteResponse{}, r.fail(err, "delete %s (%s)", inst.Address, inst.ID)
}

// Find looks for the object an interrupted create made (the handler's
// Finder), waits until it is usable (its Settler) and reads its outputs.
func (r *Router) Find(ctx context.Context, req providers.FindRequest) (providers.FindResponse, error) {
	b, err := r.lookup(req.Type, req.Address)
	if err != nil {
		return providers.FindResponse{}, err
	}
	id, out, err := b.find(ctx, Meta{Address: req.Address, Type: req.Type, Key: req.IdempotencyKey}, req.Inputs)
	if err != nil {
		return providers.FindResponse{}, r.fail(err, "find %s", req.Address)
	}
	if id == "" {
		return providers.FindResponse{}, nil
	}
	return providers.FindResponse{Found: true, ID: id, Outputs: out}, nil
}

// ImportID turns the identifier a user gave for an import into the ID the
// type records, through the handler's Importer; without one the ID is
// returned as given. Inputs must be resolved.
func (r *Router) ImportID(ctx context.Context, req providers.ImportIDRequest) (providers.ImportIDResponse, error) {
	if err := checkResolved(req.Inputs); err != nil {
		return providers.ImportIDResponse{}, r.fail(err, "import %s", req.Address)
	}
	b, err := r.lookup(req.Type, req.Address)
	if err != nil {
		return providers.ImportIDResponse{}, err
	}
	id, err := b.importID(ctx, Meta{Address: req.Address, Type: req.Type, ID: req.ID}, req.Inputs)
	if err != nil {
		return providers.ImportIDResponse{}, r.fail(err, "import %s (%s)", req.Address, req.ID)
	}
	if id == "" {
		return providers.ImportIDResponse{}, r.fail(errors.New("the handler returned no ID"), "import %s (%s)", req.Address, req.ID)
	}
	return providers.ImportIDResponse{ID: id}, nil
}

// UpgradeState rewrites a recorded resource's values to its type's current
// schema version with the type's Upgrades. It makes no cloud call.
func (r *Router) UpgradeState(_ context.Context, req providers.UpgradeStateRequest) (providers.UpgradeStateResponse, error) {
	inst := req.Instance
	b, err := r.lookup(inst.Type, inst.Address)
	if err != nil {
		return providers.UpgradeStateResponse{}, err
	}
	in, out, err := r.current(b, inst)
	if err != nil {
		return providers.UpgradeStateResponse{}, r.fail(err, "upgrade %s", inst.Address)
	}
	return providers.UpgradeStateResponse{Inputs: in, Outputs: out, SchemaVersion: len(b.upgrades())}, nil
}
