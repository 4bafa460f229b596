package magicconn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/relay"
	"github.com/rayfish/rayfish/engine/stun"
)

// stunWait is a STUN query awaiting its response.
type stunWait struct {
	server netip.AddrPort
	ch     chan netip.AddrPort // capacity 1
}

// Report is the result of Netcheck.
type Report struct {
	// UDPPort is the local port of the socket.
	UDPPort uint16
	// ReflexiveV4 and ReflexiveV6 are our addresses as the first STUN
	// server of each family that answered saw them.
	ReflexiveV4, ReflexiveV6 netip.AddrPort
	// MappingV4 and MappingV6 say how our NAT maps the socket, from two
	// or more STUN servers of the family (MappingUnknown with fewer).
	MappingV4, MappingV6 stun.Mapping
	// STUN has one result per STUN server, in Config order.
	STUN []STUNResult
	// HomeRelay is our home relay, "" if none connected yet.
	HomeRelay string
	// Relays has one result per relay, in Config order.
	Relays []RelayResult
}

// STUNResult is one STUN server's answer.
type STUNResult struct {
	Server    netip.AddrPort
	Reflexive netip.AddrPort // invalid if it did not answer
	RTT       time.Duration
	Err       string
}

// RelayResult is one relay's latency.
type RelayResult struct {
	URL     string
	Latency time.Duration // 0 if unreachable
	Err     string
}

// stunResponse hands a STUN response read by routineRead to its query.
func (c *Conn) handleSTUN(b []byte, src netip.AddrPort) {
	tx, addr, err := stun.ParseResponse(b)
	if err != nil {
		c.ctr.dropBadSTUN.Add(1)
		return
	}
	c.mu.RLock()
	w := c.stunPending[tx]
	c.mu.RUnlock()
	if w == nil || w.server != src {
		c.ctr.dropBadSTUN.Add(1)
		return
	}
	select {
	case w.ch <- addr:
	default:
	}
}

// stunQuery asks server for our reflexive address through the socket,
// retransmitting with backoff until ctx is done.
func (c *Conn) stunQuery(ctx context.Context, server netip.AddrPort) (netip.AddrPort, time.Duration, error) {
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	tx := stun.NewTxID()
	w := &stunWait{server: server, ch: make(chan netip.AddrPort, 1)}
	c.mu.Lock()
	c.stunPending[tx] = w
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.stunPending, tx)
		c.mu.Unlock()
	}()
	req := stun.BuildRequest(tx)
	start := time.Now()
	wait := 200 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case a := <-w.ch:
			return a, time.Since(start), nil
		case <-ctx.Done():
			return netip.AddrPort{}, 0, fmt.Errorf("STUN %v: %w", server, ctx.Err())
		case <-c.done:
			return netip.AddrPort{}, 0, fmt.Errorf("STUN %v: %w", server, errClosed)
		case <-t.C:
			if err := c.writeUDP(req, server, nil); err != nil {
				return netip.AddrPort{}, 0, fmt.Errorf("STUN %v: %w", server, err)
			}
			t.Reset(wait)
			wait = min(2*wait, 1600*time.Millisecond)
		}
	}
}

var errClosed = errors.New("magicconn: closed")

// stunAll queries every STUN server at once.
func (c *Conn) stunAll(ctx context.Context) []STUNResult {
	res := make([]STUNResult, len(c.cfg.STUNServers))
	var wg sync.WaitGroup
	for i, s := range c.cfg.STUNServers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, rtt, err := c.stunQuery(ctx, s)
			res[i] = STUNResult{Server: s, Reflexive: a, RTT: rtt}
			if err != nil {
				res[i].Err = err.Error()
			}
		}()
	}
	wg.Wait()
	return res
}

