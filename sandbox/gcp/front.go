package gcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// A GKE cluster's endpoint is a bare IP address, its API server on port
// 443 there (gcloud writes server: https://ENDPOINT in a kubeconfig). The
// sandbox gives each cluster with a real API server its own loopback
// address 127.A.B.C and serves https on port 443 of it: a front that
// terminates TLS with a certificate for that address, signed by the
// cluster's CA (masterAuth.clusterCaCertificate), and forwards every
// request — bearer tokens, watches, upgrades for exec and port-forward —
// to the cluster's kube-apiserver on 127.0.0.1:PORT. Port 443 needs root
// (or CAP_NET_BIND_SERVICE); where it cannot be bound the endpoint is the
// API server's own 127.0.0.1:PORT and its CA, as before.

// endpointFront is one cluster's front.
type endpointFront struct {
	srv      *http.Server
	upstream *http.Transport
}

func (f *endpointFront) close() {
	_ = f.srv.Close() // closes the listener and the clients' connections
	f.upstream.CloseIdleConnections()
}

// frontPort is GKE's API server port.
const frontPort = "443"

// startFront serves c's endpoint (a bare loopback IP) in front of its
// API server and returns the endpoint and the CA that signs it. Call it
// under e.mu.
func (e *Emulator) startFront(c *clusterRec) (endpoint string, caPEM []byte, err error) {
	if c.Front == nil {
		ca, err := newFrontCA(c.C.V.GetName())
		if err != nil {
			return "", nil, err
		}
		c.Front = ca
	}
	ca, err := c.Front.parse()
	if err != nil {
		return "", nil, err
	}
	upstream, err := url.Parse("https://" + c.KubeEndpoint)
	if err != nil {
		return "", nil, fmt.Errorf("API server endpoint %q: %w", c.KubeEndpoint, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(c.KubeCA)) {
		return "", nil, errors.New("the API server's CA is not PEM")
	}
	// Keep the address a cluster had (its kubeconfigs name it); a new
	// cluster tries a few random ones.
	var ln net.Listener
	for try := 0; ln == nil; try++ {
		ip := c.EndpointIP
		if ip == "" {
			ip = randomLoopback()
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, frontPort))
		switch {
		case err == nil:
			ln, c.EndpointIP = l, ip
		case errors.Is(err, syscall.EADDRINUSE) && c.EndpointIP == "" && try < 5:
			continue
		default:
			return "", nil, fmt.Errorf("serve the cluster endpoint on %s:%s: %w", ip, frontPort, err)
		}
	}
	leaf, err := ca.leaf(c.EndpointIP)
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: upstream.Hostname(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Host = upstream.Host
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream
	}
	srv := &http.Server{
		Handler:           proxy,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }() // returns http.ErrServerClosed on close
	if e.fronts == nil {
		e.fronts = map[string]*endpointFront{}
	}
	if old := e.fronts[kubeID(c)]; old != nil {
		old.close()
	}
	e.fronts[kubeID(c)] = &endpointFront{srv: srv, upstream: tr}
	return c.EndpointIP, []byte(c.Front.CertPEM), nil
}

// stopFront stops c's front, if it has one. Call it under e.mu.
func (e *Emulator) stopFront(c *clusterRec) {
	if f := e.fronts[kubeID(c)]; f != nil {
		f.close()
		delete(e.fronts, kubeID(c))
	}
}

// Close stops the clusters' endpoint fronts (the sandbox calls it when it
// stops; the API servers behind them are the KubeHost's).
func (e *Emulator) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, f := range e.fronts {
		f.close()
		delete(e.fronts, id)
	}
	return nil
}

// randomLoopback is an address in 127.0.0.0/8 other than 127.0.0.x.
func randomLoopback() string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return netip.AddrFrom4([4]byte{127, b[0]%254 + 1, b[1], b[2]%253 + 2}).String()
}

// frontCA is the CA of a cluster's endpoint, kept with the cluster.
type frontCA struct {
	CertPEM string `json:"certPem"`
	KeyPEM  string `json:"keyPem"`
}

type parsedCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newFrontCA(name string) (*frontCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name + "-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &frontCA{
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
	}, nil
}

func (f *frontCA) parse() (*parsedCA, error) {
	cb, _ := pem.Decode([]byte(f.CertPEM))
	kb, _ := pem.Decode([]byte(f.KeyPEM))
	if cb == nil || kb == nil {
		return nil, errors.New("cluster endpoint CA is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return &parsedCA{cert: cert, key: key}, nil
}

// leaf is a serving certificate for ip.
func (ca *parsedCA) leaf(ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: ip},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n
}
