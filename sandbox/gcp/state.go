package gcp

import (
	"github.com/regionctl/regionctl/sandbox/internal/emu"

	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"cloud.google.com/go/iam/apiv1/iampb"
)

// state is everything the emulator holds; it is persisted as JSON with the
// SDK messages in protojson form.
type state struct {
	Networks  map[string]*netRec    `json:"networks"`    // project/name
	Subnets   map[string]*subnetRec `json:"subnetworks"` // project/region/name
	Routers   map[string]*routerRec `json:"routers"`     // project/region/name
	Addresses map[string]*addrRec   `json:"addresses"`   // project/region/name
	// Ops are Compute operations, by project/(global|region)/name.
	Ops map[string]*computeOpRec `json:"operations"`
	// Clusters by "projects/P/locations/L/clusters/C".
	Clusters map[string]*clusterRec `json:"clusters"`
	// GKEOps by "projects/P/locations/L/operations/NAME".
	GKEOps map[string]*gkeOpRec `json:"gkeOperations"`
	// ServiceAccount is the sandbox's service account key (made on first
	// use), which the published key file holds and the token endpoint
	// verifies JWT assertions against.
	ServiceAccount *serviceAccount `json:"serviceAccount,omitempty"`
	// Policies are the projects' IAM policies (Resource Manager), by
	// project ID, made on first use.
	Policies map[string]msg[*iampb.Policy] `json:"iamPolicies,omitempty"`
}

func newState() *state {
	s := &state{}
	s.fill()
	return s
}

// fill makes every map non-nil (after decoding an older or empty file).
func (s *state) fill() {
	if s.Networks == nil {
		s.Networks = map[string]*netRec{}
	}
	if s.Subnets == nil {
		s.Subnets = map[string]*subnetRec{}
	}
	if s.Routers == nil {
		s.Routers = map[string]*routerRec{}
	}
	if s.Addresses == nil {
		s.Addresses = map[string]*addrRec{}
	}
	if s.Ops == nil {
		s.Ops = map[string]*computeOpRec{}
	}
	if s.Clusters == nil {
		s.Clusters = map[string]*clusterRec{}
	}
	if s.GKEOps == nil {
		s.GKEOps = map[string]*gkeOpRec{}
	}
	if s.Policies == nil {
		s.Policies = map[string]msg[*iampb.Policy]{}
	}
}

// timing is a Compute resource's life, computed from the clock: it appears
// when its insert operation is DONE (ReadyAt) and disappears when its delete
// operation is DONE (DeleteAt). A failed insert never appears; a failed
// delete leaves it in place.
type timing struct {
	ReadyAt    time.Time `json:"readyAt"`
	CreateFail bool      `json:"createFail,omitempty"`
	DeleteAt   time.Time `json:"deleteAt,omitzero"`
	DeleteFail bool      `json:"deleteFail,omitempty"`
}

// state is "" once the resource is gone, else CREATING, READY or DELETING.
func (t timing) state(now time.Time) string {
	switch {
	case now.Before(t.ReadyAt):
		return "CREATING"
	case t.CreateFail:
		return ""
	case t.DeleteAt.IsZero():
		return "READY"
	case now.Before(t.DeleteAt):
		return "DELETING"
	case t.DeleteFail:
		return "READY"
	}
	return ""
}

// present: the name is taken (creating, ready or deleting).
func (t timing) present(now time.Time) bool { return t.state(now) != "" }

// visible: Get and List return it.
func (t timing) visible(now time.Time) bool {
	s := t.state(now)
	return s == "READY" || s == "DELETING"
}

type netRec struct {
	Project string                  `json:"project"`
	V       msg[*computepb.Network] `json:"network"`
	T       timing                  `json:"timing"`
}

type subnetRec struct {
	Project string                     `json:"project"`
	Region  string                     `json:"region"`
	Network string                     `json:"networkName"`
	V       msg[*computepb.Subnetwork] `json:"subnetwork"`
	T       timing                     `json:"timing"`
}

type routerRec struct {
	Project string                 `json:"project"`
	Region  string                 `json:"region"`
	Network string                 `json:"networkName"`
	V       msg[*computepb.Router] `json:"router"`
	T       timing                 `json:"timing"`
}

type addrRec struct {
	Project string                  `json:"project"`
	Region  string                  `json:"region"`
	V       msg[*computepb.Address] `json:"address"`
	T       timing                  `json:"timing"`
}

// computeOpRec is a Compute operation; its status is computed from DoneAt.
type computeOpRec struct {
	Project string                    `json:"project"`
	Region  string                    `json:"region,omitempty"` // "" for global
	V       msg[*computepb.Operation] `json:"operation"`
	DoneAt  time.Time                 `json:"doneAt"`
	Fail    bool                      `json:"fail,omitempty"`
}

type clusterRec struct {
	Project  string `json:"project"`
	Location string `json:"location"`
	// C is the cluster without its node pools.
	C     msg[*containerpb.Cluster] `json:"cluster"`
	Pools []*poolRec                `json:"nodePools"`
	// KubeEndpoint (host:port) and KubeCA (PEM) are where the cluster's
	// real API server listens, recorded at create and published when the
	// cluster is RUNNING; KubeErr is why it has none.
	KubeEndpoint string `json:"kubeEndpoint,omitempty"`
	KubeCA       string `json:"kubeCA,omitempty"`
	KubeErr      string `json:"kubeErr,omitempty"`
	// EndpointIP is the loopback address whose port 443 fronts the API
	// server (the cluster's published endpoint), and Front the CA that
	// signs it; both empty when the front could not be served.
	EndpointIP string   `json:"endpointIP,omitempty"`
	Front      *frontCA `json:"endpointCA,omitempty"`
}

type poolRec struct {
	P msg[*containerpb.NodePool] `json:"nodePool"`
	// Sizes is the node count per zone (the managed instance groups'
	// target sizes).
	Sizes map[string]int32 `json:"sizes"`
	// Gen counts the pool's node replacements: each upgrade's surge
	// creates new instances (new names).
	Gen int `json:"gen,omitempty"`
}

// gkeOpRec is a GKE operation. Its effect is applied once, by settle, when
// the clock passes DoneAt.
type gkeOpRec struct {
	Project  string                      `json:"project"`
	Location string                      `json:"location"`
	V        msg[*containerpb.Operation] `json:"operation"`
	Cluster  string                      `json:"cluster"` // cluster key
	Pool     string                      `json:"nodePool,omitempty"`
	StartAt  time.Time                   `json:"startAt"`
	DoneAt   time.Time                   `json:"doneAt"`
	Fail     bool                        `json:"fail,omitempty"`
	Applied  bool                        `json:"applied,omitempty"`
	// ErrMessage is why the operation failed, when it failed for a reason
	// other than an injected fault (a cluster whose API server did not
	// start).
	ErrMessage string `json:"errMessage,omitempty"`
	// TargetCluster / TargetPool / TargetSizes are what an update makes of
	// the cluster or pool when it succeeds.
	TargetCluster msg[*containerpb.Cluster]  `json:"targetCluster,omitzero"`
	TargetPool    msg[*containerpb.NodePool] `json:"targetNodePool,omitzero"`
	TargetSizes   map[string]int32           `json:"targetSizes,omitempty"`
	// Roll is a node upgrade's surge replacement of the pool's nodes, in
	// progress (UPGRADE_NODES that changes the version).
	Roll *emu.Roll `json:"roll,omitempty"`
}
