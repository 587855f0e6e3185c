package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// TestTokenRetryable: a throttled or failing token endpoint, or a broken
// connection, is retried; a refused grant or a cancelled call is not.
func TestTokenRetryable(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("oauth2: cannot fetch token: %w", &oauth2.RetrieveError{Response: &http.Response{StatusCode: code}})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"429", status(http.StatusTooManyRequests), true},
		{"503", status(http.StatusServiceUnavailable), true},
		{"400 invalid_grant", status(http.StatusBadRequest), false},
		{"401", status(http.StatusUnauthorized), false},
		{"connection reset", &url.Error{Op: "Post", URL: "http://127.0.0.1/token", Err: errors.New("connection reset by peer")}, true},
		{"cancelled", &url.Error{Op: "Post", URL: "http://127.0.0.1/token", Err: context.Canceled}, false},
		{"bad key", errors.New("private key should be a PEM"), false},
	} {
		if got := tokenRetryable(tc.err); got != tc.want {
			t.Errorf("%s: tokenRetryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
