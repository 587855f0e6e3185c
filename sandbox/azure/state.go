package azure

import (
	"github.com/regionctl/regionctl/sandbox/internal/emu"

	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// state is everything the emulator holds; it is persisted as JSON. Objects
// are kept as the SDK's own model types (which marshal to ARM's wire
// shapes), so what is stored is what is replied. Every map is keyed by the
// lower-cased resource id, as ARM matches ids case-insensitively.
type state struct {
	Groups   map[string]*groupRec   `json:"resourceGroups"`
	Clusters map[string]*clusterRec `json:"managedClusters"`
	Pools    map[string]*poolRec    `json:"agentPools"`
	VNets    map[string]*vnetRec    `json:"virtualNetworks"`
	Subnets  map[string]*subnetRec  `json:"subnets"`
	PIPs     map[string]*pipRec     `json:"publicIPAddresses"`
	NATs     map[string]*natRec     `json:"natGateways"`
	// Assignments are the role assignments (authorization.go).
	Assignments map[string]*assignmentRec `json:"roleAssignments"`
	Ops         map[string]*opRec         `json:"operations"`
	// Identity is the sandbox tenant's service principal and token key;
	// CA signs the https endpoint's certificate. Both are made on first
	// use and kept, so credentials and trust survive a restart.
	Identity *identityRec `json:"identity,omitempty"`
	CA       *caRec       `json:"ca,omitempty"`
}

type groupRec struct {
	V armresources.ResourceGroup `json:"v"`
	// Cluster is set on an AKS node resource group: the cluster's key.
	Cluster string `json:"cluster,omitempty"`
}

type clusterRec struct {
	V     armcontainerservice.ManagedCluster `json:"v"`
	Group string                             `json:"group"`
	// KubeServer and KubeCA are the URL and CA (PEM) of the real API
	// server behind the cluster (sandbox/kube); empty without Kubernetes.
	KubeServer string `json:"kubeServer,omitempty"`
	KubeCA     []byte `json:"kubeCA,omitempty"`
	// KubeErr is why the cluster's API server could not start.
	KubeErr string `json:"kubeErr,omitempty"`
	// UserToken and AdminToken are the cluster's static credentials, the
	// tokens in the kubeconfigs ListClusterUserCredentials and
	// ListClusterAdminCredentials return; the API server's token webhook
	// accepts them.
	UserToken  string `json:"userToken,omitempty"`
	AdminToken string `json:"adminToken,omitempty"`
}

type poolRec struct {
	V       armcontainerservice.AgentPool `json:"v"`
	Cluster string                        `json:"cluster"`
	// Gen counts the pool's node replacements: each upgrade's surge
	// instances are new VMs of the scale set (new instance ids).
	Gen int `json:"gen,omitempty"`
	// Roll is an upgrade's surge replacement of the pool's nodes, in
	// progress, and RollVersion the version its new nodes run.
	Roll        *emu.Roll `json:"roll,omitempty"`
	RollVersion string    `json:"rollVersion,omitempty"`
}

type vnetRec struct {
	V     armnetwork.VirtualNetwork `json:"v"`
	Group string                    `json:"group"`
}

type subnetRec struct {
	V    armnetwork.Subnet `json:"v"`
	VNet string            `json:"vnet"`
}

type pipRec struct {
	V     armnetwork.PublicIPAddress `json:"v"`
	Group string                     `json:"group"`
}

type natRec struct {
	V     armnetwork.NatGateway `json:"v"`
	Group string                `json:"group"`
}

// opRec is one asynchronous operation, polled through its
// Azure-AsyncOperation or Location URL. It completes when the emulated clock
// reaches DoneAt.
type opRec struct {
	ID     string    `json:"id"`
	Op     string    `json:"op"`     // "azure:managedClusters.createOrUpdate"
	Kind   string    `json:"kind"`   // resource kind, as in kinds
	Target string    `json:"target"` // key of the resource
	Delete bool      `json:"delete,omitempty"`
	Fail   bool      `json:"fail,omitempty"`
	Start  time.Time `json:"start"`
	DoneAt time.Time `json:"doneAt"`
	// Status is InProgress, Succeeded or Failed.
	Status  string    `json:"status"`
	End     time.Time `json:"end,omitzero"`
	ErrCode string    `json:"errCode,omitempty"`
	ErrMsg  string    `json:"errMsg,omitempty"`
	// Version is the Kubernetes version a cluster or pool reaches when the
	// operation succeeds.
	Version string `json:"version,omitempty"`
}

func newState() *state {
	s := &state{}
	s.fill()
	return s
}

// fill makes every map non-nil (after decoding an older or empty file).
func (s *state) fill() {
	if s.Groups == nil {
		s.Groups = map[string]*groupRec{}
	}
	if s.Clusters == nil {
		s.Clusters = map[string]*clusterRec{}
	}
	if s.Pools == nil {
		s.Pools = map[string]*poolRec{}
	}
	if s.VNets == nil {
		s.VNets = map[string]*vnetRec{}
	}
	if s.Subnets == nil {
		s.Subnets = map[string]*subnetRec{}
	}
	if s.PIPs == nil {
		s.PIPs = map[string]*pipRec{}
	}
	if s.NATs == nil {
		s.NATs = map[string]*natRec{}
	}
	if s.Assignments == nil {
		s.Assignments = map[string]*assignmentRec{}
	}
	if s.Ops == nil {
		s.Ops = map[string]*opRec{}
	}
}
