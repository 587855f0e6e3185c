package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a certificate and its private key, both PEM.
type keyPair struct {
	cert, key []byte
	parsed    *x509.Certificate
	priv      *ecdsa.PrivateKey
}

// newCA makes a self-signed CA valid for ten years.
func newCA(cn string) (*keyPair, error) {
	return newCert(cn, nil, true, nil)
}

// newCert makes a certificate signed by ca (self-signed when ca is nil),
// for a CA or a TLS server with the given loopback SANs.
func newCert(cn string, ca *keyPair, isCA bool, hosts []string) (*keyPair, error) {
	return issue(pkix.Name{CommonName: cn, Organization: []string{"regionctl sandbox"}}, ca, isCA, hosts, false)
}

// newClientCert makes a client certificate signed by ca for user cn in
// groups: how the control plane's own components (kube-scheduler,
// kube-controller-manager, kwok) authenticate to the API server, whose
// --client-ca-file is ca.
func newClientCert(cn string, groups []string, ca *keyPair) (*keyPair, error) {
	return issue(pkix.Name{CommonName: cn, Organization: groups}, ca, false, nil, true)
}

func issue(subject pkix.Name, ca *keyPair, isCA bool, hosts []string, client bool) (*keyPair, error) {
	cn := subject.CommonName
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	parent, signer := tmpl, priv
	if ca != nil {
		parent, signer = ca.parsed, ca.priv
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &priv.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %s: %w", cn, err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %s: %w", cn, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return &keyPair{
		cert:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		parsed: parsed, priv: priv,
	}, nil
}

// loadKeyPair reads a certificate and key written by save.
func loadKeyPair(certPath, keyPath string) (*keyPair, error) {
	c, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	k, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(c)
	kb, _ := pem.Decode(k)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	parsed, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", certPath, err)
	}
	priv, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", keyPath, err)
	}
	return &keyPair{cert: c, key: k, parsed: parsed, priv: priv}, nil
}

// save writes the pair; the key is readable by the owner only.
func (p *keyPair) save(certPath, keyPath string) error {
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(certPath, p.cert, 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, p.key, 0o600)
}
