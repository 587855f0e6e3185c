package sandbox

import (
	"fmt"
	"os"
	"path/filepath"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/regionctl/regionctl/sandbox/aws"
)

// AWSProfile is the profile the sandbox's AWS config and credentials files
// define (see AWSConfigFile and AWSCredentialsFile).
const AWSProfile = "regionctl-sandbox"

// AWSConfigFile is the AWS shared config file a sandbox in dir writes at
// start: profile AWSProfile with the default region and endpoint_url, the
// sandbox's AWS endpoint. Point AWS_CONFIG_FILE at it.
func AWSConfigFile(dir string) string { return filepath.Join(dir, "aws", "config") }

// AWSCredentialsFile is the AWS shared credentials file a sandbox in dir
// writes at start: the access key it issued to its IAM user sandbox-admin,
// under profile AWSProfile. Point AWS_SHARED_CREDENTIALS_FILE at it.
func AWSCredentialsFile(dir string) string { return filepath.Join(dir, "aws", "credentials") }

// AWSCredentials are the credentials a sandbox issued for its emulated AWS
// account. They are random, kept with the emulated account in the sandbox
// directory (the same on every start), and the only ones it accepts besides
// access keys made through its IAM API: every AWS request must be SigV4
// signed with one of them.
type AWSCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// Account is the emulated account id; UserArn the IAM user the key
	// belongs to (arn:aws:iam::ACCOUNT:user/sandbox-admin).
	Account string
	UserArn string
}

// Provider is a static aws.CredentialsProvider of c, for aws.Config.
func (c AWSCredentials) Provider() awssdk.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")
}

// AWSCredentials returns the credentials the sandbox issued.
func (s *Sandbox) AWSCredentials() AWSCredentials { return s.awsCreds }

// AWSEnv is the environment that points the aws CLI (and any AWS SDK's
// default chain) at this sandbox: its config and credentials files and
// profile.
func (s *Sandbox) AWSEnv() []string { return AWSEnv(s.dir) }

// AWSEnv is the environment that points the aws CLI at the sandbox in dir:
// AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE (absolute paths) and
// AWS_PROFILE.
func AWSEnv(dir string) []string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return []string{
		"AWS_CONFIG_FILE=" + AWSConfigFile(dir),
		"AWS_SHARED_CREDENTIALS_FILE=" + AWSCredentialsFile(dir),
		"AWS_PROFILE=" + AWSProfile,
	}
}

// issueAWSCredentials makes the AWS emulator issue its credentials (once
// in the sandbox's life) and writes the shared config and credentials files
// for the endpoint the sandbox serves AWS on.
func (s *Sandbox) issueAWSCredentials() error {
	for _, e := range s.emus {
		a, ok := e.(*aws.Emulator)
		if !ok {
			continue
		}
		creds, changed := a.EnsureCredentials()
		if changed {
			if err := s.save(a); err != nil {
				return err
			}
		}
		s.awsCreds = AWSCredentials(creds)
		if err := os.MkdirAll(filepath.Dir(AWSConfigFile(s.dir)), 0o700); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		header := fmt.Sprintf("# Written by regionctl's sandbox at each start: the emulated AWS account %s on 127.0.0.1.\n", creds.Account)
		config := fmt.Sprintf("%s[profile %s]\nregion = %s\nendpoint_url = %s\noutput = json\n", header, AWSProfile, s.opts.Region, s.addrs[endpointKey(a)])
		credentials := fmt.Sprintf("%s[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_account_id = %s\n",
			header, AWSProfile, creds.AccessKeyID, creds.SecretAccessKey, creds.Account)
		if err := writeAtomic(AWSConfigFile(s.dir), []byte(config)); err != nil {
			return fmt.Errorf("sandbox: write %s: %w", AWSConfigFile(s.dir), err)
		}
		if err := writeAtomic(AWSCredentialsFile(s.dir), []byte(credentials)); err != nil {
			return fmt.Errorf("sandbox: write %s: %w", AWSCredentialsFile(s.dir), err)
		}
	}
	return nil
}
