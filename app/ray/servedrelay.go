package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/relay"
)

// servedRelay is the relay a node serves for members of its own networks
// (`ray daemon --serve-relay`). A nil *servedRelay serves nothing.
type servedRelay struct {
	ln  net.Listener
	url string
	log *slog.Logger
	srv *relay.Server
}

// listenServedRelay opens the relay's TCP listener and works out the URL
// members will use.
func listenServedRelay(addr, url string, log *slog.Logger) (*servedRelay, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--serve-relay: %w", err)
	}
	if url == "" {
		port := ln.Addr().(*net.TCPAddr).Port
		ip := firstLocalIP()
		if !ip.IsValid() {
			ln.Close()
			return nil, fmt.Errorf("--serve-relay: no local address to advertise; pass --serve-relay-url")
		}
		url = "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(port))
	}
	return &servedRelay{ln: ln, url: url, log: log}, nil
}

// URL is what members dial ("" when not serving).
func (s *servedRelay) URL() string {
	if s == nil {
		return ""
	}
	return s.url
}

// Start serves, admitting only keys allow accepts.
func (s *servedRelay) Start(allow func(key.NodePublic) bool) {
	if s == nil {
		return
	}
	s.srv = relay.NewServer(relay.ServerConfig{Allow: allow, Logger: s.log})
	go s.srv.Serve(s.ln)
	if s.url != "" {
		s.log.Info("serving relay for members", "url", s.url)
	}
}

// Close stops the relay.
func (s *servedRelay) Close() {
	if s == nil {
		return
	}
	if s.srv != nil {
		s.srv.Close()
	}
	s.ln.Close()
}

// firstLocalIP is the first global unicast IPv4 of the host, else IPv6.
func firstLocalIP() netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}
	}
	var v6 netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok || !ip.IsGlobalUnicast() || key.CGNATPrefix.Contains(ip.Unmap()) || key.ULAPrefix.Contains(ip) {
			continue
		}
		if ip.Unmap().Is4() {
			return ip.Unmap()
		}
		if !v6.IsValid() {
			v6 = ip
		}
	}
	return v6
}

// defaultServeRelayPort is where a reachable member serves its relay when
// --serve-relay is not given.
const defaultServeRelayPort = "41383"

// startServedRelay opens the member relay the daemon serves, if any
// (engine.ServeMemberRelay decides): the one --serve-relay asks for; by
// default, unless `ray config set serve-relay off`, one on :41383 when
// this host has a public address; else, with port mapping on, one on
// :41383 whose URL the engine learns from the gateway (mappedPort) — it
// is advertised only once the gateway maps it. A busy port in that last
// case only costs the member relay: busy says so, for status.
func startServedRelay(f *daemonFlags, log *slog.Logger) (s *servedRelay, mappedPort uint16, busy string, err error) {
	if f.serveRelay != "" {
		s, err = listenServedRelay(f.serveRelay, f.relayURL, log)
		return s, 0, "", err
	}
	pref := engine.ServeRelayPref(f.stateDir)
	ip := firstLocalIP()
	switch {
	case engine.ServeMemberRelay(false, pref, publicAddr(ip), false):
		log.Info("this node has a public address: serving a relay for members of its networks (ray config set serve-relay off)", "addr", ip)
		s, err = listenServedRelay(":"+defaultServeRelayPort, "", log)
		return s, 0, "", err
	case pref && !f.noPortmap:
		ln, err := net.Listen("tcp", ":"+defaultServeRelayPort)
		if err != nil {
			log.Warn("no member relay behind a port mapping", "err", err)
			return nil, 0, "port " + defaultServeRelayPort + " busy: " + err.Error(), nil
		}
		return &servedRelay{ln: ln, log: log}, uint16(ln.Addr().(*net.TCPAddr).Port), "", nil
	}
	return nil, 0, "", nil
}

// publicAddr reports whether ip is reachable from the internet as far as
// its address tells: global unicast and none of the private, shared
// (CGNAT 100.64.0.0/10), benchmarking (198.18.0.0/15) or documentation
// ranges.
func publicAddr(ip netip.Addr) bool {
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}
