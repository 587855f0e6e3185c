package azure

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

func responseError(t *testing.T, code int, body string) *azcore.ResponseError {
	t.Helper()
	u, _ := url.Parse("https://management.azure.com/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c/agentPools/system?api-version=2024-09-01")
	resp := &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{},
		Body: io.NopCloser(bytes.NewBufferString(body)), Request: &http.Request{Method: http.MethodPut, URL: u}}
	re, ok := runtime.NewResponseError(resp).(*azcore.ResponseError)
	if !ok {
		t.Fatal("not a ResponseError")
	}
	return re
}

func TestARMErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		{"code, message, target, details, inner error", `{"error":{"code":"InvalidTemplateDeployment","message":"The template deployment failed.\nSee details.","target":"agentPools/system",
			"details":[{"code":"QuotaExceeded","message":"Operation could not be completed as it results in exceeding approved Total Regional Cores quota.","target":"vmSize"}],
			"innererror":{"code":"Inner","message":"deep"}}}`,
			`InvalidTemplateDeployment: The template deployment failed. See details. (target: agentPools/system) {details: QuotaExceeded: Operation could not be completed as it results in exceeding approved Total Regional Cores quota. (target: vmSize)} {inner error: {"code":"Inner","message":"deep"}} [HTTP 409, PUT https://management.azure.com/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c/agentPools/system]`},
		{"not JSON", "upstream\nconnect error", `error: upstream connect error [HTTP 409, PUT https://management.azure.com/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c/agentPools/system]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := responseError(t, http.StatusConflict, tc.body)
			if got := armError(re); got != tc.want {
				t.Errorf("armError =\n%s\nwant\n%s", got, tc.want)
			}
			wrapped := errorLine(&wrapErr{"update AKS agent pool system: ", re})
			if !strings.HasPrefix(wrapped, "update AKS agent pool system: ") || strings.Contains(wrapped, "\n") {
				t.Errorf("errorLine = %q", wrapped)
			}
		})
	}
}

type wrapErr struct {
	prefix string
	err    error
}

func (w *wrapErr) Error() string { return w.prefix + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }
