package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
)

// TestErrorRoundTrip: every error class survives the trip through the wire
// format, with its message.
func TestErrorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error // the sentinel the decoded error must wrap; nil for none
	}{
		{name: "unknown", err: errors.New("boom")},
		{name: "not found", err: fmt.Errorf("vpc x: %w", providers.ErrNotFound), want: providers.ErrNotFound},
		{name: "throttled", err: fmt.Errorf("call: %w", providers.ErrThrottled), want: providers.ErrThrottled},
		{name: "busy", err: fmt.Errorf("pool: %w", providers.ErrBusy), want: providers.ErrBusy},
		{name: "permanent", err: fmt.Errorf("bad: %w", providers.ErrPermanent), want: providers.ErrPermanent},
		{name: "create failed", err: errors.Join(providers.ErrThrottled, providers.ErrCreateFailed), want: providers.ErrCreateFailed},
		{name: "canceled", err: fmt.Errorf("wait: %w", context.Canceled), want: context.Canceled},
		{name: "deadline", err: fmt.Errorf("wait: %w", context.DeadlineExceeded), want: context.DeadlineExceeded},
		{name: "wrong account", err: fmt.Errorf("region r must act in 1, not 2: %w", providers.ErrWrongAccount), want: providers.ErrWrongAccount},
		{name: "wrong account, permanent", err: errors.Join(providers.ErrPermanent, providers.ErrWrongAccount), want: providers.ErrWrongAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := proto.Marshal(encodeError(tt.err))
			if err != nil {
				t.Fatal(err)
			}
			var m pb.Error
			if err := proto.Unmarshal(wire, &m); err != nil {
				t.Fatal(err)
			}
			got := decodeError(&m)
			if got.Error() != tt.err.Error() {
				t.Errorf("message %q, want %q", got, tt.err)
			}
			if providers.Classify(got) != providers.Classify(tt.err) {
				t.Errorf("class %v, want %v", providers.Classify(got), providers.Classify(tt.err))
			}
			if tt.want != nil && !errors.Is(got, tt.want) {
				t.Errorf("%v does not wrap %v", got, tt.want)
			}
			if errors.Is(got, providers.ErrWrongAccount) != errors.Is(tt.err, providers.ErrWrongAccount) {
				t.Errorf("%v: wraps ErrWrongAccount %v, want %v", got, errors.Is(got, providers.ErrWrongAccount), errors.Is(tt.err, providers.ErrWrongAccount))
			}
		})
	}
	if encodeError(nil) != nil || decodeError(nil) != nil {
		t.Error("nil must stay nil")
	}
}

// TestPluginRefusesSandboxWithoutEmulator: the plugin side refuses too, for
// a host that did not check the handshake.
func TestPluginRefusesSandboxWithoutEmulator(t *testing.T) {
	s := newServer(Config{Name: "acme", Version: "1.0.0", New: func(context.Context, providers.Options) (providers.Driver, error) {
		t.Fatal("the driver must not be built for a sandbox it cannot serve")
		return nil, nil
	}})
	resp, err := s.Configure(context.Background(), &pb.ConfigureRequest{Options: &pb.Options{Sandbox: true}})
	if err != nil || resp.Error == nil || resp.Error.Class != pb.Error_PERMANENT {
		t.Fatalf("configure with sandbox: %+v, %v", resp, err)
	}
}

