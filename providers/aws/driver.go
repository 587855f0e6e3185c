// Package aws is regionctl's AWS driver: it expands a region into a VPC with
// public and private subnets per zone, NAT gateways, route tables, IAM
// roles, an EKS cluster with managed node groups and the EBS CSI add-on,
// and manages them through the official aws-sdk-go-v2 clients (EC2, IAM,
// EKS). See docs/providers/aws.md for the mapping from spec to resources.
//
// One Driver serves every AWS region: clients are built per location from
// one base configuration loaded by config.LoadDefaultConfig (environment,
// shared profiles, SSO, web identity), and cached.
package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// Tag keys every resource carries.
const (
	TagManagedBy      = "managed-by"
	TagRegion         = "regionctl/region"
	TagAddress        = "regionctl/address"
	TagIdempotencyKey = "regionctl/idempotency-key"
	managedByValue    = "regionctl"
)

// MaxAttempts is how many times a throttled or failed call is tried.
const MaxAttempts = 10

// Driver is the AWS providers.Driver. Build it with New. Its embedded
// kit.Router serves Create, Read, Update, Delete, Find and UpgradeState
// from the resource types declared in router.
type Driver struct {
	*kit.Router

	base    aws.Config
	sandbox bool
	// endpoint is the sandbox's base URL (sandbox only).
	endpoint string
	// waitMin and waitMax bound waiter polling; zero means the SDK default.
	waitMin, waitMax time.Duration
	// dependencyWait bounds retries of deletes that fail because AWS has
	// not yet released a dependent object (ENIs, mapped addresses).
	dependencyWait time.Duration
	// forceConflicts is --force-conflicts for in-cluster objects.
	forceConflicts bool
	// kube creates, reads, updates and deletes the in-cluster objects.
	kube *kubernetes.Handler

	// budgets pace every API request (per region and kind of call, IAM
	// globally), as AWS meters them.
	budgets *budget.Budgets
	// lists coalesces the describe calls of concurrent ReadMany calls.
	lists kit.Batcher[any]

	mu      sync.Mutex
	clients map[string]*clients
	// identity is the account STS named (see Identity), once known.
	identity providers.Identity
}

var (
	_ providers.Driver        = (*Driver)(nil)
	_ providers.Finder        = (*Driver)(nil)
	_ providers.Validator     = (*Driver)(nil)
	_ providers.StateUpgrader = (*Driver)(nil)
	_ providers.Lister        = (*Driver)(nil)
)

type clients struct {
	ec2 *ec2.Client
	eks *eks.Client
	iam *iam.Client
}

func newRetryer(sandbox bool) func() aws.Retryer {
	return func() aws.Retryer {
		return reportingRetryer{retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = MaxAttempts
				if sandbox {
					so.MaxBackoff = 200 * time.Millisecond
				}
			})
		})}
	}
}

// New is the registry factory. It loads the AWS configuration
// (config.LoadDefaultConfig: environment, profiles, SSO, web identity) but
// makes no API call. With opts.Sandbox it never reads the user's
// credentials: it signs with the credentials the sandbox issued (profile
// sandboxProfile of the shared credentials file in opts.SandboxDir, read on
// first use) and sends every call to opts.SandboxEndpoints["aws"].
func New(ctx context.Context, opts providers.Options) (providers.Driver, error) {
	d := &Driver{clients: map[string]*clients{}, sandbox: opts.Sandbox, dependencyWait: 15 * time.Minute, forceConflicts: opts.ForceConflicts,
		budgets: budget.New(opts.RateBudgets.Tables(budget.Published), budget.ClientMargin)}
	d.lists.Linger = listLinger
	d.kube = d.kubeHandler()
	d.Router = d.router()
	if opts.Sandbox {
		ep := opts.SandboxEndpoints["aws"]
		if ep == "" {
			return nil, errors.New("aws: sandbox mode needs SandboxEndpoints[\"aws\"] (the AWS emulator's base URL)")
		}
		if opts.SandboxDir == "" {
			return nil, errors.New("aws: sandbox mode needs SandboxDir (where the sandbox keeps the credentials it issued)")
		}
		d.endpoint = ep
		d.base = aws.Config{
			Region:       "us-east-1",
			Credentials:  aws.NewCredentialsCache(sandboxCredentials(opts.SandboxDir)),
			BaseEndpoint: aws.String(ep),
			Retryer:      newRetryer(true),
		}
		d.waitMin, d.waitMax = 100*time.Millisecond, time.Second
		d.dependencyWait = 5 * time.Second
		d.lists.Linger = sandboxListLinger
		return d, nil
	}
	if opts.Offline {
		return d, nil // validate: no credentials, no configuration files
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(newRetryer(false)))
	if err != nil {
		return nil, fmt.Errorf("aws: load configuration (environment, profiles, SSO): %w", err)
	}
	d.base = cfg
	return d, nil
}

