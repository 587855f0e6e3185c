package aws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// call runs one request of each service the emulator serves.
var calls = map[string]func(ctx context.Context, cfg aws.Config) error{
	"ec2": func(ctx context.Context, cfg aws.Config) error {
		_, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		return err
	},
	"iam": func(ctx context.Context, cfg aws.Config) error {
		_, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
		if errCode(err) == "NoSuchEntity" {
			return nil // authenticated
		}
		return err
	},
	"sts": func(ctx context.Context, cfg aws.Config) error {
		_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
	"eks": func(ctx context.Context, cfg aws.Config) error {
		_, err := eks.NewFromConfig(cfg).ListClusters(ctx, &eks.ListClustersInput{})
		return err
	},
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestSignaturesAreVerified: every service refuses a request signed with an
// access key the account does not have, or with the wrong secret for its
// key, with that service's own error code and HTTP status; the sandbox's
// key with its secret is accepted.
func TestSignaturesAreVerified(t *testing.T) {
	sb, cfg := newSandbox(t, "us-east-1")
	good := sb.AWSCredentials()
	if !strings.HasPrefix(good.AccessKeyID, "AKIA") || len(good.AccessKeyID) != 20 || len(good.SecretAccessKey) != 40 {
		t.Fatalf("issued credentials %q/%d chars; want AKIA + 16 and a 40-character secret", good.AccessKeyID, len(good.SecretAccessKey))
	}
	tests := []struct {
		name, svc   string
		key, secret string
		wantCode    string
		wantStatus  int
	}{
		{"ec2 ok", "ec2", good.AccessKeyID, good.SecretAccessKey, "", 0},
		{"ec2 unknown key", "ec2", "AKIAUNKNOWNKEY000000", good.SecretAccessKey, "AuthFailure", 401},
		{"ec2 wrong secret", "ec2", good.AccessKeyID, "wrong", "AuthFailure", 401},
		{"iam ok", "iam", good.AccessKeyID, good.SecretAccessKey, "", 0},
		{"iam unknown key", "iam", "AKIAUNKNOWNKEY000000", good.SecretAccessKey, "InvalidClientTokenId", 403},
		{"iam wrong secret", "iam", good.AccessKeyID, "wrong", "SignatureDoesNotMatch", 403},
		{"sts ok", "sts", good.AccessKeyID, good.SecretAccessKey, "", 0},
		{"sts unknown key", "sts", "AKIAUNKNOWNKEY000000", good.SecretAccessKey, "InvalidClientTokenId", 403},
		{"sts wrong secret", "sts", good.AccessKeyID, "wrong", "SignatureDoesNotMatch", 403},
		{"eks ok", "eks", good.AccessKeyID, good.SecretAccessKey, "", 0},
		{"eks unknown key", "eks", "AKIAUNKNOWNKEY000000", good.SecretAccessKey, "UnrecognizedClientException", 403},
		{"eks wrong secret", "eks", good.AccessKeyID, "wrong", "InvalidSignatureException", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg.Copy()
			c.Credentials = credentials.NewStaticCredentialsProvider(tt.key, tt.secret, "")
			err := calls[tt.svc](context.Background(), c)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("signed with the sandbox's key: %v", err)
				}
				return
			}
			if errCode(err) != tt.wantCode || httpStatus(err) != tt.wantStatus {
				t.Errorf("got %v (HTTP %d); want %s with HTTP %d", err, httpStatus(err), tt.wantCode, tt.wantStatus)
			}
		})
	}
}

// TestSigningScopeIsChecked: a request signed for a region outside AWS's
// partition, or for a service the endpoint does not serve, is refused.
func TestSigningScopeIsChecked(t *testing.T) {
	_, cfg := newSandbox(t, "us-east-1")
	ctx := context.Background()
	mars := cfg.Copy()
	mars.Region = "mars-1"
	if _, err := eks.NewFromConfig(mars).ListClusters(ctx, &eks.ListClustersInput{}); errCode(err) != "InvalidSignatureException" || !strings.Contains(err.Error(), "valid region") {
		t.Errorf("EKS signed for mars-1 = %v; want InvalidSignatureException about the region", err)
	}
	if _, err := ec2.NewFromConfig(mars).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); errCode(err) != "AuthFailure" {
		t.Errorf("EC2 signed for mars-1 = %v; want AuthFailure", err)
	}
	if _, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Errorf("EC2 signed for us-east-1: %v", err)
	}
	if _, err := eks.NewFromConfig(cfg, func(o *eks.Options) { o.Region = "eu-west-1" }).ListClusters(ctx, &eks.ListClustersInput{}); err != nil {
		t.Errorf("EKS signed for eu-west-1: %v", err)
	}
}

