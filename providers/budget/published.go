package budget

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Published are the request limits each cloud documents, as token buckets
// (docs/performance.md cites the sources). Where a cloud meters by fixed
// windows (Google: per minute or per 100 seconds), the bucket is chosen so
// that no window can receive more than the quota: a burst of a tenth of the
// window's quota and a refill of nine tenths of its average rate. Where a
// cloud publishes no numbers (EKS, IAM) the limits are conservative
// assumptions, marked so in the docs; override them in regionctl.yaml or
// with --rate-budget.
var Published = map[string]Table{
	"aws": {
		// EC2 request-token buckets, per account and region: non-mutating
		// (Describe*) 100 tokens refilled at 20/s; mutating 200 at 5/s.
		"ec2/read":  {Burst: 100, Rate: 20},
		"ec2/write": {Burst: 200, Rate: 5},
		// EKS publishes no rates: assumed, per account and region.
		"eks/read":  {Burst: 50, Rate: 10},
		"eks/write": {Burst: 20, Rate: 5},
		// IAM is global (one budget per account) and publishes no rates:
		// assumed.
		"iam/read":  {Burst: 50, Rate: 10},
		"iam/write": {Burst: 20, Rate: 5},
	},
	"gcp": {
		// Compute Engine, per project: read requests 1,500/min and
		// mutations ("default") 1,500/min.
		"compute/read":  {Burst: 150, Rate: 22.5},
		"compute/write": {Burst: 150, Rate: 22.5},
		// Kubernetes Engine API, per project: 3,000 requests/min enforced
		// every 100 s (5,000 per window), reads and writes alike.
		"container": {Burst: 500, Rate: 45},
	},
	"azure": {
		// Azure Resource Manager, per subscription (and region of the ARM
		// instance, one for a client): reads 250 tokens at 25/s, writes
		// and deletes 200 at 10/s each.
		"arm/read":   {Burst: 250, Rate: 25},
		"arm/write":  {Burst: 200, Rate: 10},
		"arm/delete": {Burst: 200, Rate: 10},
	},
}

// Overrides are limits that replace published ones, by "cloud:bucket"
// ("aws:ec2/write").
type Overrides map[string]Limit

// Tables returns base with the overrides applied; base is not changed.
func (o Overrides) Tables(base map[string]Table) map[string]Table {
	out := make(map[string]Table, len(base))
	for cloud, t := range base {
		out[cloud] = maps.Clone(t)
	}
	for k, l := range o {
		cloud, bucket, _ := strings.Cut(k, ":")
		if out[cloud] == nil {
			out[cloud] = Table{}
		}
		out[cloud][bucket] = l
	}
	return out
}

// Scaled returns tables whose rates are multiplied by f (bursts unchanged):
// a sandbox whose operations run f times faster than the cloud's keeps
// the same ratio of work to budget.
func Scaled(tables map[string]Table, f float64) map[string]Table {
	out := make(map[string]Table, len(tables))
	for cloud, t := range tables {
		out[cloud] = Table{}
		for k, l := range t {
			out[cloud][k] = Limit{Burst: l.Burst, Rate: l.Rate * f}
		}
	}
	return out
}

// ParseOverride parses "cloud:bucket=RATE/s,BURST" ("aws:ec2/write=5/s,200",
// "azure:arm/read=25/s,250"), checking the bucket is one the cloud has in
// Published.
func ParseOverride(s string) (key string, l Limit, err error) {
	return ParseOverrideIn(s, Published)
}

// ParseOverrideIn is ParseOverride for the clouds of tables, such as
// Published with a driver plugin's declared budgets
// (providers.Capabilities.RateBudgets) added.
func ParseOverrideIn(s string, tables map[string]Table) (key string, l Limit, err error) {
	key, l, err = SplitOverride(s)
	if err != nil {
		return "", Limit{}, err
	}
	cloud, bucket, _ := strings.Cut(key, ":")
	if err := CheckIn(tables, cloud, bucket); err != nil {
		return "", Limit{}, fmt.Errorf("%q: %w", s, err)
	}
	return key, l, nil
}