// clientsFor returns the clients of one AWS region (cached).
func (d *Driver) clientsFor(location string) *clients {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[location]; ok {
		return c
	}
	cfg := d.base.Copy()
	if location != "" {
		cfg.Region = location
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	cfg.APIOptions = append(cfg.APIOptions, d.paceRequests)
	c := &clients{
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
		}),
		eks: eks.NewFromConfig(cfg, func(o *eks.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
		}),
		iam: iam.NewFromConfig(cfg, func(o *iam.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
		}),
	}
	d.clients[location] = c
	return c
}

// Capabilities describes EKS.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Name:                "aws",
		Description:         "Amazon Web Services: VPC, NAT gateways, EKS with managed node groups, EBS CSI",
		KubernetesVersions:  append([]string(nil), KubernetesVersions...),
		Machines:            Machines(),
		StorageTiers:        []string{spec.TierStandard, spec.TierSSD},
		LoadBalancerSchemes: []string{spec.SchemeExternal, spec.SchemeInternal},
		Locations:           Locations(),
		RateBudgeted:        true,
		Resources:           d.Schemas(),
	}
}

// env is what every call of an AWS resource type works with: the driver
// and the clients of the AWS region its inputs name.
type env struct {
	d  *Driver
	cl *clients
	// loc is the AWS region the clients call ("" for IAM's roles).
	loc string
}

// call is one operation on one AWS resource.
type call[In, Out any] = kit.Call[*env, In, Out]

// connect picks the clients of the call's AWS region (its "location"
// input; IAM, a global service, has none).
func (d *Driver) connect(_ context.Context, t kit.Target) (*env, error) {
	loc, err := t.String("location")
	if err != nil {
		return nil, err
	}
	return &env{d: d, cl: d.clientsFor(loc), loc: loc}, nil
}

// router declares every resource type of the driver.
func (d *Driver) router() *kit.Router {
	return kit.MustNew(kit.Options{Name: "aws", Classify: classify}, append([]kit.Declaration{
		kit.Type[*env, vpcIn, vpcOut]{Name: TypeVPC, Description: "a VPC with DNS support and hostnames", Handler: vpcHandler{}, Connect: d.connect},
		kit.Type[*env, subnetIn, subnetOut]{Name: TypeSubnet, Description: "a public or private subnet in one availability zone", Handler: subnetHandler{}, Connect: d.connect},
		kit.Type[*env, igwIn, idOut]{Name: TypeInternetGateway, Description: "the VPC's internet gateway, attached to it", Handler: igwHandler{}, Connect: d.connect},
		kit.Type[*env, eipIn, eipOut]{Name: TypeEIP, Description: "an Elastic IP (for a NAT gateway or a load balancer)", Handler: eipHandler{}, Connect: d.connect},
		kit.Type[*env, natIn, natOut]{Name: TypeNATGateway, Description: "a public NAT gateway in a public subnet", Handler: natHandler{}, Connect: d.connect},
		kit.Type[*env, routeTableIn, idOut]{Name: TypeRouteTable, Description: "a route table with a default route and its subnet associations", Handler: routeTableHandler{}, Connect: d.connect},
		kit.Type[*env, sgIn, sgOut]{Name: TypeSecurityGroup, Description: "the EKS cluster's extra security group (HTTPS from the VPC)", Handler: sgHandler{}, Connect: d.connect},
		kit.Type[*env, roleIn, roleOut]{Name: TypeIAMRole, Description: "an IAM role with a service trust policy and managed policies", Handler: roleHandler{}, Connect: d.connect},
		kit.Type[*env, clusterIn, clusterOut]{Name: TypeEKSCluster, Description: "an EKS cluster", Handler: clusterHandler{}, Connect: d.connect},
		kit.Type[*env, nodegroupIn, nodegroupOut]{Name: TypeEKSNodeGroup, Description: "an EKS managed node group", Handler: nodegroupHandler{}, Connect: d.connect},
		kit.Type[*env, addonIn, addonOut]{Name: TypeEKSAddon, Description: "an EKS add-on", Handler: addonHandler{}, Connect: d.connect},
	}, d.kube.Types()...)...)
}

