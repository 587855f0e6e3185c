package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// ClientCredential is how a Go program (a test, a tool) calls the
// emulator at endpoint (its plain http URL, Sandbox.Endpoints()["azure"])
// as the Azure SDK calls ARM: azidentity's ClientSecretCredential for the
// sandbox's service principal, read from CredentialsPath, against the
// sandbox's token endpoint over https, trusting only the sandbox's CA
// (client is that https client).
func ClientCredential(ctx context.Context, endpoint string) (cred azcore.TokenCredential, client *http.Client, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+CredentialsPath, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("read the sandbox's Azure credentials: %w", err)
	}
	defer resp.Body.Close()
	var p struct{ ClientID, ClientSecret, TenantID, ActiveDirectoryEndpointURL, CACertificate string }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("read the sandbox's Azure credentials: %s %v", resp.Status, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(p.CACertificate)) {
		return nil, nil, errors.New("the sandbox's Azure credentials hold no CA")
	}
	client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	cred, err = azidentity.NewClientSecretCredential(p.TenantID, p.ClientID, p.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: p.ActiveDirectoryEndpointURL}, Transport: client},
		DisableInstanceDiscovery: true,
	})
	return cred, client, err
}

// ClientOptions point an ARM client of the Azure SDK at the emulator's
// plain http endpoint.
func ClientOptions(endpoint string) *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: endpoint, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.azure.com"}}},
			InsecureAllowCredentialWithHTTP: true,
		},
		DisableRPRegistration: true,
	}
}
