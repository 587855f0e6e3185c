package azure

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// kubePoll is the Retry-After-Ms of a cluster operation whose time has
// passed but whose API server is not ready yet (it takes ~20 s to start).
const kubePoll = 200 * time.Millisecond

// kubeAPIServerFailed is the error code of a cluster operation that ended
// Failed because the cluster's API server could not start.
const kubeAPIServerFailed = "KubernetesAPIServerFailed"

// kubeID names a cluster's API server in sandbox/kube:
// "azure-<resource group>-<name>", lower-cased; a cluster in another
// subscription than DefaultSubscription, or whose names need cleaning,
// gets a hash of its ARM id appended so ids stay unique.
func kubeID(c *clusterRec) string {
	id := deref(c.V.ID)
	parts := strings.Split(id, "/")
	// "", subscriptions, S, resourcegroups, RG, providers, NS, managedClusters, NAME
	if len(parts) < 9 {
		return "azure-" + hash8(id)
	}
	sub, rg, name := parts[2], strings.ToLower(parts[4]), strings.ToLower(parts[8])
	raw := "azure-" + rg + "-" + name
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, raw)
	if clean != raw || !strings.EqualFold(sub, DefaultSubscription) || len(clean) > 100 {
		clean = trunc(clean, 100) + "-" + hash8(id)
	}
	return clean
}

// newToken is a static cluster credential, as AKS puts in the kubeconfig of
// a cluster with local accounts: 64 hex digits.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ensureTokens gives a cluster its user and admin credentials (once; they
// are kept in the emulator's state, as AKS keeps them).
func ensureTokens(c *clusterRec) {
	if c.UserToken == "" {
		c.UserToken = newToken()
	}
	if c.AdminToken == "" {
		c.AdminToken = newToken()
	}
}

// startKube starts (or finds) the cluster's API server and records its
// endpoint and CA, which ListClusterUserCredentials hands out. Without the
// binaries it records why, and the cluster's operation ends Failed with
// that message (it names scripts/kube-apiserver.sh).
func (e *Emulator) startKube(c *clusterRec) {
	ensureTokens(c)
	if err := e.env.Kube.Check(); err != nil {
		c.KubeErr = err.Error()
		return
	}
	info, err := e.env.Kube.Ensure(kubeID(c), aksAuthenticator(c.UserToken, c.AdminToken), aksBootstrap)
	if err != nil {
		c.KubeErr = err.Error()
		return
	}
	c.KubeErr = ""
	c.KubeServer, c.KubeCA = info.Endpoint, info.CAPEM
}

// retryKube is startKube for a PUT of a cluster whose API server failed:
// the failed one is removed and a new one started.
func (e *Emulator) retryKube(c *clusterRec) {
	if e.env.Kube == nil || c.KubeErr == "" {
		return
	}
	_ = e.env.Kube.Remove(kubeID(c)) // best effort: Ensure starts afresh either way
	e.startKube(c)
}

// restartKube restarts the API servers of the clusters a loaded state holds.
func (e *Emulator) restartKube() {
	if e.env.Kube == nil {
		return
	}
	for _, c := range e.st.Clusters {
		if deref(c.V.Properties.ProvisioningState) == stDeleting {
			continue
		}
		e.startKube(c)
	}
}

// removeKube stops a deleted cluster's API server and deletes its data.
func (e *Emulator) removeKube(c *clusterRec) {
	if e.env.Kube != nil {
		_ = e.env.Kube.Remove(kubeID(c)) // best effort: a leftover directory is removed by the next Remove
	}
}

// kubeGate tells settle whether a cluster operation whose time has come
// must wait for the cluster's API server (wait), or fail because it could
// not start (msg). Succeeded means the API server answers.
func (e *Emulator) kubeGate(o *opRec) (wait bool, msg string) {
	if e.env.Kube == nil || o.Kind != kindCluster || o.Delete || o.Fail || o.Status != opInProgress {
		return false, ""
	}
	c, ok := e.st.Clusters[o.Target]
	if !ok {
		return false, ""
	}
	if c.KubeErr == "" {
		st := e.env.Kube.State(kubeID(c))
		if st.Err == nil {
			return !st.Ready, ""
		}
		c.KubeErr = st.Err.Error()
	}
	return false, "The cluster's Kubernetes API server did not start: " + c.KubeErr
}

// aksAuthenticator accepts the cluster's own static credentials, the ones
// ListClusterUserCredentials and ListClusterAdminCredentials return, as
// an AKS cluster with local accounts does; both are cluster admins
// (system:masters).
func aksAuthenticator(userToken, adminToken string) emu.KubeAuthenticator {
	return func(token string) (emu.KubeUser, error) {
		switch {
		case userToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(userToken)) == 1:
			return emu.KubeUser{Name: "clusterUser", UID: "clusterUser", Groups: []string{"system:masters"}}, nil
		case adminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(adminToken)) == 1:
			return emu.KubeUser{Name: "clusterAdmin", UID: "clusterAdmin", Groups: []string{"system:masters"}}, nil
		}
		return emu.KubeUser{}, errors.New("not a credential of this AKS cluster")
	}
}

// aksBootstrap creates the StorageClasses AKS puts in every new cluster:
// the Azure Disk classes "default" (marked default), "managed-csi" and
// "managed-csi-premium", and the Azure Files classes "azurefile-csi" and
// "azurefile-csi-premium".
func aksBootstrap(ctx context.Context, cs kubernetes.Interface) error {
	del := corev1.PersistentVolumeReclaimDelete
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	immediate := storagev1.VolumeBindingImmediate
	yes := true
	labels := map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists", "kubernetes.io/cluster-service": "true"}
	classes := []storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: labels, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
			Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuname": "StandardSSD_LRS"}, VolumeBindingMode: &wait},
		{ObjectMeta: metav1.ObjectMeta{Name: "managed-csi", Labels: labels},
			Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuname": "StandardSSD_LRS"}, VolumeBindingMode: &wait},
		{ObjectMeta: metav1.ObjectMeta{Name: "managed-csi-premium", Labels: labels},
			Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuname": "Premium_LRS"}, VolumeBindingMode: &wait},
		{ObjectMeta: metav1.ObjectMeta{Name: "azurefile-csi", Labels: labels},
			Provisioner: "file.csi.azure.com", Parameters: map[string]string{"skuName": "Standard_LRS"}, VolumeBindingMode: &immediate},
		{ObjectMeta: metav1.ObjectMeta{Name: "azurefile-csi-premium", Labels: labels},
			Provisioner: "file.csi.azure.com", Parameters: map[string]string{"skuName": "Premium_LRS"}, VolumeBindingMode: &immediate},
	}
	for i := range classes {
		sc := &classes[i]
		sc.ReclaimPolicy, sc.AllowVolumeExpansion = &del, &yes
		if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{FieldManager: "aks"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
