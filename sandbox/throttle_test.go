package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/sandbox"
)

// TestThrottleByRateBudget: with Throttle, a request finding its bucket
// empty gets the cloud's own throttling reply, and buckets are keyed the
// way the cloud meters — EC2 reads of one region do not use up EC2 writes
// or another region's reads. The request log and the buckets' refusals are
// in Stats and served at StatsPath.
func TestThrottleByRateBudget(t *testing.T) {
	ctx := context.Background()
	// Three reads, refilled so slowly that none comes back during the test.
	tables := budget.Overrides{"aws:ec2/read": {Burst: 3, Rate: 0.0001}}.Tables(budget.Published)
	c := start(t, sandbox.Options{Throttle: true, RateBudgets: tables})

	var err error
	for i := 0; i < 3 && err == nil; i++ {
		_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	}
	if err != nil {
		t.Fatalf("DescribeVpcs within the burst: %v", err)
	}
	_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if got := errCode(err); got != "RequestLimitExceeded" {
		t.Fatalf("DescribeVpcs beyond the burst: err %v (code %q), want RequestLimitExceeded", err, got)
	}
	// Writes and another region have buckets of their own.
	if _, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}); err != nil {
		t.Errorf("CreateVpc with the read bucket empty: %v", err)
	}
	other := ec2.NewFromConfig(c.cfg, func(o *ec2.Options) { o.Region = "eu-west-1" })
	if _, err := other.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Errorf("DescribeVpcs in eu-west-1 with us-east-1's bucket empty: %v", err)
	}

	st := c.sb.Stats()
	// 3 let through, then the SDK's 3 attempts of the fourth call refused.
	if st.Requests["ec2:DescribeVpcs"] != 3+3+1 || st.Throttled["ec2:DescribeVpcs"] != 3 {
		t.Errorf("DescribeVpcs: %d requests, %d throttled; want 7 and 3", st.Requests["ec2:DescribeVpcs"], st.Throttled["ec2:DescribeVpcs"])
	}
	var east *sandbox.BudgetStat
	for i, b := range st.Budgets {
		if strings.Contains(b.Key, "us-east-1") && strings.Contains(b.Key, "ec2/read") {
			east = &st.Budgets[i]
		}
	}
	if east == nil || east.Requests != 3 || east.Throttled != 3 || east.Burst != 3 {
		t.Errorf("us-east-1 ec2/read bucket = %+v in %+v; want 3 let through, 3 refused, burst 3", east, st.Budgets)
	}

	// The same, as JSON, from the running sandbox's endpoint.
	resp, err := http.Get(c.sb.Endpoints()["aws"] + sandbox.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var served sandbox.Stats
	if err := json.NewDecoder(resp.Body).Decode(&served); err != nil {
		t.Fatalf("decode %s: %v", sandbox.StatsPath, err)
	}
	if served.Throttled["ec2:DescribeVpcs"] != 3 || served.CloudCalls() != st.CloudCalls() || served.PeakRSSKiB <= 0 {
		t.Errorf("served stats: throttled %v, %d cloud calls (want %d), peak RSS %d KiB", served.Throttled, served.CloudCalls(), st.CloudCalls(), served.PeakRSSKiB)
	}
}