// mappings classifies our NAT per address family from STUN results.
func mappings(res []STUNResult) (v4, v6 stun.Mapping) {
	var a4, a6 []netip.AddrPort
	for _, r := range res {
		if !r.Reflexive.IsValid() {
			continue
		}
		if r.Server.Addr().Is4() {
			a4 = append(a4, r.Reflexive)
		} else {
			a6 = append(a6, r.Reflexive)
		}
	}
	return stun.MappingBehavior(a4...), stun.MappingBehavior(a6...)
}

// applySTUN makes a STUN round's results our reflexive addresses. A
// round where nothing answered changes nothing.
func (c *Conn) applySTUN(res []STUNResult) {
	var addrs []netip.AddrPort
	for _, r := range res {
		if r.Reflexive.IsValid() && !slices.Contains(addrs, r.Reflexive) {
			addrs = append(addrs, r.Reflexive)
		}
	}
	if len(addrs) == 0 {
		return
	}
	v4, v6 := mappings(res)
	c.mu.Lock()
	defer c.mu.Unlock()
	if v4 != stun.MappingUnknown {
		c.mappingV4 = v4
	}
	if v6 != stun.MappingUnknown {
		c.mappingV6 = v6
	}
	c.stunAddrs = addrs
	c.endpointsChangedLocked()
}

// routineSTUN queries the STUN servers now, every stunInterval, and when
// the network changed.
func (c *Conn) routineSTUN() {
	defer c.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.stunKick:
		}
		rctx, rcancel := context.WithTimeout(c.ctx, c.t.stunTimeout)
		res := c.stunAll(rctx)
		rcancel()
		c.applySTUN(res)
		t.Stop()
		jitter := time.Duration(rand.Int64N(int64(c.t.stunInterval/5) + 1))
		t.Reset(c.t.stunInterval - jitter)
	}
}

// Netcheck measures the network now: our UDP port, our reflexive
// addresses and NAT mapping behaviour from the STUN servers, and each
// relay's latency. It also refreshes the Conn's reflexive addresses. ctx
// bounds it; STUN queries give up after a few seconds anyway.
func (c *Conn) Netcheck(ctx context.Context) (Report, error) {
	if c.isClosed() {
		return Report{}, errClosed
	}
	rep := Report{UDPPort: c.localPort}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sctx, cancel := context.WithTimeout(ctx, c.t.stunTimeout)
		defer cancel()
		rep.STUN = c.stunAll(sctx)
	}()
	rep.Relays = make([]RelayResult, len(c.cfg.Relays))
	for i, u := range c.cfg.Relays {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Relays[i] = c.relayLatency(ctx, u)
		}()
	}
	wg.Wait()
	for _, r := range rep.STUN {
		switch {
		case !r.Reflexive.IsValid():
		case r.Server.Addr().Is4() && !rep.ReflexiveV4.IsValid():
			rep.ReflexiveV4 = r.Reflexive
		case !r.Server.Addr().Is4() && !rep.ReflexiveV6.IsValid():
			rep.ReflexiveV6 = r.Reflexive
		}
	}
	rep.MappingV4, rep.MappingV6 = mappings(rep.STUN)
	c.applySTUN(rep.STUN)
	rep.HomeRelay = c.HomeRelay()
	return rep, ctx.Err()
}

// relayLatency measures the round trip to the relay at url: the live
// connection's last measurement, or a one-off connection. The one-off
// connection authenticates with a throwaway key, since a second connection
// with our own key would replace our live one at the relay.
func (c *Conn) relayLatency(ctx context.Context, url string) RelayResult {
	res := RelayResult{URL: url}
	c.mu.RLock()
	rc := c.relays[url]
	c.mu.RUnlock()
	if rc != nil && rc.connected.Load() {
		if l := rc.conn.Latency(); l > 0 {
			res.Latency = l
			return res
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	opts := c.cfg.RelayOptions.ClientOptions
	opts.OnPacket, opts.OnPeerGone, opts.OnHealth = nil, nil, nil
	cl, err := relay.Dial(ctx, url, key.NewNode(), opts)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer cl.Close()
	rtt, err := cl.Ping(ctx)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Latency = rtt
	return res
}
