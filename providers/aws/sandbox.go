package aws

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// sandboxProfile is the profile of the credentials the sandbox issues, in
// the shared credentials file aws/credentials of its directory.
const sandboxProfile = "regionctl-sandbox"

// sandboxCredentials reads the sandbox's credentials from its shared
// credentials file, and nothing else: not the environment, not the user's
// profiles, so a sandbox run can never sign with real credentials.
func sandboxCredentials(dir string) aws.CredentialsProviderFunc {
	file := filepath.Join(dir, "aws", "credentials")
	return func(ctx context.Context) (aws.Credentials, error) {
		sc, err := config.LoadSharedConfigProfile(ctx, sandboxProfile, func(o *config.LoadSharedConfigOptions) {
			o.CredentialsFiles = []string{file}
			o.ConfigFiles = []string{}
		})
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("aws: read the sandbox's credentials (%s, profile %s; the sandbox writes them when it starts): %w", file, sandboxProfile, err)
		}
		if !sc.Credentials.HasKeys() {
			return aws.Credentials{}, fmt.Errorf("aws: %s has no access key under profile %s", file, sandboxProfile)
		}
		c := sc.Credentials
		c.Source = "regionctl sandbox"
		return c, nil
	}
}
