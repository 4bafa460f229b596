package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

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
	s.log.Info("serving relay for members", "url", s.url)
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
