package wire

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fill sets every exported field reachable from v to a non-zero value.
func fill(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.String:
		v.SetString("v")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Name != "ResultMetadata" {
				fill(v.Field(i), depth+1)
			}
		}
	}
}

// TestEC2RoundTrip proves the generated element names cover every field of
// every output the emulator sends: a fully populated value, rendered by
// MarshalEC2 and decoded by the real ec2 client, comes back unchanged.
func TestEC2RoundTrip(t *testing.T) {
	tests := []struct {
		op   string
		out  any
		call func(*ec2.Client) (any, error)
	}{
		{"DescribeVpcs", &ec2.DescribeVpcsOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
		}},
		{"DescribeSubnets", &ec2.DescribeSubnetsOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{})
		}},
		{"DescribeInternetGateways", &ec2.DescribeInternetGatewaysOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeInternetGateways(context.Background(), &ec2.DescribeInternetGatewaysInput{})
		}},
		{"DescribeAddresses", &ec2.DescribeAddressesOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeAddresses(context.Background(), &ec2.DescribeAddressesInput{})
		}},
		{"DescribeNatGateways", &ec2.DescribeNatGatewaysOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeNatGateways(context.Background(), &ec2.DescribeNatGatewaysInput{})
		}},
		{"DescribeRouteTables", &ec2.DescribeRouteTablesOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeRouteTables(context.Background(), &ec2.DescribeRouteTablesInput{})
		}},
		{"DescribeSecurityGroups", &ec2.DescribeSecurityGroupsOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
		}},
		{"DescribeAvailabilityZones", &ec2.DescribeAvailabilityZonesOutput{}, func(c *ec2.Client) (any, error) {
			return c.DescribeAvailabilityZones(context.Background(), &ec2.DescribeAvailabilityZonesInput{})
		}},
		{"AllocateAddress", &ec2.AllocateAddressOutput{}, func(c *ec2.Client) (any, error) {
			return c.AllocateAddress(context.Background(), &ec2.AllocateAddressInput{})
		}},
		{"AuthorizeSecurityGroupIngress", &ec2.AuthorizeSecurityGroupIngressOutput{}, func(c *ec2.Client) (any, error) {
			return c.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-1")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			fill(reflect.ValueOf(tt.out).Elem(), 0)
			body := MarshalEC2(tt.op, tt.out, "req-1")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
			defer srv.Close()
			c := ec2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("%s: %v", tt.op, err)
			}
			// SDK structs carry an unexported marker field and ResultMetadata; neither is on the wire.
			opts := cmp.Options{cmpopts.IgnoreUnexported(reflect.ValueOf(tt.out).Elem().Interface()),
				cmpopts.IgnoreFields(reflect.ValueOf(tt.out).Elem().Interface(), "ResultMetadata")}
			if diff := cmp.Diff(tt.out, got, opts, cmpopts.IgnoreTypes(struct{}{})); diff != "" {
				t.Errorf("round trip lost fields (-sent +decoded):\n%s", diff)
			}
		})
	}
}
