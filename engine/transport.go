package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn"
)

// tlsConfigs are built once: the certificate is signed once per start.
type tlsConfigs struct {
	base   *tls.Config // client side, cloned per dial
	server *tls.Config
}

// QUIC liveness. An idle connection costs a keepalive PING and its ACK
// every keepAlivePeriod (quic-go pings when it has heard nothing for that
// long, so the two ends take turns), each a wake-up of the socket reader,
// the connection's loop and its send queue on both nodes: at 5 s, a node
// with 49 peers handled ~20 such packets a second. They no longer keep
// NAT mappings or path trust: magicconn's disco heartbeat does (every
// 4–20 s on a quiet path, faster under data). All they must do is keep
// the connection from its idle timeout, and quic-go caps the period at
// half of it so that a lost PING is retransmitted in time. idleTimeout
// is how long a peer that vanished (crashed, lost its network, lid
// closed) still shows online: 30 s (was 20 s); a restarted peer is
// noticed at once, by its stateless reset (reset.go). magicconn's
// quietSilence (20 s) must stay above keepAlivePeriod, or every quiet
// path would lose its calm between two keepalives.
const (
	keepAlivePeriod = 15 * time.Second
	idleTimeout     = 2 * keepAlivePeriod
)

// listen opens the UDP socket and the QUIC transport that serves every
// dial and accept.
func (e *Engine) listen() error {
	port := e.cfg.ListenPort
	switch port {
	case 0:
		port = DefaultPort
	case -1:
		port = 0
	}
	udp, err := e.listenUDP(port)
	if err != nil {
		return fmt.Errorf("engine: listen UDP: %w", err)
	}
	e.udp = udp
	base, err := e.nodeKey.TLSConfig([]string{alpnMesh}, nil)
	if err != nil {
		udp.Close()
		return err
	}
	mc, err := magicconn.New(magicconn.Config{
		Key:                e.nodeKey,
		PacketConn:         udp,
		Relays:             e.relayList(),
		RelayOptions:       e.relayOptions(),
		STUNServers:        e.stunServers(),
		Logger:             e.log,
		OnEndpointsChanged: e.onEndpointsChanged,
		OnBulk:             e.dp.ReceiveBulk,
	})
	if err != nil {
		udp.Close()
		return fmt.Errorf("engine: %w", err)
	}
	e.mu.Lock()
	e.mc = mc // OnEndpointsChanged may run already, and reads it under e.mu
	e.mu.Unlock()
	e.relays = e.mc.RelayStates
	srv := base.Clone()
	srv.NextProtos = []string{alpnMesh, alpnJoin}
	srv.VerifyPeerCertificate = nil
	srv.VerifyConnection = e.verifyIncoming
	srv.GetConfigForClient = e.screenClientHello
	e.meshTLS = &tlsConfigs{base: base, server: srv}
	e.quicConf = &quic.Config{
		EnableDatagrams:      true,
		InitialPacketSize:    initialPacketSize,
		KeepAlivePeriod:      keepAlivePeriod,
		MaxIdleTimeout:       idleTimeout,
		HandshakeIdleTimeout: 5 * time.Second,
		MaxIncomingStreams:   8,
	}
	e.tr = &quic.Transport{Conn: e.mc, StatelessResetKey: statelessResetKey(e.nodeKey)}
	ln, err := e.tr.Listen(srv, e.quicConf)
	if err != nil {
		e.mc.Close()
		return fmt.Errorf("engine: QUIC listen: %w", err)
	}
	e.ln = ln
	e.log.Info("listening", "addr", udp.LocalAddr().String(), "node", e.self.String())
	return nil
}

// ListenPort returns the UDP port in use.
func (e *Engine) ListenPort() int {
	if e.udp == nil {
		return 0
	}
	if a, ok := e.udp.LocalAddr().(*net.UDPAddr); ok {
		return a.Port
	}
	return 0
}

// verifyIncoming admits mesh connections only from members of a network
// we share, before any per-peer state exists. Join connections are open
// to anyone; the join protocol decides. It runs on every handshake and
// takes no engine lock: the member set is an atomic snapshot.
func (e *Engine) verifyIncoming(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) != 1 {
		return errors.New("want exactly one certificate")
	}
	peer, err := key.PeerFromCerts([][]byte{cs.PeerCertificates[0].Raw})
	if err != nil {
		return err
	}
	if cs.NegotiatedProtocol == alpnJoin {
		return nil
	}
	if cs.NegotiatedProtocol != alpnMesh {
		return fmt.Errorf("unknown protocol %q", cs.NegotiatedProtocol)
	}
	if !e.isMember(peer) {
		return fmt.Errorf("node %s shares no network with us", peer.ShortString())
	}
	return nil
}

// isMember reports whether k shares a network with us, from the snapshot
// recomputeLocked publishes.
func (e *Engine) isMember(k key.NodePublic) bool {
	m := e.members.Load()
	return m != nil && (*m)[k]
}

func peerOf(qc *quic.Conn) (key.NodePublic, error) {
	certs := qc.ConnectionState().TLS.PeerCertificates
	if len(certs) != 1 {
		return key.NodePublic{}, errors.New("no peer certificate")
	}
	return key.PeerFromCerts([][]byte{certs[0].Raw})
}

func (e *Engine) routineAccept() {
	for {
		qc, err := e.ln.Accept(e.ctx)
		if err != nil {
			return
		}
		peer, err := peerOf(qc)
		if err != nil {
			qc.CloseWithError(codeNormal, "bad certificate")
			continue
		}
		switch qc.ConnectionState().TLS.NegotiatedProtocol {
		case alpnJoin:
			e.acceptJoin(qc, peer)
		default:
			e.attach(peer, qc, peer)
		}
	}
}

// dial opens a QUIC connection to peer through magicconn, which picks a
// direct path or the relay underneath; candidate addresses and the
// peer's relay must have been given to it (SetPeer) first.
func (e *Engine) dial(ctx context.Context, peer key.NodePublic, alpn string) (*quic.Conn, error) {
	conf := e.meshTLS.base.Clone()
	conf.NextProtos = []string{alpn}
	check := key.ExpectPeer(peer)
	conf.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		got, err := key.PeerFromCerts(raw)
		if err != nil {
			return err
		}
		return check(got)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	qc, err := e.tr.Dial(ctx, e.mc.PeerAddr(peer), conf, e.quicConf)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", peer.ShortString(), err)
	}
	return qc, nil
}
