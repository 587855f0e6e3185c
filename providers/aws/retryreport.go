package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/regionctl/regionctl/providers"
)

// reportingRetryer wraps the SDK's retryer to report every attempt that
// failed with a retryable error (providers.ReportRetry), so retries show
// in regionctl's event stream. It changes no retry decision.
type reportingRetryer struct {
	aws.RetryerV2
}

var _ aws.RetryerV2 = reportingRetryer{}

// GetAttemptToken is called by the SDK's retry middleware before each
// attempt, with the call's context; the token's release gets the
// attempt's error.
func (r reportingRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	release, err := r.RetryerV2.GetAttemptToken(ctx)
	if err != nil {
		return release, err
	}
	return func(attemptErr error) error {
		if attemptErr != nil && r.IsErrorRetryable(attemptErr) {
			providers.ReportRetry(ctx, providers.RetryReport{Err: attemptErr})
		}
		return release(attemptErr)
	}, nil
}
