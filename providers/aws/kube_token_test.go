package aws

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	sandboxaws "github.com/regionctl/regionctl/sandbox/aws"

	"github.com/regionctl/regionctl/providers"
)

// TestEKSTokenVerifiesInTheSandbox: the token the driver presigns is what
// the sandbox's EKS webhook accepts (aws-iam-authenticator format), signed
// with the key the sandbox issued (read from its credentials file), and only
// for its cluster, only with that key, only while fresh.
func TestEKSTokenVerifiesInTheSandbox(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	const keyID, secret = "AKIASANDBOXTESTKEY01", "sandbox-test-secret"
	creds := "[regionctl-sandbox]\naws_access_key_id = " + keyID + "\naws_secret_access_key = " + secret + "\n"
	if err := os.WriteFile(filepath.Join(dir, "aws", "credentials"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	secretOf := func(id string) (string, bool) { return secret, id == keyID }
	d, err := New(ctx, providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"aws": "http://127.0.0.1:4566"}, SandboxDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tok, expiry, err := d.(*Driver).eksToken(ctx, "eu-west-1", "demo", connection{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "k8s-aws-v1.") || time.Until(expiry) < 10*time.Minute {
		t.Fatalf("token %.20s… expiring %s", tok, expiry)
	}
	now := time.Now()
	tests := []struct {
		name    string
		token   string
		cluster string
		at      time.Time
		wantErr string
	}{
		{name: "valid", token: tok, cluster: "demo", at: now},
		{name: "other cluster", token: tok, cluster: "other", at: now, wantErr: "SignatureDoesNotMatch"},
		{name: "expired", token: tok, cluster: "demo", at: now.Add(16 * time.Minute), wantErr: "expired"},
		{name: "tampered", token: tok[:len(tok)-4] + "AAAA", cluster: "demo", at: now, wantErr: "EKS token"},
		{name: "not a token", token: "Bearer abc", cluster: "demo", at: now, wantErr: "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sandboxaws.VerifyEKSToken(tt.token, tt.cluster, tt.at, secretOf)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("VerifyEKSToken = %v, want %q", err, tt.wantErr)
			}
		})
	}

	// A token signed with another key is refused.
	other := d.(*Driver)
	other.base.Credentials = credentials.NewStaticCredentialsProvider("AKIDOTHER", "secret", "")
	tok2, _, err := other.eksToken(ctx, "eu-west-1", "demo", connection{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sandboxaws.VerifyEKSToken(tok2, "demo", now, secretOf); err == nil {
		t.Errorf("a token signed with another access key was accepted")
	}
}
