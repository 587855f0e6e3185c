package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// sandboxCredentialsPath is where the Azure emulator serves its service
// principal's credentials and CA (sandbox/azure.CredentialsPath; the driver
// does not import the sandbox).
const sandboxCredentialsPath = "/_sandbox/azure/credentials.json"

// sandboxAuth is how the driver authenticates in sandbox mode, as against
// Azure: azidentity's ClientSecretCredential (what DefaultAzureCredential's
// environment credential builds from AZURE_TENANT_ID, AZURE_CLIENT_ID and
// AZURE_CLIENT_SECRET) for the sandbox's service principal, against the
// sandbox's token endpoint, over https trusting only the sandbox's CA. It
// never reads the user's credentials or environment, and reaches nothing
// but the sandbox's loopback address: the principal's secret and the CA
// come from the emulator itself (CredentialsPath, over loopback http), on
// the first call, so New makes no call.
//
// It is the transport of every ARM and token request (policy.Transporter)
// and the ARM clients' credential (azcore.TokenCredential).
type sandboxAuth struct {
	plain  string // http://127.0.0.1:PORT, where the credentials are read
	secure string // https://127.0.0.1:PORT, ARM and the token endpoint
	// retry and perRetry are the driver's, so a throttled token request
	// is retried as patiently as an ARM call.
	retry    policy.RetryOptions
	perRetry []policy.Policy

	mu     sync.Mutex
	client *http.Client
	cred   azcore.TokenCredential
}

var (
	_ policy.Transporter     = (*sandboxAuth)(nil)
	_ azcore.TokenCredential = (*sandboxAuth)(nil)
)

// newSandboxAuth checks that endpoint is the sandbox's loopback http URL.
func newSandboxAuth(endpoint string) (*sandboxAuth, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("azure: sandbox endpoint %q is not an http://127.0.0.1:PORT URL", endpoint)
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return nil, fmt.Errorf("azure: sandbox endpoint %q is not a loopback address; the sandbox serves only on 127.0.0.1", endpoint)
	}
	return &sandboxAuth{plain: "http://" + u.Host, secure: "https://" + u.Host}, nil
}

// sandboxPrincipal is the part of the emulator's credentials document
// (az ad sp create-for-rbac --sdk-auth's shape plus the CA) the driver uses.
type sandboxPrincipal struct {
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	TenantID      string `json:"tenantId"`
	CACertificate string `json:"caCertificate"`
}

// load reads the principal and CA once and builds the https client and the
// credential.
func (a *sandboxAuth) load(ctx context.Context) (*http.Client, azcore.TokenCredential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, a.cred, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.plain+sandboxCredentialsPath, nil)
	if err != nil {
		return nil, nil, err
	}
	plain := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := plain.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("azure: read the sandbox's service principal (is the sandbox running?): %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("azure: read the sandbox's service principal: %s %v", resp.Status, err)
	}
	var p sandboxPrincipal
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, fmt.Errorf("azure: decode the sandbox's service principal: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(p.CACertificate)) {
		return nil, nil, errors.New("azure: the sandbox's credentials carry no CA certificate")
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	client := &http.Client{Transport: tr}
	cred, err := azidentity.NewClientSecretCredential(p.TenantID, p.ClientID, p.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:            cloud.Configuration{ActiveDirectoryAuthorityHost: a.secure + "/"},
			Transport:        client,
			Retry:            a.retry,
			PerRetryPolicies: a.perRetry,
		},
		DisableInstanceDiscovery: true, // the sandbox is its own authority; never ask login.microsoftonline.com
	})
	if err != nil {
		return nil, nil, fmt.Errorf("azure: sandbox credential: %w", err)
	}
	a.client, a.cred = client, cred
	return client, cred, nil
}

// Do sends an ARM request over the sandbox's https endpoint.
func (a *sandboxAuth) Do(req *http.Request) (*http.Response, error) {
	client, _, err := a.load(req.Context())
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

// GetToken gets a token from the sandbox's token endpoint.
func (a *sandboxAuth) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	_, cred, err := a.load(ctx)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return cred.GetToken(ctx, opts)
}
