package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Control datagrams start with a byte whose high nibble is neither 4 nor 6,
// so they never look like IP packets.
const (
	dgPing = 0x01
	dgPong = 0x02
)

// PingResult is one ping's outcome.
type PingResult struct {
	Peer     key.NodePublic
	Hostname string
	IP       netip.Addr
	RTT      time.Duration
	Path     string
	Endpoint string
}

// handlePingDatagram answers pings and delivers pongs.
func (e *Engine) handlePingDatagram(p *peer, pc *peerConn, d []byte) {
	if len(d) != 9 {
		e.dp.CountMalformed()
		return
	}
	switch d[0] {
	case dgPing:
		var out [9]byte
		out[0] = dgPong
		copy(out[1:], d[1:])
		pc.qc.SendDatagram(out[:])
	case dgPong:
		seq := binary.BigEndian.Uint64(d[1:])
		p.pingMu.Lock()
		ch := p.pings[seq]
		delete(p.pings, seq)
		p.pingMu.Unlock()
		if ch != nil {
			ch <- time.Now()
		}
	default:
		e.dp.CountMalformed()
	}
}

// Ping sends one ping datagram to peer and waits for its pong.
func (e *Engine) Ping(ctx context.Context, k key.NodePublic, seq uint64) (PingResult, error) {
	e.mu.Lock()
	p := e.peers[k]
	var res PingResult
	if p != nil {
		res = PingResult{Peer: k, Hostname: p.info.hostname, IP: firstAddr(p.info.ipv4)}
	}
	e.mu.Unlock()
	if p == nil {
		return res, errors.New("not a peer")
	}
	if !e.dp.Up() {
		return res, errStandby
	}
	if e.standby.has(k) {
		return res, fmt.Errorf("%s is down (standby: ray down on that node)", res.Hostname)
	}
	pc := p.cur.Load()
	if pc == nil {
		return res, errors.New("peer is offline")
	}
	res.Path, res.Endpoint, _ = pc.Path()
	ch := make(chan time.Time, 1)
	p.pingMu.Lock()
	p.pings[seq] = ch
	p.pingMu.Unlock()
	defer func() {
		p.pingMu.Lock()
		delete(p.pings, seq)
		p.pingMu.Unlock()
	}()
	var d [9]byte
	d[0] = dgPing
	binary.BigEndian.PutUint64(d[1:], seq)
	start := time.Now()
	if err := pc.qc.SendDatagram(d[:]); err != nil {
		return res, fmt.Errorf("send: %w", err)
	}
	select {
	case t := <-ch:
		res.RTT = t.Sub(start)
		return res, nil
	case <-ctx.Done():
		return res, errors.New("timeout")
	}
}

func firstAddr(as []netip.Addr) netip.Addr {
	if len(as) == 0 {
		return netip.Addr{}
	}
	return as[0]
}

// PingPeer pings k once and reports the result in the local API's terms.
func (e *Engine) PingPeer(ctx context.Context, k key.NodePublic, seq uint64) (apitype.PingReply, error) {
	r, err := e.Ping(ctx, k, seq)
	reply := apitype.PingReply{Peer: k.String(), Hostname: r.Hostname, RTTMs: float64(r.RTT.Microseconds()) / 1000,
		Path: r.Path, Endpoint: r.Endpoint}
	if r.IP.IsValid() {
		reply.IP = r.IP.String()
	}
	return reply, err
}