// TestValuesRoundTrip: the reflection-free encoder gives what encoding/json
// decodes back to the same values, for every type values are made of,
// strings that need escaping, and types it leaves to encoding/json.
func TestValuesRoundTrip(t *testing.T) {
	in := providers.Values{
		"s": "plain", "esc": "q\" b\\ nl\n tab\t ctl\x01 é ☃ bad\xff end", "empty": "",
		"t": true, "f": false, "null": nil, "n": 3.25, "big": 1e21, "small": 1e-7, "int": 42, "int64": int64(-7),
		"list": []any{"a", 1.0, []any{}, map[string]any{"k": "v"}},
		"map":  map[string]any{"x": map[string]any{"y": []any{nil}}},
		"vals": providers.Values{"z": "w"},
	}
	if _, ok := appendJSON(nil, map[string]any(in)); !ok {
		t.Fatal("the reflection-free encoder refused values of JSON's own types")
	}
	roundTrip := func(in providers.Values) {
		t.Helper()
		b, err := encodeValues(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeValues(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		want, _ := json.Marshal(in)
		var w any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(map[string]any(got), w) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, w)
		}
	}
	roundTrip(in)
	in["strs"] = []string{"fallback", "to", "encoding/json"}
	in["strmap"] = map[string]string{"a": "b"}
	roundTrip(in)
	if _, err := encodeValues(providers.Values{"nan": math.NaN()}); err == nil {
		t.Error("NaN encoded without error")
	}
	if v, err := decodeValues(nil); v != nil || err != nil {
		t.Errorf("no bytes: %v %v, want nil (not known)", v, err)
	}
	if v, err := decodeValues([]byte("[1]")); err == nil {
		t.Errorf("a list decoded as values: %v", v)
	}
}

// TestOptionsRoundTrip: every field of providers.Options reaches the
// plugin's factory as the host gave it.
func TestOptionsRoundTrip(t *testing.T) {
	want := providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"acme": "http://127.0.0.1:1"}, SandboxDir: "/sb",
		ForceConflicts: true, Offline: true, RateBudgets: budget.Overrides{"acme:api": {Burst: 5, Rate: 2.5}}, DrainTimeout: 7 * time.Minute}
	wire, err := proto.Marshal(encodeOptions(want))
	if err != nil {
		t.Fatal(err)
	}
	var m pb.Options
	if err := proto.Unmarshal(wire, &m); err != nil {
		t.Fatal(err)
	}
	got, err := decodeOptions(&m)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("options after the trip: %+v, %v; want %+v", got, err, want)
	}
	// A field added to Options and not to the protocol fails here.
	if n := reflect.TypeOf(want).NumField(); n != 7 {
		t.Errorf("providers.Options has %d fields; this test and encodeOptions know 7: carry the new one across the boundary", n)
	}
}

// TestCapabilitiesRoundTrip: every field of providers.Capabilities but
// Version (which the handshake carries) reaches the host as the plugin's
// driver declared it.
func TestCapabilitiesRoundTrip(t *testing.T) {
	want := providers.Capabilities{Name: "acme", Description: "d", KubernetesVersions: []string{"1.33"},
		Machines:     []providers.MachineType{{Name: "m", CPU: 2, MemoryGiB: 4, Arch: "amd64", GPU: 1, Family: "gpu"}},
		StorageTiers: []string{"ssd"}, LoadBalancerSchemes: []string{"external"}, Locations: map[string]int{"east": 3},
		MaxParallel: 4, RateBudgeted: true, RateBudgets: budget.Table{"api/read": {Burst: 100, Rate: 20}},
		Resources: []providers.ResourceSchema{{Type: "acme_disk", Version: 2, Description: "a disk",
			Inputs:  []providers.Attribute{{Name: "zone", Type: "string", RequiresReplace: true, ReplaceReason: "r", Description: "z"}},
			Outputs: []providers.Attribute{{Name: "tags", Type: "map", Optional: true, Sensitive: true, Attributes: []providers.Attribute{{Name: "k", Type: "string"}}}}}}}
	wire, err := proto.Marshal(encodeCapabilities(want))
	if err != nil {
		t.Fatal(err)
	}
	var m pb.Capabilities
	if err := proto.Unmarshal(wire, &m); err != nil {
		t.Fatal(err)
	}
	got, err := decodeCapabilities(&m)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("capabilities after the trip:\n%+v, %v\nwant\n%+v", got, err, want)
	}
	if n := reflect.TypeOf(want).NumField(); n != 12 {
		t.Errorf("providers.Capabilities has %d fields; this test and encodeCapabilities know 12: carry the new one across the boundary", n)
	}
}