// tags are the tags every resource gets.
func tags(m kit.Meta) map[string]string {
	region, _, name, err := providers.SplitAddress(m.Address)
	t := map[string]string{TagManagedBy: managedByValue, TagAddress: m.Address}
	if err == nil {
		t[TagRegion] = region
		t["Name"] = region + "-" + name
	}
	if m.Key != "" {
		t[TagIdempotencyKey] = m.Key
	}
	return t
}

// matchTags reports whether tags identify the call's resource: the
// idempotency key when there is one, else the address.
func matchTags(m kit.Meta, tags map[string]string) bool {
	if m.Key != "" {
		return tags[TagIdempotencyKey] == m.Key
	}
	return tags[TagAddress] == m.Address
}

// clientToken turns the idempotency key into an API client token (at most
// 64 ASCII characters).
func clientToken(m kit.Meta) *string {
	if m.Key == "" {
		return nil
	}
	if len(m.Key) <= 64 && isASCII(m.Key) {
		return aws.String(m.Key)
	}
	h := sha256.Sum256([]byte(m.Key))
	return aws.String(hex.EncodeToString(h[:]))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// errCode is the AWS error code of err, or "".
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says the object does not exist (or its
// ID cannot name one).
func isNotFound(err error) bool {
	code := errCode(err)
	switch code {
	case "NatGatewayNotFound", "NatGatewayMalformed", "NoSuchEntity", "ResourceNotFoundException":
		return true
	}
	return strings.HasSuffix(code, ".NotFound") || strings.HasSuffix(code, ".Malformed")
}

// classify returns the class of an AWS error, for the engine.
func classify(err error) providers.ErrorClass {
	code := errCode(err)
	switch {
	case isNotFound(err):
		return providers.ClassNotFound
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary:
		return providers.ClassThrottled
	case inDependency(err) || code == "ResourceInUseException" || code == "IncorrectState":
		return providers.ClassBusy
	case strings.HasPrefix(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "InvalidParameterValue" ||
		code == "InvalidParameterCombination" || code == "ValidationError" || code == "ValidationException" ||
		code == "EntityAlreadyExists" || strings.HasSuffix(code, "LimitExceeded") && code != "RequestLimitExceeded":
		return providers.ClassPermanent
	}
	return providers.ClassUnknown
}

// waitDelays returns the waiter's min and max polling delays: small in the
// sandbox, the SDK defaults (zero) otherwise.
func (d *Driver) waitDelays() (time.Duration, time.Duration) { return d.waitMin, d.waitMax }

// pollBackoff is how the driver polls what it waits for: from its minimum
// to its maximum delay (2 s → 30 s against AWS), with jitter.
func (d *Driver) pollBackoff() kit.Backoff {
	if d.waitMin == 0 {
		return kit.Backoff{Initial: 2 * time.Second, Max: 30 * time.Second, Jitter: jitter}
	}
	return kit.Backoff{Initial: d.waitMin, Max: d.waitMax, Jitter: jitter}
}

// jitter is the share of each backoff wait drawn at random.
const jitter = 0.2

// inDependency reports whether AWS refused a call because a dependent
// object is still being released (ENIs, mapped addresses, attachments).
func inDependency(err error) bool {
	switch errCode(err) {
	case "DependencyViolation", "InvalidIPAddress.InUse", "DeleteConflict", "AuthFailure.InUse":
		return true
	}
	return false
}

// retryDependency retries fn while AWS reports that a dependent object is
// still being released, for at most d.dependencyWait.
func (d *Driver) retryDependency(ctx context.Context, fn func() error) error {
	return kit.Retry{Backoff: d.pollBackoff(), For: d.dependencyWait, Retryable: inDependency}.Do(ctx, fn)
}
