package key

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Certificate returns a self-signed TLS certificate over k. The
// certificate carries nothing but the key: peers verify the key itself,
// never names or chains.
func (k NodePrivate) Certificate() (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: k.Public().String()},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, k.k.Public(), k.k)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key: create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k.k}, nil
}

// PeerFromCerts returns the node key a TLS peer proved possession of. The
// handshake's CertificateVerify already proved the private key; this checks
// that there is exactly one self-signed ed25519 certificate and returns its
// key.
func PeerFromCerts(raw [][]byte) (NodePublic, error) {
	var p NodePublic
	if len(raw) != 1 {
		return p, fmt.Errorf("key: want 1 certificate, got %d", len(raw))
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return p, fmt.Errorf("key: parse certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return p, errors.New("key: certificate key is not ed25519")
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return p, fmt.Errorf("key: certificate not self-signed: %w", err)
	}
	copy(p[:], pub)
	return p, nil
}

// TLSConfig returns a TLS 1.3 config presenting k's certificate. Each side
// verifies the other's key with check: a dialer passes a check that
// compares against the key it meant to reach; a listener passes one that
// admits the keys it knows (or any, for join connections, whose admission
// is decided by the application protocol).
func (k NodePrivate) TLSConfig(alpn []string, check func(NodePublic) error) (*tls.Config, error) {
	cert, err := k.Certificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{cert},
		ClientAuth:         tls.RequireAnyClientCert,
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate: keys, not chains
		NextProtos:         alpn,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			peer, err := PeerFromCerts(raw)
			if err != nil {
				return err
			}
			if check != nil {
				return check(peer)
			}
			return nil
		},
	}, nil
}

// ExpectPeer returns a check that admits only want.
func ExpectPeer(want NodePublic) func(NodePublic) error {
	return func(got NodePublic) error {
		if got != want {
			return fmt.Errorf("key: peer is %s, want %s", got.ShortString(), want.ShortString())
		}
		return nil
	}
}
