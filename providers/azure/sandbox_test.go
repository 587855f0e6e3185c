package azure_test

import (
	"context"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	azdriver "github.com/regionctl/regionctl/providers/azure"
)

// In sandbox mode the driver reaches nothing but the sandbox's loopback
// endpoint: it refuses any other before making a call, so the sandbox's
// credentials flow can never be pointed at a real host.
func TestSandboxEndpointMustBeLoopback(t *testing.T) {
	tests := []struct {
		endpoint string
		wantErr  string
	}{
		{"http://127.0.0.1:4566", ""},
		{"http://localhost:4566", ""},
		{"http://[::1]:4566", ""},
		{"http://10.0.0.4:443", "not a loopback address"},
		{"http://management.azure.com", "not a loopback address"},
		{"https://127.0.0.1:4566", "not an http://127.0.0.1:PORT URL"},
		{"127.0.0.1:4566", "not an http://127.0.0.1:PORT URL"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			_, err := azdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"azure": tt.endpoint}})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("New(%q) = %v, want %q", tt.endpoint, err, tt.wantErr)
			}
		})
	}
}
