package providers

import "context"

// RetryReport is one failed attempt of a cloud call that the driver (or its
// SDK's retryer) is about to retry.
type RetryReport struct {
	// Err is why the attempt failed (throttled, a server error, ...).
	Err error
}

type retryReporterKey struct{}

// WithRetryReporter returns a context whose cloud calls report their
// retries to fn. The engine sets one around every operation, so retries
// show in the event stream (regionctl --log-format json).
func WithRetryReporter(ctx context.Context, fn func(RetryReport)) context.Context {
	return context.WithValue(ctx, retryReporterKey{}, fn)
}

// ReportRetry tells ctx's reporter, if any, that a call is being retried.
// Drivers call it from their retry loop (or their SDK's retryer hook);
// without a reporter it does nothing.
func ReportRetry(ctx context.Context, r RetryReport) {
	if fn, ok := ctx.Value(retryReporterKey{}).(func(RetryReport)); ok && fn != nil {
		fn(r)
	}
}
