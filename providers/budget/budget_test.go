package budget

import (
	"context"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newFake(tables map[string]Table, margin Margin) (*Budgets, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	b := New(tables, margin)
	b.now = c.now
	return b, c
}

var testTables = map[string]Table{"aws": {"ec2/write": {Burst: 3, Rate: 2}}}

func TestTakeEnforcesBurstThenRate(t *testing.T) {
	b, clock := newFake(testTables, Enforced)
	k := Key{Cloud: "aws", Region: "us-east-1", Bucket: "ec2/write"}
	for i := 0; i < 3; i++ {
		if ok, _ := b.Take(k); !ok {
			t.Fatalf("take %d of a burst of 3 refused", i+1)
		}
	}
	ok, after := b.Take(k)
	if ok || after < 400*time.Millisecond || after > 500*time.Millisecond {
		t.Fatalf("fourth take = %v, retry after %v; want refused, about 500 ms (2 tokens/s)", ok, after)
	}
	clock.t = clock.t.Add(500 * time.Millisecond)
	if ok, _ := b.Take(k); !ok {
		t.Fatal("a take half a second later (one token refilled) was refused")
	}
	other := Key{Cloud: "aws", Region: "eu-west-1", Bucket: "ec2/write"}
	if ok, _ := b.Take(other); !ok {
		t.Fatal("another region's bucket is empty: buckets must be per key")
	}
	if st := b.Stats(); len(st) != 2 || st[1].Throttles != 1 {
		t.Errorf("stats = %+v; want two buckets, us-east-1 with one refusal", st)
	}
}

func TestUnknownBucketIsNotPaced(t *testing.T) {
	b, _ := newFake(testTables, Enforced)
	k := Key{Cloud: "aws", Bucket: "sts/read"}
	for i := 0; i < 100; i++ {
		if ok, _ := b.Take(k); !ok {
			t.Fatal("a bucket without a limit refused a request")
		}
	}
}

func TestMarginScalesLimits(t *testing.T) {
	b := New(map[string]Table{"azure": {"arm/write": {Burst: 200, Rate: 10}}}, ClientMargin)
	l, ok := b.Limit(Key{Cloud: "azure", Bucket: "arm/write"})
	if !ok || l.Burst != 100 || l.Rate != 9 {
		t.Errorf("limit = %+v %v; want 9/s, 100", l, ok)
	}
}

func TestThrottledSlowsDownThenRecovers(t *testing.T) {
	b := New(map[string]Table{"aws": {"ec2/write": {Burst: 1, Rate: 100}}}, Enforced)
	k := Key{Cloud: "aws", Bucket: "ec2/write"}
	bk := b.bucket(k)
	b.Throttled(k, 0)
	if got := float64(bk.lim.Limit()); got != 50 {
		t.Fatalf("rate after a throttle = %v; want 50 (halved)", got)
	}
	for i := 0; i < 10; i++ {
		b.Throttled(k, 0)
	}
	if got := float64(bk.lim.Limit()); got != 10 {
		t.Fatalf("rate after many throttles = %v; want the floor, 10 (a tenth)", got)
	}
	bk.lastChange = bk.lastChange.Add(-3 * time.Second)
	bk.recover(time.Now())
	if got := float64(bk.lim.Limit()); got < 39 || got > 41 {
		t.Fatalf("rate 3 s after the last throttle = %v; want about 40 (+10/s)", got)
	}
}

func TestWaitHonoursTheCloudsPause(t *testing.T) {
	b := New(map[string]Table{"azure": {"arm/read": {Burst: 100, Rate: 100}}}, Enforced)
	k := Key{Cloud: "azure", Scope: "s", Bucket: "arm/read"}
	b.Throttled(k, 30*time.Millisecond)
	start := time.Now()
	if err := b.Wait(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("Wait returned after %v; the cloud asked for 30 ms", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Throttled(k, time.Hour)
	if err := b.Wait(ctx, k); err == nil {
		t.Error("Wait with a cancelled context during a pause returned no error")
	}
}

func TestParseOverride(t *testing.T) {
	tests := []struct {
		in      string
		key     string
		want    Limit
		wantErr string
	}{
		{in: "aws:ec2/write=5/s,200", key: "aws:ec2/write", want: Limit{Burst: 200, Rate: 5}},
		{in: "azure:arm/read=12.5/s,250", key: "azure:arm/read", want: Limit{Burst: 250, Rate: 12.5}},
		{in: "aws:ec2/writ=5/s,200", wantErr: "aws has no budget \"ec2/writ\" (it has ec2/read, ec2/write, eks/read"},
		{in: "oci:x=1/s,1", wantErr: "no rate budgets for cloud \"oci\""},
		{in: "aws:ec2/write=5,200", wantErr: "want RATE/s,BURST"},
		{in: "aws:ec2/write=0/s,200", wantErr: "above 0"},
		{in: "aws:ec2/write=5/s,0", wantErr: "at least 1"},
		{in: "ec2/write=5/s,200", wantErr: "want cloud:bucket=RATE/s,BURST"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			key, l, err := ParseOverride(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || key != tt.key || l != tt.want {
				t.Fatalf("= %q %+v %v; want %q %+v", key, l, err, tt.key, tt.want)
			}
		})
	}
}

func TestOverridesAndKeys(t *testing.T) {
	tables := Overrides{"aws:ec2/write": {Burst: 1, Rate: 1}}.Tables(Published)
	if tables["aws"]["ec2/write"] != (Limit{Burst: 1, Rate: 1}) || Published["aws"]["ec2/write"] == (Limit{Burst: 1, Rate: 1}) {
		t.Error("Tables must apply the override to a copy")
	}
	if k := AWSKey("IAM", "CreateRole", "us-east-1"); k != (Key{Cloud: "aws", Bucket: "iam/write"}) {
		t.Errorf("IAM key = %v; want global iam/write", k)
	}
	if k := AWSKey("EC2", "DescribeVpcs", "eu-west-1"); k != (Key{Cloud: "aws", Region: "eu-west-1", Bucket: "ec2/read"}) {
		t.Errorf("EC2 key = %v", k)
	}
	if k := AzureKey("SUB", "DELETE"); k != (Key{Cloud: "azure", Scope: "sub", Bucket: "arm/delete"}) {
		t.Errorf("ARM key = %v", k)
	}
	if k := GCPComputeKey("p", "POST"); k.Bucket != "compute/write" || k.Scope != "p" {
		t.Errorf("Compute key = %v", k)
	}
}
