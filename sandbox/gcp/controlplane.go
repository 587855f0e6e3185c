package gcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// ControlPlane starts and stops the Kubernetes API server behind an
// emulated GKE cluster. The default gives each cluster a made-up public IP
// and a self-signed CA and serves nothing; a real kube-apiserver can be
// plugged in with SetControlPlane.
type ControlPlane interface {
	// Start is called once, under the emulator's lock, when a cluster
	// becomes RUNNING. It returns the endpoint (IP or host[:port], as
	// Cluster.Endpoint holds it) and the cluster CA certificate in PEM. An
	// error leaves the cluster in ERROR with the error as its message.
	Start(c *containerpb.Cluster) (endpoint string, caPEM []byte, err error)
	// Stop is called when the cluster is deleted.
	Stop(c *containerpb.Cluster) error
}

// clusterRunning is the one place a cluster becomes RUNNING: it starts the
// control plane and records its endpoint and CA.
func (e *Emulator) clusterRunning(c *clusterRec) error {
	endpoint, ca, err := e.cp.Start(c.C.V)
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	cl := c.C.V
	cl.Endpoint = endpoint
	cl.MasterAuth = &containerpb.MasterAuth{ClusterCaCertificate: base64.StdEncoding.EncodeToString(ca)}
	if pc := cl.GetPrivateClusterConfig(); pc != nil {
		pc.PublicEndpoint = endpoint
		if b, err := netip.ParsePrefix(pc.GetMasterIpv4CidrBlock()); err == nil {
			pc.PrivateEndpoint = b.Addr().Next().Next().String()
			if pc.GetEnablePrivateEndpoint() {
				cl.Endpoint = pc.PrivateEndpoint
			}
		}
	}
	return nil
}

// clusterDeleted is the one place a cluster goes away: it stops the
// control plane.
func (e *Emulator) clusterDeleted(c *clusterRec) {
	_ = e.cp.Stop(c.C.V) // nothing serves behind the default control plane; a real one logs its own errors
}

type fakeControlPlane struct{}

func (fakeControlPlane) Start(c *containerpb.Cluster) (string, []byte, error) {
	h := fnv.New32a()
	h.Write([]byte(c.GetSelfLink()))
	n := h.Sum32()
	ip := netip.AddrFrom4([4]byte{35, byte(180 + n%20), byte(n >> 8), byte(n>>16%250 + 2)})
	ca, err := selfSignedCA(c.GetName())
	if err != nil {
		return "", nil, err
	}
	return ip.String(), ca, nil
}

func (fakeControlPlane) Stop(*containerpb.Cluster) error { return nil }

// selfSignedCA makes a CA certificate PEM like the one GKE returns.
func selfSignedCA(name string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name + "-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func fnvHex(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// getIGM serves instanceGroupManagers.get for the groups behind node
// pools: targetSize is the pool's node count in that zone.
func (e *Emulator) getIGM(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	for _, c := range e.st.Clusters {
		if c.Project != rt.project {
			continue
		}
		for _, p := range c.Pools {
			for z, n := range p.Sizes {
				name := migName(c.C.V.GetName(), p.P.V.GetName(), z)
				if z != rt.loc || name != rt.name {
					continue
				}
				zonePath := "projects/" + rt.project + "/zones/" + z
				return &computepb.InstanceGroupManager{
					Kind:              proto.String("compute#instanceGroupManager"),
					Id:                proto.Uint64(uint64(fnvSum(name))),
					Name:              proto.String(name),
					Zone:              proto.String(computeBase + zonePath),
					BaseInstanceName:  proto.String(name[:len(name)-len("-grp")]),
					InstanceGroup:     proto.String(computeBase + zonePath + "/instanceGroups/" + name),
					SelfLink:          proto.String(computeBase + zonePath + "/instanceGroupManagers/" + name),
					TargetSize:        proto.Int32(n),
					CreationTimestamp: proto.String(c.C.V.GetCreateTime()),
					Status:            &computepb.InstanceGroupManagerStatus{IsStable: proto.Bool(p.P.V.GetStatus() == containerpb.NodePool_RUNNING)},
				}, nil, false
			}
		}
	}
	return nil, notFound("projects/" + rt.project + "/zones/" + rt.loc + "/instanceGroupManagers/" + rt.name), false
}

func fnvSum(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
