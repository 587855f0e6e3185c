// Package pki makes and reads the keys the emulators keep in their state
// (token-signing keys, CA keys) as PKCS #8 PEM text, so a key survives a
// sandbox restart.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// NewRSA makes a 2048-bit RSA key (for RS256 tokens) and its PEM.
func NewRSA() (*rsa.PrivateKey, string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", fmt.Errorf("generate an RSA key: %w", err)
	}
	p, err := Encode(k)
	return k, p, err
}

// NewECDSA makes a P-256 key (for certificates; fast to make) and its PEM.
func NewECDSA() (*ecdsa.PrivateKey, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate an ECDSA key: %w", err)
	}
	p, err := Encode(k)
	return k, p, err
}

// Encode is a private key as PKCS #8 PEM.
func Encode(k crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("encode the key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// Decode reads a PKCS #8 PEM private key.
func Decode(text string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(text))
	if b == nil {
		return nil, errors.New("the key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse the key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, not a signing key", k)
	}
	return s, nil
}
