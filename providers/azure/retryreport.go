package azure

import (
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/regionctl/regionctl/providers"
)

// retriedStatus are the replies the SDK's retry policy retries (its
// defaults, set explicitly so reportRetries reports exactly those).
var retriedStatus = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// reportRetries is a per-try policy that reports every attempt that failed
// the way the SDK's retry policy retries — a throttled or failed reply
// (retriedStatus), or a broken connection — through providers.ReportRetry,
// so retries show in regionctl's event stream as the other drivers' do. It
// changes no retry decision.
type reportRetries struct{}

func (reportRetries) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	ctx := req.Raw().Context()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			providers.ReportRetry(ctx, providers.RetryReport{Err: err})
		}
	case slices.Contains(retriedStatus, resp.StatusCode):
		providers.ReportRetry(ctx, providers.RetryReport{Err: retriedReply{runtime.NewResponseError(resp)}})
	}
	return resp, err
}

// retriedReply is a retried ARM error, shown on one line (armError).
type retriedReply struct{ err error }

func (e retriedReply) Error() string {
	if re := respErr(e.err); re != nil {
		return armError(re)
	}
	return e.err.Error()
}

func (e retriedReply) Unwrap() error { return e.err }
