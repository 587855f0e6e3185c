package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/regionctl/regionctl/sandbox"
)

// clock is a settable emulated clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

type clients struct {
	sb  *sandbox.Sandbox
	cfg aws.Config
	ec2 *ec2.Client
	iam *iam.Client
	eks *eks.Client
}

// start runs a sandbox in a temporary directory (unless opts.Dir is set)
// and returns real SDK clients pointed at it, retrying without backoff.
func start(t *testing.T, opts sandbox.Options) *clients {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Latency == nil {
		opts.Latency = map[string]time.Duration{"*": 0}
	}
	// These tests exercise the cloud APIs alone; the clusters' API servers
	// are tested in sandbox/kube and end to end.
	opts.NoKubernetes = true
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return connect(t, sb)
}

func connect(t *testing.T, sb *sandbox.Sandbox) *clients {
	t.Helper()
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(sb.Endpoints()["aws"]),
		Credentials:  sb.AWSCredentials().Provider(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{}; o.MaxAttempts = 3 })
		},
	}
	return &clients{sb: sb, cfg: cfg, ec2: ec2.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), eks: eks.NewFromConfig(cfg)}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestStartEndpointsAndLock(t *testing.T) {
	dir := t.TempDir()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer sb.Close()
	if ep := sb.Endpoints()["aws"]; ep == "" {
		t.Fatalf("no aws endpoint: %v", sb.Endpoints())
	}
	if _, err := sandbox.Start(context.Background(), sandbox.Options{Dir: dir}); err == nil {
		t.Fatal("a second sandbox on the same dir started; want a lock error")
	}
}

func TestLoadOptions(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		body    string
		wantErr bool
		check   func(t *testing.T, o sandbox.Options)
	}{
		{name: "yaml", file: "c.yaml", body: "dir: /tmp/x\nseed: 7\nlatency:\n  eks:CreateCluster: 30s\nfaults:\n  - {op: 'eks:*', kind: throttle, rate: 0.1}\n",
			check: func(t *testing.T, o sandbox.Options) {
				if o.Latency["eks:CreateCluster"] != 30*time.Second || o.Seed != 7 || len(o.Faults) != 1 || o.Faults[0].Kind != sandbox.FaultThrottle {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "json realistic", file: "c.json", body: `{"profile":"realistic","latency":{"ec2:CreateNatGateway":"0s"}}`,
			check: func(t *testing.T, o sandbox.Options) {
				if o.Latency["eks:CreateCluster"] != 10*time.Minute || o.Latency["ec2:CreateNatGateway"] != 0 {
					t.Errorf("got %+v", o.Latency)
				}
			}},
		{name: "bad duration", file: "c.yaml", body: "latency: {'eks:CreateCluster': soon}\n", wantErr: true},
		{name: "bad fault kind", file: "c.yaml", body: "faults: [{op: '*', kind: boom, rate: 1}]\n", wantErr: true},
		{name: "fault without rate or nth", file: "c.yaml", body: "faults: [{op: '*', kind: drop}]\n", wantErr: true},
		{name: "unknown key", file: "c.yaml", body: "latncy: {}\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := t.TempDir() + "/" + tt.file
			if err := writeFile(path, tt.body); err != nil {
				t.Fatal(err)
			}
			o, err := sandbox.LoadOptions(path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && err == nil {
				tt.check(t, o)
			}
		})
	}
}
