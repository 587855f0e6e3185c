package plugin

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
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
