// Package memcloud is a fake cloud for tests and benchmarks of the engine: a
// store of objects by ID (in memory, or in a file several processes can
// share), with knobs for latency, injected failures, "created but the call
// failed", and blocking an operation until the test releases it; plus Driver,
// a providers.Driver for it. It is test support, not a user-facing provider.
package memcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Operations the cloud counts, delays, fails and blocks.
const (
	OpCreate = "create"
	OpRead   = "read"
	OpUpdate = "update"
	OpDelete = "delete"
	OpFind   = "find"
	OpList   = "list"
)

// Tag keys every object carries.
const (
	TagAddress        = "regionctl/address"
	TagIdempotencyKey = "regionctl/idempotency-key"
)

// Object is one resource in the fake cloud.
type Object struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Inputs  map[string]any    `json:"inputs"`
	Outputs map[string]any    `json:"outputs"`
	Tags    map[string]string `json:"tags"`
	// Failed: the cloud reports that the object's creation failed (Read
	// says so with CreateFailed).
	Failed bool `json:"failed,omitempty"`
	// Making: the object exists but is still being made (a cluster still
	// CREATING): reads report its outputs other than "id" empty, until a
	// read or find with Settle waits for it to finish.
	Making bool `json:"making,omitempty"`
}

// Address returns the regionctl address the object was tagged with.
func (o Object) Address() string { return o.Tags[TagAddress] }

// ErrInjected is the error injected failures return when none is given.
var ErrInjected = errors.New("memcloud: injected failure")

// ErrNotFound is returned for operations on an ID the cloud does not hold.
var ErrNotFound = errors.New("memcloud: no such object")

type failRule struct {
	op, address string
	nth         int // 1-based call number to fail; 0 fails every call
	err         error
	seen        int
}

type blockRule struct {
	op, address string
	started     chan struct{}
	release     chan struct{}
	once        sync.Once
}

// doc is the persisted content of a cloud.
type doc struct {
	NextID  int                `json:"nextID"`
	Objects map[string]*Object `json:"objects"`
}

// Cloud is a fake cloud. It is safe for concurrent use. Configure the
// exported fields before use.
type Cloud struct {
	// Latency, when set, is slept (honouring ctx) before each operation
	// takes effect, simulating the cloud's own time.
	Latency func(op, typ, address string) time.Duration

	mu        sync.Mutex
	path      string // "" for in-memory
	d         doc
	calls     map[string]int
	fails     []*failRule
	failRate  float64
	rng       *rand.Rand
	afterFail map[string]error // address → error returned after a create took effect
	// address → error returned with the ID after a create took effect
	afterFailWithID map[string]error
	blocks          []*blockRule
	byKey           map[string]string // idempotency key → ID (in-memory clouds)
}

// New returns an empty in-memory cloud.
func New() *Cloud {
	return &Cloud{d: doc{Objects: map[string]*Object{}}, calls: map[string]int{}, afterFail: map[string]error{},
		afterFailWithID: map[string]error{}, byKey: map[string]string{}}
}

// Open returns a cloud stored in the file at path (created when missing).
// Every mutation is a read-modify-write under an exclusive flock on
// path+".lock", written to a temporary file and renamed, so a killed
// process's cloud survives intact and several processes can share it.
func Open(path string) (*Cloud, error) {
	c := New()
	c.path = path
	if err := c.withFile(false, func() error { return nil }); err != nil {
		return nil, err
	}
	return c, nil
}