// TestUnsignedRequestsAreRefused: a request without any signature gets
// each service's missing-token error, in its own envelope.
func TestUnsignedRequestsAreRefused(t *testing.T) {
	sb, _ := newSandbox(t, "us-east-1")
	ep := sb.Endpoints()["aws"]
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"ec2", http.MethodPost, "/", "Action=DescribeVpcs&Version=2016-11-15", 401, "<Response><Errors><Error><Code>MissingAuthenticationToken</Code>"},
		{"iam", http.MethodPost, "/", "Action=ListRoleTags&Version=2010-05-08&RoleName=x", 403, "<Code>MissingAuthenticationToken</Code>"},
		{"sts", http.MethodPost, "/", "Action=GetCallerIdentity&Version=2011-06-15", 403, "<Code>MissingAuthenticationToken</Code>"},
		{"eks", http.MethodGet, "/clusters", "", 403, `{"message":"Missing Authentication Token"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ep+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("unsigned %s = HTTP %d %s; want %d with %s", tt.name, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if tt.name == "eks" && resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
				t.Errorf("X-Amzn-Errortype = %q", resp.Header.Get("X-Amzn-Errortype"))
			}
		})
	}
}

// TestStaleSignaturesAreRefused: a request signed more than 15 minutes ago
// is refused as expired (EKS InvalidSignatureException, EC2 RequestExpired),
// while the same request signed now is accepted.
func TestStaleSignaturesAreRefused(t *testing.T) {
	sb, _ := newSandbox(t, "us-east-1")
	ep, creds := sb.Endpoints()["aws"], sb.AWSCredentials()
	send := func(svc, method, path, body string, at time.Time) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, ep+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), svc, "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype") + string(b)
	}
	if code, body := send("eks", http.MethodGet, "/clusters", "", time.Now()); code != 200 {
		t.Fatalf("signed now: HTTP %d %s", code, body)
	}
	if code, body := send("eks", http.MethodGet, "/clusters", "", time.Now().Add(-20*time.Minute)); code != 403 || !strings.Contains(body, "InvalidSignatureException") || !strings.Contains(body, "Signature expired") {
		t.Errorf("EKS signed 20 minutes ago: HTTP %d %s", code, body)
	}
	if code, body := send("ec2", http.MethodPost, "/", "Action=DescribeVpcs&Version=2016-11-15", time.Now().Add(20*time.Minute)); code != 400 || !strings.Contains(body, "<Code>RequestExpired</Code>") {
		t.Errorf("EC2 signed 20 minutes ahead: HTTP %d %s", code, body)
	}
}

// TestCallerIdentityAndIAMUsers: STS says who signed a request; an access
// key made through IAM for a new user signs requests as that user, and
// stops working once deleted.
func TestCallerIdentityAndIAMUsers(t *testing.T) {
	sb, cfg := newSandbox(t, "us-east-1")
	ctx := context.Background()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "123456789012" || aws.ToString(id.Arn) != sb.AWSCredentials().UserArn ||
		aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/sandbox-admin" || !awsIDShape(aws.ToString(id.UserId), "AIDA") {
		t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(id.Account), aws.ToString(id.Arn), aws.ToString(id.UserId))
	}
	c := iam.NewFromConfig(cfg)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("viewer")}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("viewer")})
	if err != nil {
		t.Fatal(err)
	}
	viewer := cfg.Copy()
	viewer.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	vid, err := sts.NewFromConfig(viewer).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(vid.Arn) != "arn:aws:iam::123456789012:user/viewer" {
		t.Fatalf("GetCallerIdentity as viewer = %v, %v", vid, err)
	}
	users, err := c.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil || len(users.Users) != 2 || aws.ToString(users.Users[1].UserName) != "viewer" {
		t.Errorf("ListUsers = %+v, %v; want sandbox-admin and viewer", users, err)
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("viewer"), AccessKeyId: key.AccessKey.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(viewer).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); errCode(err) != "InvalidClientTokenId" {
		t.Errorf("a deleted access key = %v; want InvalidClientTokenId", err)
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("sandbox-admin")}); errCode(err) != "DeleteConflict" {
		t.Errorf("deleting the sandbox's own user = %v; want DeleteConflict", err)
	}
}

// awsIDShape reports whether id is prefix + 17 characters of AWS's id
// alphabet (AROA… role ids, AIDA… user ids).
func awsIDShape(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	return ok && len(rest) == 17 && strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}

// TestRoleIDShape: IAM role ids have AWS's shape, AROA + 17 characters.
func TestRoleIDShape(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	out, err := c.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if id := aws.ToString(out.Role.RoleId); !awsIDShape(id, "AROA") {
		t.Errorf("RoleId %q; want AROA + 17 characters", id)
	}
	list, err := c.iam.ListRoles(context.Background(), &iam.ListRolesInput{})
	if err != nil || len(list.Roles) != 1 || aws.ToString(list.Roles[0].RoleId) != aws.ToString(out.Role.RoleId) {
		t.Errorf("ListRoles = %+v, %v", list, err)
	}
}
