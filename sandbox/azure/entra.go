package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Microsoft Entra ID sign-in to a cluster with AKS-managed Entra
// integration, as AKS does it: the cluster user's kubeconfig runs
// kubelogin, which gets an Entra ID access token for the AKS server
// application; the API server accepts the tenant's tokens for it. With
// Azure RBAC for Kubernetes authorization, what the caller may do comes
// from its role assignments at the cluster's scope or above (AKS's
// authorization webhook): AKS RBAC Cluster Admin is cluster-admin, AKS
// RBAC Reader the view role (a ClusterRoleBinding of readerGroup, made in
// every cluster). The sandbox knows no group memberships: an assignment
// counts for the principal it names. Without Azure RBAC the caller gets
// Kubernetes RBAC alone (nothing is bound to it).

// AKSServerAppID is the application whose tokens an AKS cluster with
// Entra ID integration accepts (kubelogin's --server-id).
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// kubeloginClientID is the Azure CLI's application, which the kubeconfig
// AKS hands out names as kubelogin's client.
const kubeloginClientID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

// readerGroup is the Kubernetes group of AKS RBAC Reader assignees.
const readerGroup = "aks:azure-rbac-reader"

// entraManaged reports whether c has AKS-managed Entra ID integration.
func entraManaged(c *clusterRec) bool {
	a := c.V.Properties.AADProfile
	return a != nil && deref(a.Managed)
}

// entraKubeUser maps an Entra ID access token sent to cluster ck's API
// server to the Kubernetes user AKS makes of it.
func (e *Emulator) entraKubeUser(ck, token string) (emu.KubeUser, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.st.Clusters[ck]
	if !ok {
		return emu.KubeUser{}, errors.New("the cluster is gone")
	}
	if !entraManaged(c) {
		return emu.KubeUser{}, errors.New("the cluster has no Microsoft Entra ID integration: use its kubeconfig's token")
	}
	cl, code, msg := e.checkToken(token)
	switch {
	case code != "":
		return emu.KubeUser{}, fmt.Errorf("%s: %s", code, msg)
	case cl.Aud != AKSServerAppID:
		return emu.KubeUser{}, fmt.Errorf("the token is for %s, not the AKS server application %s", cl.Aud, AKSServerAppID)
	case cl.OID == "":
		return emu.KubeUser{}, errors.New("the token names no object (oid)")
	}
	u := emu.KubeUser{Name: cl.OID, UID: cl.OID}
	if deref(c.V.Properties.AADProfile.EnableAzureRBAC) {
		u.Groups = e.azureRBACGroups(deref(c.V.ID), cl.OID)
	}
	return u, nil
}

// azureRBACGroups are the Kubernetes groups the AKS roles of principal at
// the cluster's scope or above stand for. Call it under e.mu.
func (e *Emulator) azureRBACGroups(clusterID, principal string) []string {
	scope := strings.ToLower(clusterID)
	var admin, reader bool
	for _, a := range e.st.Assignments {
		p := a.V.Properties
		as := strings.ToLower(deref(p.Scope))
		if !strings.EqualFold(deref(p.PrincipalID), principal) || as != scope && !strings.HasPrefix(scope, as+"/") {
			continue
		}
		switch lastSeg(deref(p.RoleDefinitionID)) {
		case "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": // AKS RBAC Cluster Admin
			admin = true
		case "7f6c6a51-bcf8-42ba-9220-52d62157d7db": // AKS RBAC Reader
			reader = true
		}
	}
	switch {
	case admin:
		return []string{"system:masters"}
	case reader:
		return []string{readerGroup}
	}
	return nil
}

// bindReaderGroup binds readerGroup to the view ClusterRole.
func bindReaderGroup(ctx context.Context, cs kubernetes.Interface) error {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "aks-azure-rbac-reader", Labels: map[string]string{"kubernetes.azure.com/managedby": "aks"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: readerGroup}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{FieldManager: "aks"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// kubeloginUser is the kubeconfig user AKS hands out for a cluster with
// Entra ID integration: kubelogin, for the AKS server application.
func kubeloginUser() string {
	return fmt.Sprintf(`    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, %s, --client-id, %s, --tenant-id, %s, --login, devicecode]
      provideClusterInfo: false
      installHint: |
        kubelogin is not installed which is required to connect to AAD enabled cluster.
`, AKSServerAppID, kubeloginClientID, TenantID)
}