// withFile runs fn with c.d loaded from the file (under flock), and writes
// it back when write is true. Callers hold c.mu. In memory it just runs fn.
func (c *Cloud) withFile(write bool, fn func() error) error {
	if c.path == "" {
		return fn()
	}
	lock, err := os.OpenFile(c.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("memcloud: open lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("memcloud: lock %s: %w", c.path, err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN) //nolint:errcheck // closing releases it too
	data, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		c.d = doc{Objects: map[string]*Object{}}
	case err != nil:
		return fmt.Errorf("memcloud: read %s: %w", c.path, err)
	default:
		var d doc
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("memcloud: decode %s: %w", c.path, err)
		}
		if d.Objects == nil {
			d.Objects = map[string]*Object{}
		}
		c.d = d
	}
	if err := fn(); err != nil {
		return err
	}
	if !write {
		return nil
	}
	data, err = json.Marshal(c.d)
	if err != nil {
		return fmt.Errorf("memcloud: encode: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), "."+filepath.Base(c.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("memcloud: write: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("memcloud: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("memcloud: write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("memcloud: write: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("memcloud: write: %w", err)
	}
	return nil
}

// FailOn makes the nth call (1-based; 0 means every call) of op on the
// resource at address fail with err (ErrInjected when nil) before it takes
// effect. An empty address matches every resource.
func (c *Cloud) FailOn(op, address string, nth int, err error) {
	if err == nil {
		err = ErrInjected
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fails = append(c.fails, &failRule{op: op, address: address, nth: nth, err: err})
}

// SetFailureRate makes every create, update and delete fail with
// probability rate, drawn from an RNG seeded with seed. Updates and deletes
// fail before taking effect; half the failed creates fail after the object
// was made (a lost response), the other half before.
func (c *Cloud) SetFailureRate(rate float64, seed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failRate = rate
	c.rng = rand.New(rand.NewSource(seed))
}

// FailAfterCreate makes the next create of address take effect in the cloud
// and then return err (ErrInjected when nil), as when a response is lost to
// a timeout. The caller does not learn the ID.
func (c *Cloud) FailAfterCreate(address string, err error) {
	c.failAfterCreate(c.afterFail, address, err)
}

// FailAfterCreateWithID makes the next create of address take effect in
// the cloud and then return the object's ID together with err, as a driver
// does when the create was accepted but waiting for the object failed (a
// burst of API errors, a lost connection) — or, with an err wrapping
// providers.ErrCreateFailed, when the cloud reports the creation failed.
func (c *Cloud) FailAfterCreateWithID(address string, err error) {
	c.failAfterCreate(c.afterFailWithID, address, err)
}

func (c *Cloud) failAfterCreate(m map[string]error, address string, err error) {
	if err == nil {
		err = ErrInjected
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m[address] = err
}

// SetFailed marks an object as one whose creation failed in the cloud
// (failed true) or clears the mark; Read then reports CreateFailed.
func (c *Cloud) SetFailed(id string, failed bool) error {
	return c.edit("set failed", id, func(o *Object) { o.Failed = failed })
}

// SetMaking marks an object as still being made (making true) or
// finished; see Object.Making.
func (c *Cloud) SetMaking(id string, making bool) error {
	return c.edit("set making", id, func(o *Object) { o.Making = making })
}

// Block makes the next op on address (empty: any address) wait before
// taking effect until release is called. started is closed when the
// operation reaches the block. A blocked call ignores its context's
// cancellation, like a cloud call already on the wire.
func (c *Cloud) Block(op, address string) (started <-chan struct{}, release func()) {
	b := &blockRule{op: op, address: address, started: make(chan struct{}), release: make(chan struct{})}
	c.mu.Lock()
	c.blocks = append(c.blocks, b)
	c.mu.Unlock()
	return b.started, func() { b.once.Do(func() { close(b.release) }) }
}

// Calls returns how many times op was called (failed calls included).
func (c *Cloud) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// Objects returns a copy of every object, sorted by ID.
func (c *Cloud) Objects() []Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Object
	_ = c.withFile(false, func() error {
		for _, o := range c.d.Objects {
			out = append(out, cloneObject(o))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Mutate edits an object's inputs in place, as a person clicking in the
// cloud console would; the next Read shows the change as drift.
func (c *Cloud) Mutate(id string, fn func(inputs map[string]any)) error {
	return c.edit("mutate", id, func(o *Object) {
		fn(o.Inputs)
		o.Inputs = normalize(o.Inputs)
	})
}

// SetAddressTag sets the address an object's ownership tag names, or
// removes the tag when address is "": an object regionctl did not make
// (then imported), or one whose address changed with `state mv`.
func (c *Cloud) SetAddressTag(id, address string) error {
	return c.edit("tag", id, func(o *Object) {
		if address == "" {
			delete(o.Tags, TagAddress)
			return
		}
		o.Tags[TagAddress] = address
	})
}

// edit changes a stored object behind regionctl's back.
func (c *Cloud) edit(what, id string, fn func(o *Object)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.withFile(true, func() error {
		o, ok := c.d.Objects[id]
		if !ok {
			return fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
		}
		fn(o)
		return nil
	})
}

// Remove deletes an object behind regionctl's back.
func (c *Cloud) Remove(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.withFile(true, func() error {
		delete(c.d.Objects, id)
		return nil
	})
}

// enter counts the call, waits out latency and blocks, and returns an
// injected failure if one applies. A call whose context is already done
// fails at once, as a real cloud client's would, without being counted or
// consuming a block or injected failure. It must be called without c.mu
// held.
func (c *Cloud) enter(ctx context.Context, op, typ, address string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcloud %s %s: %w", op, address, err)
	}
	c.mu.Lock()
	c.calls[op]++
	var block *blockRule
	for i, b := range c.blocks {
		if b.op == op && (b.address == "" || b.address == address) {
			block = b
			c.blocks = slices.Delete(c.blocks, i, i+1)
			break
		}
	}
	var injected error
	for _, f := range c.fails {
		if f.op == op && (f.address == "" || f.address == address) {
			f.seen++
			if f.nth == 0 || f.seen == f.nth {
				injected = f.err
			}
		}
	}
	if injected == nil && c.rng != nil && (op == OpCreate || op == OpUpdate || op == OpDelete) && c.rng.Float64() < c.failRate {
		injected = fmt.Errorf("%w (random)", ErrInjected)
		if op == OpCreate && c.rng.Intn(2) == 0 {
			// Half the failed creates lose the response instead: the
			// object is made, the caller gets an error.
			c.afterFail[address] = fmt.Errorf("%w (random, after the object was created)", ErrInjected)
			injected = nil
		}
	}
	lat := c.Latency
	c.mu.Unlock()

	if block != nil {
		close(block.started)
		<-block.release
	}
	if lat != nil {
		if d := lat(op, typ, address); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("memcloud %s %s: %w", op, address, ctx.Err())
			}
		}
	}
	if injected != nil {
		return fmt.Errorf("memcloud %s %s: %w", op, address, injected)
	}
	return nil
}

// create makes an object, or returns the one already made with the same
// idempotency key.
func (c *Cloud) create(ctx context.Context, typ, address, key string, inputs map[string]any, outputs func(id string) map[string]any) (Object, error) {
	if err := c.enter(ctx, OpCreate, typ, address); err != nil {
		return Object{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var obj Object
	err := c.withFile(true, func() error {
		if key != "" {
			if o := c.objectByKey(key); o != nil {
				obj = cloneObject(o)
				return nil
			}
		}
		c.d.NextID++
		id := fmt.Sprintf("%s-%06d", strings.TrimPrefix(typ, "mem_"), c.d.NextID)
		o := &Object{ID: id, Type: typ, Inputs: normalize(inputs), Tags: map[string]string{TagAddress: address}}
		if key != "" {
			o.Tags[TagIdempotencyKey] = key
		}
		o.Outputs = normalize(outputs(id))
		c.d.Objects[id] = o
		if key != "" && c.path == "" {
			c.byKey[key] = id
		}
		obj = cloneObject(o)
		return nil
	})
	if err != nil {
		return Object{}, err
	}
	if e, ok := c.afterFail[address]; ok {
		delete(c.afterFail, address)
		return Object{}, fmt.Errorf("memcloud create %s: %w", address, e)
	}
	if e, ok := c.afterFailWithID[address]; ok {
		delete(c.afterFailWithID, address)
		return obj, fmt.Errorf("memcloud create %s (made %s): %w", address, obj.ID, e)
	}
	return obj, nil
}

func (c *Cloud) get(ctx context.Context, op, typ, address, id string) (Object, bool, error) {
	if err := c.enter(ctx, op, typ, address); err != nil {
		return Object{}, false, err
	}
	return c.lookup(id)
}

func (c *Cloud) lookup(id string) (Object, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var obj Object
	var ok bool
	err := c.withFile(false, func() error {
		o, found := c.d.Objects[id]
		if found {
			obj, ok = cloneObject(o), true
		}
		return nil
	})
	return obj, ok, err
}

func (c *Cloud) update(ctx context.Context, typ, address, id string, fn func(o *Object) error) (Object, error) {
	if err := c.enter(ctx, OpUpdate, typ, address); err != nil {
		return Object{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var obj Object
	err := c.withFile(true, func() error {
		o, ok := c.d.Objects[id]
		if !ok {
			return fmt.Errorf("update %s (%s): %w", address, id, ErrNotFound)
		}
		if err := fn(o); err != nil {
			return err
		}
		o.Inputs = normalize(o.Inputs)
		obj = cloneObject(o)
		return nil
	})
	return obj, err
}

func (c *Cloud) delete(ctx context.Context, typ, address, id string) error {
	if err := c.enter(ctx, OpDelete, typ, address); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.withFile(true, func() error {
		delete(c.d.Objects, id)
		return nil
	})
}

func (c *Cloud) find(ctx context.Context, typ, address, key string) (Object, bool, error) {
	if err := c.enter(ctx, OpFind, typ, address); err != nil {
		return Object{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var obj Object
	var ok bool
	err := c.withFile(false, func() error {
		if key != "" {
			if o := c.objectByKey(key); o != nil && o.Type == typ {
				obj, ok = cloneObject(o), true
			}
			return nil
		}
		ids := make([]string, 0, len(c.d.Objects))
		for id := range c.d.Objects {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			o := c.d.Objects[id]
			if o.Type != typ {
				continue
			}
			if o.Tags[TagAddress] == address {
				obj, ok = cloneObject(o), true
				return nil
			}
		}
		return nil
	})
	return obj, ok, err
}

// objectByKey finds the object made under an idempotency key. Callers hold
// c.mu with the document loaded.
func (c *Cloud) objectByKey(key string) *Object {
	if c.path == "" {
		if o := c.d.Objects[c.byKey[key]]; o != nil && o.Tags[TagIdempotencyKey] == key {
			return o
		}
		return nil
	}
	for _, o := range c.d.Objects {
		if o.Tags[TagIdempotencyKey] == key {
			return o
		}
	}
	return nil
}

// cloneObject deep-copies a stored object (whose values are normalized).
func cloneObject(o *Object) Object {
	c := *o
	c.Inputs, _ = copyValue(o.Inputs).(map[string]any)
	c.Outputs, _ = copyValue(o.Outputs).(map[string]any)
	c.Tags = make(map[string]string, len(o.Tags))
	for k, v := range o.Tags {
		c.Tags[k] = v
	}
	return c
}

// normalize deep-copies m into JSON's own types (float64, []any,
// map[string]any), as a trip through the cloud's API would.
func normalize(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("memcloud: value is not JSON-compatible: %v", err)) // programmer error in a test
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("memcloud: %v", err))
	}
	return out
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return t
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		if t == nil {
			return t
		}
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = copyValue(e)
		}
		return s
	}
	return v
}