// SplitOverride parses "cloud:bucket=RATE/s,BURST" without checking that
// the cloud has the bucket: for a caller that learns the clouds' tables
// later (from the drivers a run builds).
func SplitOverride(s string) (key string, l Limit, err error) {
	key, val, ok := strings.Cut(s, "=")
	cloud, bucket, ok2 := strings.Cut(key, ":")
	if !ok || !ok2 || cloud == "" || bucket == "" {
		return "", Limit{}, fmt.Errorf("%q: want cloud:bucket=RATE/s,BURST, e.g. aws:ec2/write=5/s,200", s)
	}
	l, err = ParseLimit(val)
	if err != nil {
		return "", Limit{}, fmt.Errorf("%q: %w", s, err)
	}
	return key, l, nil
}

// ParseLimit parses "RATE/s,BURST" ("5/s,200").
func ParseLimit(s string) (Limit, error) {
	r, b, ok := strings.Cut(s, ",")
	r, ok2 := strings.CutSuffix(strings.TrimSpace(r), "/s")
	if !ok || !ok2 {
		return Limit{}, fmt.Errorf("limit %q: want RATE/s,BURST, e.g. 5/s,200", s)
	}
	rate, err := strconv.ParseFloat(r, 64)
	if err != nil || rate <= 0 {
		return Limit{}, fmt.Errorf("limit %q: the rate must be a number of requests per second above 0", s)
	}
	burst, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil || burst < 1 {
		return Limit{}, fmt.Errorf("limit %q: the burst must be a whole number of requests, at least 1", s)
	}
	return Limit{Burst: burst, Rate: rate}, nil
}

// Check reports an error unless bucket is one of cloud's published
// buckets, naming the ones it has.
func Check(cloud, bucket string) error { return CheckIn(Published, cloud, bucket) }

// CheckIn reports an error unless bucket is one of cloud's buckets in
// tables, naming the clouds (or the cloud's buckets) there are.
func CheckIn(tables map[string]Table, cloud, bucket string) error {
	t, ok := tables[cloud]
	if !ok {
		return fmt.Errorf("no rate budgets for cloud %q (known: %s)", cloud, strings.Join(slices.Sorted(maps.Keys(tables)), ", "))
	}
	if _, ok := t[bucket]; !ok {
		return fmt.Errorf("%s has no budget %q (it has %s)", cloud, bucket, strings.Join(slices.Sorted(maps.Keys(t)), ", "))
	}
	return nil
}

// AWSKey is the bucket an AWS request draws from: EC2 and EKS per region,
// IAM globally (region ""); reads (Describe*, Get*, List*) and writes
// apart. service is the SDK's service ID ("EC2"), op the operation name.
func AWSKey(service, op, region string) Key {
	svc := strings.ToLower(service)
	if svc == "iam" {
		region = ""
	}
	return Key{Cloud: "aws", Region: region, Bucket: svc + "/" + readOrWrite(op)}
}

// readOrWrite is "read" for an operation that changes nothing.
func readOrWrite(op string) string {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(op, p) {
			return "read"
		}
	}
	return "write"
}

// GCPComputeKey is the bucket of a Compute Engine request of project:
// GET (get, list, aggregatedList, operations.get) reads, the rest writes.
func GCPComputeKey(project, method string) Key {
	class := "write"
	if method == "GET" {
		class = "read"
	}
	return Key{Cloud: "gcp", Scope: project, Bucket: "compute/" + class}
}

// GCPContainerKey is the bucket of a Kubernetes Engine request of project:
// one per project for every method.
func GCPContainerKey(project string) Key {
	return Key{Cloud: "gcp", Scope: project, Bucket: "container"}
}

// AzureKey is the bucket of an ARM request of subscription: GET reads,
// DELETE deletes, the rest (PUT, PATCH, POST) writes.
func AzureKey(subscription, method string) Key {
	class := "write"
	switch method {
	case "GET", "HEAD":
		class = "read"
	case "DELETE":
		class = "delete"
	}
	return Key{Cloud: "azure", Scope: strings.ToLower(subscription), Bucket: "arm/" + class}
}
