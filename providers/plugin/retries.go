package plugin

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
)

// A plugin's driver reports the attempts it retries (providers.ReportRetry)
// as a built-in driver does; the plugin collects them during the call and
// sends them in the call's trailing metadata (driver.proto: "Retries"), and
// the host reports each to the reporter of the call's context, so they show
// in regionctl's event stream like a built-in driver's — when the call
// returns rather than as they happen.

// retriesKey is the trailer key the retries of a call travel under; "-bin"
// makes gRPC carry the serialized RetryReports as binary.
const retriesKey = "regionctl-retries-bin"

// The bounds of one call's reports: a driver retries at most a few dozen
// times, and a trailer must stay small.
const (
	maxRetryReports = 100
	maxRetryMessage = 1 << 10
)

// collectRetries is the plugin's server interceptor: it gives the call a
// retry reporter and sends what it collected in the trailer.
func collectRetries(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	var (
		mu      sync.Mutex
		reports pb.RetryReports
	)
	resp, err := handler(providers.WithRetryReporter(ctx, func(r providers.RetryReport) {
		mu.Lock()
		defer mu.Unlock()
		if len(reports.Retries) < maxRetryReports {
			m := encodeError(r.Err)
			if m == nil {
				m = &pb.Error{Message: "retried"}
			}
			if len(m.Message) > maxRetryMessage {
				m.Message = m.Message[:maxRetryMessage] + "…"
			}
			reports.Retries = append(reports.Retries, m)
		}
	}), req)
	mu.Lock()
	defer mu.Unlock()
	if len(reports.Retries) > 0 {
		if b, merr := proto.Marshal(&reports); merr == nil {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(retriesKey, string(b)))
		}
	}
	return resp, err
}

// reportRetries is the host's client interceptor: it reports the retries a
// call's trailer carries to the call's context (providers.ReportRetry),
// each error with its class, as the plugin's driver reported them.
func reportRetries(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var trailer metadata.MD
	err := invoke(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&trailer))...)
	for _, v := range trailer.Get(retriesKey) {
		var m pb.RetryReports
		if proto.Unmarshal([]byte(v), &m) != nil {
			continue // not ours to fail the call over
		}
		for _, e := range m.Retries {
			providers.ReportRetry(ctx, providers.RetryReport{Err: decodeError(e)})
		}
	}
	return err
}
