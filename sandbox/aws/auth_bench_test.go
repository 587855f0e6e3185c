package aws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// BenchmarkSignedRequest measures what verifying SigV4 costs the sandbox:
// one EC2 DescribeVpcs round trip through the real SDK client (signing,
// HTTP on 127.0.0.1, verification, the operation, XML), next to signing
// one such request alone — the verifier's work is one more signing. It
// prints µs per round trip, µs per signature and their ratio.
//
//	go test ./sandbox/aws -run '^$' -bench SignedRequest -benchtime 2000x
func BenchmarkSignedRequest(b *testing.B) {
	_, cfg := newSandbox(b, "us-east-1")
	client := ec2.NewFromConfig(cfg)
	ctx := context.Background()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		b.Fatal(err)
	}
	body := "Action=DescribeVpcs&Version=2016-11-15"
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	signer := v4.NewSigner()

	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip := time.Since(start)
	start = time.Now()
	for range b.N {
		req, _ := http.NewRequest(http.MethodPost, aws.ToString(cfg.BaseEndpoint)+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := signer.SignHTTP(ctx, creds, req, hash, "ec2", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	sign := time.Since(start)
	b.StopTimer()
	perRT := float64(roundTrip.Microseconds()) / float64(b.N)
	perSign := float64(sign.Microseconds()) / float64(b.N)
	b.ReportMetric(perRT, "µs/request")
	b.ReportMetric(perSign, "µs/verify")
	b.ReportMetric(perSign/perRT*100, "verify-%")
}
