package azure

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/regionctl/regionctl/sandbox/internal/pki"
)

// ARM and Microsoft Entra ID are served over https, as the clients require:
// MSAL (and so azidentity and the az CLI) refuses an authority that is not
// https, and az sends bearer tokens only over https. The sandbox serves the
// emulator's one port in both schemes (the sandbox tells them apart by the
// first byte of a connection), https with a certificate for 127.0.0.1, ::1
// and localhost signed by the sandbox's own CA. The CA is made once and kept
// in the state, so a client that trusts it (REQUESTS_CA_BUNDLE, the
// driver's transport) keeps working across restarts; CAPath serves it.

// caRec is the sandbox's certificate authority, PEM encoded.
type caRec struct {
	CertPEM string `json:"certPem"`
	KeyPEM  string `json:"keyPem"`
}

const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
)

// ensureCA makes the CA on first use and reports whether it did. Call it
// under e.mu.
func (e *Emulator) ensureCA() (*caRec, bool, error) {
	if ca := e.st.CA; ca != nil {
		return ca, false, nil
	}
	key, keyPEM, err := pki.NewECDSA()
	if err != nil {
		return nil, false, fmt.Errorf("the sandbox CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "regionctl sandbox Azure CA", Organization: []string{"regionctl sandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, false, fmt.Errorf("sign the sandbox CA: %w", err)
	}
	e.st.CA = &caRec{
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  keyPEM,
	}
	return e.st.CA, true, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n
}

// TLSConfig is the https side of the emulator's endpoint: a serving
// certificate for the loopback addresses, signed by the sandbox's CA (made
// and kept in the state on first use; the sandbox saves the state after
// calling this).
func (e *Emulator) TLSConfig() (*tls.Config, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ca, _, err := e.ensureCA()
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode([]byte(ca.CertPEM))
	if cb == nil {
		return nil, errors.New("azure: the sandbox CA in the state is not PEM")
	}
	caCert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("azure: parse the sandbox CA: %w", err)
	}
	caKey, err := pki.Decode(ca.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("azure: the sandbox CA key: %w", err)
	}
	key, _, err := pki.NewECDSA()
	if err != nil {
		return nil, fmt.Errorf("azure: the serving key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("azure: sign the serving certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, caCert.Raw}, PrivateKey: key}},
	}, nil
}
