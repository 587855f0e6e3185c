package aws

import (
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// state is everything the emulator holds; it is persisted as JSON. Objects
// are kept as the SDK's own types, so what is stored is what is replied.
type state struct {
	Vpcs        map[string]*vpcRec     `json:"vpcs"`
	Subnets     map[string]*subnetRec  `json:"subnets"`
	IGWs        map[string]*igwRec     `json:"internetGateways"`
	Addresses   map[string]*addrRec    `json:"addresses"`
	NATs        map[string]*natRec     `json:"natGateways"`
	RouteTables map[string]*rtbRec     `json:"routeTables"`
	SGs         map[string]*sgRec      `json:"securityGroups"`
	Roles       map[string]*roleRec    `json:"roles"`
	Clusters    map[string]*clusterRec `json:"clusters"` // key region/name
	Users       map[string]*userRec    `json:"users"`
	// Keys are the IAM users' access keys, by access key id.
	Keys map[string]*keyRec `json:"accessKeys"`
	// Tokens maps an idempotency token ("ec2:CreateNatGateway:TOKEN") to
	// the id it created and a digest of the request.
	Tokens map[string]tokenRec `json:"tokens"`
}

type tokenRec struct {
	ID     string `json:"id"`
	Digest string `json:"digest"`
}

type vpcRec struct {
	Region       string       `json:"region"`
	V            ec2types.Vpc `json:"vpc"`
	DNSSupport   bool         `json:"dnsSupport"`
	DNSHostnames bool         `json:"dnsHostnames"`
}

type subnetRec struct {
	Region string          `json:"region"`
	V      ec2types.Subnet `json:"subnet"`
}

type igwRec struct {
	Region string                   `json:"region"`
	V      ec2types.InternetGateway `json:"internetGateway"`
}

type addrRec struct {
	Region string           `json:"region"`
	V      ec2types.Address `json:"address"`
}

type natRec struct {
	Region  string              `json:"region"`
	V       ec2types.NatGateway `json:"natGateway"`
	ReadyAt time.Time           `json:"readyAt"`
	Fail    bool                `json:"fail,omitempty"`
	// PurgeAt is when a deleted or failed gateway stops being listed.
	PurgeAt time.Time `json:"purgeAt,omitzero"`
}

type rtbRec struct {
	Region string              `json:"region"`
	V      ec2types.RouteTable `json:"routeTable"`
}

type sgRec struct {
	Region string                 `json:"region"`
	V      ec2types.SecurityGroup `json:"securityGroup"`
	// Cluster is set on the security group EKS creates for a cluster.
	Cluster string `json:"cluster,omitempty"`
}

type roleRec struct {
	V        iamtypes.Role             `json:"role"`
	Policies []iamtypes.AttachedPolicy `json:"policies"`
}

type clusterRec struct {
	Region  string           `json:"region"`
	V       ekstypes.Cluster `json:"cluster"`
	ReadyAt time.Time        `json:"readyAt"`
	Fail    bool             `json:"fail,omitempty"`
	// KubeErr is why the cluster's API server could not start.
	KubeErr    string                `json:"kubeErr,omitempty"`
	Nodegroups map[string]*ngRec     `json:"nodegroups"`
	Addons     map[string]*addonRec  `json:"addons"`
	Updates    map[string]*updateRec `json:"updates"`
	// AccessEntries are the cluster's access entries, by principal ARN.
	AccessEntries map[string]*accessEntryRec `json:"accessEntries"`
	// Creator is the IAM principal that created the cluster.
	Creator string `json:"creator,omitempty"`
}

type ngRec struct {
	V       ekstypes.Nodegroup `json:"nodegroup"`
	ReadyAt time.Time          `json:"readyAt"`
	Fail    bool               `json:"fail,omitempty"`
	// Slot numbers the group among its cluster's groups, so its nodes'
	// private addresses (and so their names) differ from other groups'.
	Slot int `json:"slot,omitempty"`
}

type addonRec struct {
	V       ekstypes.Addon `json:"addon"`
	ReadyAt time.Time      `json:"readyAt"`
	Fail    bool           `json:"fail,omitempty"`
}

type updateRec struct {
	V         ekstypes.Update `json:"update"`
	ReadyAt   time.Time       `json:"readyAt"`
	Fail      bool            `json:"fail,omitempty"`
	Nodegroup string          `json:"nodegroup,omitempty"`
	Addon     string          `json:"addon,omitempty"`
	// Version is applied when a version update completes.
	Version string `json:"version,omitempty"`
	// Release is a nodegroup release version applied on completion.
	Release string `json:"release,omitempty"`
}

func newState() *state {
	s := &state{}
	s.fill()
	return s
}

// fill makes every map non-nil (after decoding an older or empty file).
func (s *state) fill() {
	if s.Vpcs == nil {
		s.Vpcs = map[string]*vpcRec{}
	}
	if s.Subnets == nil {
		s.Subnets = map[string]*subnetRec{}
	}
	if s.IGWs == nil {
		s.IGWs = map[string]*igwRec{}
	}
	if s.Addresses == nil {
		s.Addresses = map[string]*addrRec{}
	}
	if s.NATs == nil {
		s.NATs = map[string]*natRec{}
	}
	if s.RouteTables == nil {
		s.RouteTables = map[string]*rtbRec{}
	}
	if s.SGs == nil {
		s.SGs = map[string]*sgRec{}
	}
	if s.Roles == nil {
		s.Roles = map[string]*roleRec{}
	}
	if s.Clusters == nil {
		s.Clusters = map[string]*clusterRec{}
	}
	if s.Users == nil {
		s.Users = map[string]*userRec{}
	}
	if s.Keys == nil {
		s.Keys = map[string]*keyRec{}
	}
	if s.Tokens == nil {
		s.Tokens = map[string]tokenRec{}
	}
	for _, c := range s.Clusters {
		if c.Nodegroups == nil {
			c.Nodegroups = map[string]*ngRec{}
		}
		if c.Addons == nil {
			c.Addons = map[string]*addonRec{}
		}
		if c.Updates == nil {
			c.Updates = map[string]*updateRec{}
		}
		if c.AccessEntries == nil {
			c.AccessEntries = map[string]*accessEntryRec{}
		}
	}
}
