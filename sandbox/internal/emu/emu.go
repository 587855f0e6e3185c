// Package emu holds the contract between the sandbox machinery and each
// cloud's emulator: what an emulator serves, what it reports, and the
// environment (clock, latencies) it runs in.
package emu

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/providers/budget"
)

// Object is one emulated cloud object.
type Object struct {
	Cloud  string `json:"cloud"`
	Type   string `json:"type"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Region string `json:"region,omitempty"`
	State  string `json:"state,omitempty"`
	// Account is the AWS account holding the object when it is not the
	// sandbox's own (a member account).
	Account string `json:"account,omitempty"`
}

// FaultKind is a fault the sandbox can inject.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers with the cloud's own throttling error.
	FaultThrottle FaultKind = "throttle"
	// FaultServerError answers with the cloud's own internal (500) error.
	FaultServerError FaultKind = "error"
	// FaultDrop closes the connection without answering, before the
	// operation runs.
	FaultDrop FaultKind = "drop"
	// FaultDropAfter runs the operation, persists it, then closes the
	// connection without answering (the reply is lost).
	FaultDropAfter FaultKind = "drop-after"
	// FaultFail lets the call succeed but makes the asynchronous operation
	// it starts end in the cloud's failed state.
	FaultFail FaultKind = "fail"
)

// Env is what the sandbox gives an emulator.
type Env struct {
	// Now is the emulated clock.
	Now func() time.Time
	// Latency is how long an asynchronous operation takes, by name
	// ("eks:CreateCluster").
	Latency func(op string) time.Duration
	// Account is the emulated account or project id.
	Account string
	// AWSAccounts are further AWS accounts besides Account, members of its
	// organization: each has the role OrganizationAccountAccessRole, which
	// Account's principals may assume.
	AWSAccounts []string
	// Projects are the Google Cloud projects that exist besides the
	// sandbox's default one.
	Projects []string
	// Region is the default region.
	Region string
	// Kube gives clusters a real Kubernetes API server; nil for none.
	Kube KubeHost
}

// Call is one request as the emulator sees it.
type Call struct {
	Op   string
	Body []byte
	// Fail asks the asynchronous operation this call starts to fail.
	Fail bool
	// Changed is set by a gRPC handler that changed state (HTTP handlers
	// report it from Serve instead).
	Changed bool
}

// Emulator is one cloud's API emulator.
type Emulator interface {
	// Cloud names the cloud ("aws").
	Cloud() string
	// Operation names the API operation a request calls ("eks:CreateCluster").
	Operation(r *http.Request, body []byte) string
	// Serve answers one call and reports whether it changed state.
	Serve(w http.ResponseWriter, r *http.Request, c Call) (changed bool)
	// WriteFault writes the cloud's own throttling or internal-error reply.
	WriteFault(w http.ResponseWriter, r *http.Request, op string, kind FaultKind)
	// Objects lists everything the emulator holds.
	Objects() []Object
	// Save serializes the state; Load restores it.
	Save() ([]byte, error)
	Load([]byte) error
}

// Closer is implemented by an emulator that holds listeners or goroutines
// of its own (GCP's cluster endpoints); the sandbox closes it when it stops.
type Closer interface {
	Close() error
}

// Endpointer is implemented by an emulator whose HTTP endpoint is not named
// after its cloud (GCP serves Compute on "gcp-compute"). Endpoint keys are
// what (*sandbox.Sandbox).Endpoints reports and Options.Addrs fixes.
type Endpointer interface {
	// EndpointKey names the emulator's HTTP endpoint.
	EndpointKey() string
}

// GRPCServer is implemented by an emulator that also serves gRPC services,
// on a second endpoint of its own (plain-text HTTP/2). The sandbox counts,
// faults and persists gRPC calls exactly as HTTP ones: the emulator's
// handlers read the Call with CallFrom and set Call.Changed when they
// change state.
type GRPCServer interface {
	// GRPCKey names the gRPC endpoint ("gcp-container"); Endpoints reports
	// it as a bare host:port.
	GRPCKey() string
	// RegisterGRPC registers the emulator's services on s.
	RegisterGRPC(s *grpc.Server)
	// GRPCOperation names the operation a gRPC method calls, from its full
	// method name ("/google.container.v1.ClusterManager/CreateCluster" →
	// "container:CreateCluster").
	GRPCOperation(fullMethod string) string
	// GRPCFault returns the cloud's own status error for an injected
	// throttle or internal error.
	GRPCFault(op string, kind FaultKind) error
}

// GRPCRESTServer is implemented by a GRPCServer whose gRPC endpoint also
// serves its services as REST JSON, as Google's front ends serve both
// transports on one host: the endpoint's non-gRPC requests go through
// Operation and Serve like the HTTP endpoint's (with EndpointFrom naming
// the gRPC key), and Endpoints reports the endpoint's base URL
// ("http://127.0.0.1:PORT") under GRPCRESTKey.
type GRPCRESTServer interface {
	GRPCRESTKey() string
}

type endpointKey struct{}

// WithEndpoint returns ctx naming the endpoint key a request came to.
func WithEndpoint(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, endpointKey{}, key)
}

// EndpointFrom names the endpoint key a request came to ("" if unknown).
func EndpointFrom(ctx context.Context) string {
	k, _ := ctx.Value(endpointKey{}).(string)
	return k
}

// TLSServer is implemented by an emulator whose endpoint also speaks https
// (Azure: MSAL refuses an http authority and the az CLI sends bearer
// tokens only over https). The sandbox serves https and plain http on the
// emulator's one port, telling them apart by a connection's first byte,
// and saves the emulator's state after calling TLSConfig (which may make a
// CA and keep it there).
type TLSServer interface {
	TLSConfig() (*tls.Config, error)
}

type callKey struct{}

// WithCall returns ctx carrying c, for a gRPC handler to read with CallFrom.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the Call ctx carries, or a fresh one (a direct call
// outside the sandbox, e.g. in a unit test).
func CallFrom(ctx context.Context) *Call {
	if c, ok := ctx.Value(callKey{}).(*Call); ok {
		return c
	}
	return &Call{}
}

// KubeUser is who a cluster's token webhook says a bearer token belongs to.
type KubeUser struct {
	Name   string
	UID    string
	Groups []string
}

// KubeAuthenticator verifies a bearer token sent to one cluster's API server
// (the credential the cloud's own tooling makes: an EKS presigned-STS token,
// a GKE access token, ...). It returns an error for a token it rejects; the
// error text is shown to no client, only logged.
type KubeAuthenticator func(token string) (KubeUser, error)

// KubeCluster says where a cluster's API server listens: its https endpoint
// and the PEM certificate of the CA that signed its serving certificate.
type KubeCluster struct {
	Endpoint string
	CAPEM    []byte
}

// KubeState is how far a cluster's API server has come.
type KubeState struct {
	// Ready is true once the API server answers /readyz.
	Ready bool
	// Err is why it could not start (it is not retried).
	Err error
	// NodesReady is true once the nodes of every SetNodePool call so far
	// are in the API server and Ready (and the nodes of removed pools
	// gone): a pool operation completes then, as a cloud's completes once
	// its instances joined the cluster.
	NodesReady bool
}

// KubeSpec is what one cluster's control plane serves, as the emulator
// derives it from the cluster the cloud reports.
type KubeSpec struct {
	// Auth verifies the bearer tokens clients send.
	Auth KubeAuthenticator
	// Bootstrap creates what the cloud puts in every new cluster; nil for
	// nothing.
	Bootstrap KubeBootstrap
	// Version is the cluster's Kubernetes minor ("1.33"). The API server
	// serves the nearest minor it can emulate (sandbox/kube says which);
	// empty means the binary's own.
	Version string
	// ServiceCIDR is the range Service cluster IPs come from (the
	// `kubernetes` Service gets its first address), as the cloud reports
	// it; empty means Kubernetes' own default, 10.96.0.0/12.
	ServiceCIDR string
	// PodCIDR is the range simulated pods get addresses from; empty means
	// 10.244.0.0/16.
	PodCIDR string
}

// KubeNode is one node of a node pool, as the cloud registers it: the
// sandbox creates a Node object that a simulated kubelet (kwok) keeps
// Ready and runs pods on.
type KubeNode struct {
	// Name is the node's name (EKS "ip-10-0-1-4.ec2.internal", GKE
	// "gke-c-pool-1a2b3c4d-x0ab", AKS "aks-pool-12345678-vmss000000").
	Name string
	// ProviderID is spec.providerID ("aws:///us-east-1a/i-0123...").
	ProviderID string
	// InternalIP is the node's address.
	InternalIP string
	// InstanceType, Region, Zone and Arch become the well-known labels the
	// kubelet and the cloud controller set (node.kubernetes.io/instance-type,
	// topology.kubernetes.io/region|zone, kubernetes.io/arch, with their
	// beta.kubernetes.io/* and failure-domain.beta.kubernetes.io/* twins);
	// Arch defaults to amd64.
	InstanceType, Region, Zone, Arch string
	// OS is linux (when empty) or windows: the kubernetes.io/os label and
	// status.nodeInfo.operatingSystem.
	OS string
	// Labels are the cloud's own labels and the user's pool labels.
	Labels map[string]string
	// Taints are the pool's taints.
	Taints []KubeTaint
	// KubeletVersion is what the node reports ("v1.33.5-eks-ba74326").
	KubeletVersion string
	// OSImage and ContainerRuntime go to status.nodeInfo.
	OSImage, ContainerRuntime string
	// CPU, Memory and Pods are the node's capacity ("2", "4Gi", "110");
	// empty ones take kwok's defaults.
	CPU, Memory, Pods string
}

// KubeTaint is a node taint; Effect is NoSchedule, PreferNoSchedule or
// NoExecute.
type KubeTaint struct {
	Key, Value, Effect string
}

// KubeHost gives emulated clusters real Kubernetes control planes (one
// kube-apiserver per cluster over one shared etcd, and once the cluster has
// nodes, kube-controller-manager, kube-scheduler and kwok; see sandbox/kube).
// An emulator with a nil KubeHost makes clusters without one.
//
// The hooks an emulator calls, with ids unique across clouds
// ("aws-us-east-1-demo"):
//   - Check at cluster create: refuse the create with Check's error
//     (it names scripts/kube-apiserver.sh) when it is not nil;
//   - Ensure at cluster create and after the emulator's state is loaded,
//     for every cluster that exists: it returns at once with the endpoint
//     and CA, the API server starts in the background; Ensure again with
//     another Version (an upgrade) restarts it serving that version;
//   - State when the cluster would become ACTIVE/RUNNING: stay in the
//     creating state until Ready, fail the cluster on Err;
//   - SetNodePool whenever a pool's nodes change (created, scaled,
//     relabelled, deleted: nil nodes) and after the state is loaded: the
//     Node objects follow in the background once the API server is ready,
//     and State's NodesReady says when they are there;
//   - Remove when the cluster is gone: stops its processes and deletes
//     its data.
type KubeHost interface {
	Check() error
	Ensure(id string, spec KubeSpec) (KubeCluster, error)
	State(id string) KubeState
	SetNodePool(id, pool string, nodes []KubeNode) error
	Remove(id string) error
}

// KubeBootstrap runs once, after a cluster's API server first becomes
// ready, to create what the cloud puts in every new cluster (EKS: the gp2
// StorageClass). It gets a client authenticated as the sandbox itself.
type KubeBootstrap func(ctx context.Context, cs kubernetes.Interface) error

// Metered is implemented by an emulator whose cloud meters requests with
// rate budgets: BudgetKey names the bucket a request draws from (the keys
// of package providers/budget), false for a request no budget meters (the
// sandbox's own documents, token endpoints). The sandbox enforces the
// buckets when asked to throttle like the clouds (Options.Throttle).
type Metered interface {
	BudgetKey(r *http.Request, op string) (budget.Key, bool)
}

// GRPCMetered is Metered for an emulator's gRPC calls.
type GRPCMetered interface {
	GRPCBudgetKey(op string, req any) (budget.Key, bool)
}
