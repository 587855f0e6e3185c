package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/regionctl/regionctl/providers/kit"
)

// isRetryable reports whether a failed attempt may be tried again: the
// SDK's own rules (throttling, 5xx, connection errors, lost replies).
func isRetryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// retryHint is the wait an AWS reply asked for in a Retry-After header, or 0.
func retryHint(err error) time.Duration {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return kit.RetryAfter(re.Response.Header)
	}
	return 0
}

// noSDKRetry makes one EC2 call a single attempt: the SDK's retryer stays in
// place for its client-side rate limiting (adaptive mode) but retries
// nothing.
func noSDKRetry(o *ec2.Options) { o.RetryMaxAttempts = 1 }

// createUntokened makes an EC2 object whose create API takes no client
// token (CreateVpc, CreateSubnet, CreateInternetGateway, AllocateAddress,
// CreateSecurityGroup). The SDK must not retry such a create on its own: when
// a reply is lost after EC2 made the object, its retry makes a second one and
// the first leaks. So create runs without SDK retries, and this loop retries
// instead: before every attempt it looks the object up by its
// regionctl/idempotency-key tag (find, which create sets through
// TagSpecifications) and adopts it when it is there. Throttling, server and
// connection errors are retried up to MaxAttempts times with exponential
// backoff; other errors and the end of ctx stop it.
func (e *env) createUntokened(ctx context.Context, what string, find func() (string, error),
	create func(opt func(*ec2.Options)) (string, error)) (string, error) {
	b := kit.Backoff{Initial: time.Second, Max: 20 * time.Second, Jitter: jitter}
	if e.d.sandbox {
		b.Initial, b.Max = 20*time.Millisecond, 200*time.Millisecond
	}
	var id string
	err := kit.Retry{Backoff: b, Attempts: MaxAttempts, Retryable: isRetryable, Hint: retryHint}.Do(ctx, func() error {
		var err error
		if id, err = find(); err != nil {
			return fmt.Errorf("look for the %s an earlier attempt made: %w", what, err)
		}
		if id != "" {
			return nil
		}
		id, err = create(noSDKRetry)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}
