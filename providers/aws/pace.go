package aws

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/regionctl/regionctl/providers/budget"
)

// How long a ReadMany's describe call waits for the ReadMany calls of other
// regions to join it (kit.Batcher): the engine refreshes every region at
// once, so they arrive within moments of each other.
const (
	listLinger        = 50 * time.Millisecond
	sandboxListLinger = 10 * time.Millisecond
)

// paceRequests adds the rate budget to a client's stack: every attempt
// (after the SDK's retry middleware, so retries are paced too) waits for a
// token of its bucket, and a throttling reply slows the bucket down.
func (d *Driver) paceRequests(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("regionctl/RateBudget", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		key := budget.AWSKey(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), awsmiddleware.GetRegion(ctx))
		if err := d.budgets.Wait(ctx, key); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		out, md, err := next.HandleFinalize(ctx, in)
		if err != nil && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
			d.budgets.Throttled(key, 0)
		}
		return out, md, err
	})
	if err := stack.Finalize.Insert(mw, "Retry", middleware.After); err != nil {
		return stack.Finalize.Add(mw, middleware.Before)
	}
	return nil
}
