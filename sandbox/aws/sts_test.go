package aws_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/regionctl/regionctl/sandbox"
	sandboxaws "github.com/regionctl/regionctl/sandbox/aws"
)

const memberAccount = "210987654321"

// orgSandbox starts a sandbox with one member account and returns it and
// a configuration signed as the sandbox's own user.
func orgSandbox(t *testing.T, clock func() time.Time) (*sandbox.Sandbox, aws.Config) {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir(), Latency: map[string]time.Duration{"*": 0},
		NoKubernetes: true, AWSAccounts: []string{memberAccount}, Clock: clock})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb, aws.Config{
		Region: "eu-west-1", BaseEndpoint: aws.String(sb.Endpoints()["aws"]),
		Credentials: sb.AWSCredentials().Provider(), Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// assumed is cfg signing with a session of roleArn, through the SDK's own
// AssumeRole credentials provider.
func assumed(cfg aws.Config, roleArn, externalID string) aws.Config {
	out := cfg.Copy()
	out.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleArn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "regionctl"
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	}))
	return out
}

// TestAssumeRoleIntoMemberAccount: the SDK's AssumeRole provider gets a
// session of the member account's OrganizationAccountAccessRole; calls
// signed with it act in that account (GetCallerIdentity names the
// assumed role, a VPC made there is invisible to the sandbox's account and
// listed with its account), and the session's key is refused without its
// token or with another's.
func TestAssumeRoleIntoMemberAccount(t *testing.T) {
	ctx := context.Background()
	sb, cfg := orgSandbox(t, nil)
	roleArn := "arn:aws:iam::" + memberAccount + ":role/" + sandboxaws.OrgAccessRole
	member := assumed(cfg, roleArn, "")

	id, err := sts.NewFromConfig(member).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity as the assumed role: %v", err)
	}
	if *id.Account != memberAccount || *id.Arn != "arn:aws:sts::"+memberAccount+":assumed-role/"+sandboxaws.OrgAccessRole+"/regionctl" {
		t.Errorf("GetCallerIdentity = %s %s", *id.Account, *id.Arn)
	}
	vpc, err := ec2.NewFromConfig(member).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc in the member account: %v", err)
	}
	if *vpc.Vpc.OwnerId != memberAccount {
		t.Errorf("the member account's VPC is owned by %s", *vpc.Vpc.OwnerId)
	}
	mine, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(mine.Vpcs) != 0 {
		t.Errorf("the sandbox's own account sees %d VPCs (err %v), want none", len(mine.Vpcs), err)
	}
	var listed bool
	for _, o := range sb.List() {
		if o.ID == *vpc.Vpc.VpcId {
			listed = o.Account == memberAccount
		}
	}
	if !listed {
		t.Errorf("sandbox.List does not list the VPC with its account %s: %+v", memberAccount, sb.List())
	}
	if _, err := iam.NewFromConfig(member).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(sandboxaws.OrgAccessRole)}); err != nil {
		t.Errorf("the member account's own role: %v", err)
	}

	// The session's key without its token, or with another token, is refused.
	creds, err := member.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"no token": "", "wrong token": "FwoGZXIvYXdzEforged"} {
		bad := cfg.Copy()
		bad.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, token)
		_, err := sts.NewFromConfig(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if errCode(err) != "InvalidClientTokenId" {
			t.Errorf("%s: GetCallerIdentity = %v, want InvalidClientTokenId", name, err)
		}
	}
}

// TestAssumeRoleIsRefused: roles that do not exist, that do not trust the
// caller, or that ask for an external id the call does not give are
// AccessDenied, as STS answers; a session name STS would refuse is a
// ValidationError.
func TestAssumeRoleIsRefused(t *testing.T) {
	ctx := context.Background()
	_, cfg := orgSandbox(t, nil)
	c := iam.NewFromConfig(cfg)
	trust := func(principal string, cond map[string]any) string {
		st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:AssumeRole"}
		if cond != nil {
			st["Condition"] = cond
		}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
		return string(b)
	}
	mk := func(name, doc string) string {
		out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc)})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Role.Arn
	}
	service := mk("for-eks", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	other := mk("other-account", trust("arn:aws:iam::999999999999:root", nil))
	withExt := mk("with-external-id", trust("123456789012", map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "fleet-7"}}))
	tests := []struct {
		name, role, ext, session, want string
	}{
		{"unknown account", "arn:aws:iam::999999999999:role/x", "", "s1", "AccessDenied"},
		{"unknown role", "arn:aws:iam::" + memberAccount + ":role/nope", "", "s1", "AccessDenied"},
		{"service trust", service, "", "s1", "AccessDenied"},
		{"other account's trust", other, "", "s1", "AccessDenied"},
		{"missing external id", withExt, "", "s1", "AccessDenied"},
		{"wrong external id", withExt, "fleet-8", "s1", "AccessDenied"},
		{"external id", withExt, "fleet-7", "s1", ""},
		{"bad session name", withExt, "fleet-7", "a b", "ValidationError"},
	}
	for _, tt := range tests {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(tt.role), RoleSessionName: aws.String(tt.session)}
		if tt.ext != "" {
			in.ExternalId = aws.String(tt.ext)
		}
		_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, in)
		if got := errCode(err); got != tt.want {
			t.Errorf("%s: AssumeRole = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestSessionsExpire: a session works until its expiration and is then
// refused with ExpiredToken, as STS's are.
func TestSessionsExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	_, cfg := orgSandbox(t, func() time.Time { return now })
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + memberAccount + ":role/" + sandboxaws.OrgAccessRole),
		RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Credentials.Expiration.Sub(now); got < 899*time.Second || got > 900*time.Second {
		t.Errorf("expiration %v after issue, want 900 s", got)
	}
	sess := cfg.Copy()
	sess.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	if _, err := sts.NewFromConfig(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("a fresh session: %v", err)
	}
	// The sandbox checks expiry against the real clock (signatures are
	// real-time too); a session issued on an emulated clock 16 minutes
	// behind is already expired.
	now = time.Now().Add(-16 * time.Minute)
	out, err = sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + memberAccount + ":role/" + sandboxaws.OrgAccessRole),
		RoleSessionName: aws.String("stale"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	sess.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	_, err = sts.NewFromConfig(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if errCode(err) != "ExpiredToken" {
		t.Errorf("an expired session: %v, want ExpiredToken", err)
	}
}
