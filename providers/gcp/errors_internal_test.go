package gcp

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/api/googleapi"
)

// TestErrorLine: Google's errors with several reasons or details read on
// one line, with every reason kept.
func TestErrorLine(t *testing.T) {
	err := fmt.Errorf("insert subnetwork regionctl-eu1: %w", &googleapi.Error{Code: 400, Message: "Invalid value for field 'resource.ipCidrRange'",
		Errors: []googleapi.ErrorItem{{Reason: "invalid", Message: "Invalid value for field 'resource.ipCidrRange'"}, {Reason: "conflict", Message: "overlaps regionctl-eu2"}}})
	if !strings.Contains(err.Error(), "\n") {
		t.Fatal("the SDK no longer spreads this error over lines; the test needs another example")
	}
	got := errorLine(err)
	for _, want := range []string{"insert subnetwork regionctl-eu1: googleapi: Error 400: ", "Reason: invalid", "Reason: conflict, Message: overlaps regionctl-eu2"} {
		if !strings.Contains(got, want) {
			t.Errorf("errorLine = %q; lacks %q", got, want)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("errorLine = %q, not one line", got)
	}
	if errorLine(fmt.Errorf("one line")) != "" {
		t.Error("a one-line error is rewritten")
	}
}
