package portmap

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/test/gateway/responder"
)

// These tests run the clients against our test gateway on a random
// 127.x.y.z address: nothing leaves the host's loopback, and no real
// gateway is ever asked.

type memForward struct {
	mu             sync.Mutex
	added, removed []uint16
}

func (f *memForward) Add(_ string, ext uint16, _ netip.AddrPort) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, ext)
	return nil
}

func (f *memForward) Remove(_ string, ext uint16) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, ext)
	return nil
}

func (f *memForward) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.added), len(f.removed)
}

// fakeGateway serves cfg's protocols on a random loopback address.
func fakeGateway(t *testing.T, cfg responder.Config) (*responder.Server, netip.Addr, *url.URL) {
	return responder.Loopback(t, cfg)
}

func protoClient(p Protocol, gw netip.Addr, loc *url.URL) client {
	return transportClient(p, gw, loc, false)
}

// transportClient is p's client for a UDP (tcp false) or TCP mapping.
func transportClient(p Protocol, gw netip.Addr, loc *url.URL, tcp bool) client {
	self := netip.MustParseAddr("127.0.0.1")
	switch p {
	case PCP:
		return &pcpClient{gw: netip.AddrPortFrom(gw, pcpPort), self: self, nonce: [12]byte{1, 2, 3}, tcp: tcp, wait: 50 * time.Millisecond}
	case NATPMP:
		return &natpmpClient{gw: gw, timeout: time.Second, tcp: tcp}
	}
	return &upnpClient{gw: gw, self: self, location: loc, tcp: tcp}
}

// TestProtocolsAgainstTestGateway maps, refreshes and deletes with each
// protocol, a UDP port and the same TCP port side by side (the member
// relay's); each protocol gives the same external address and port.
func TestProtocolsAgainstTestGateway(t *testing.T) {
	for _, p := range DefaultProtocols {
		t.Run(string(p), func(t *testing.T) {
			fw := &memForward{}
			s, gw, loc := fakeGateway(t, responder.Config{NATPMP: p == NATPMP, PCP: p == PCP, UPnP: p == UPnP, Forward: fw})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var ms []Mapping
			for _, tcp := range []bool{false, true} {
				cl := transportClient(p, gw, loc, tcp)
				m, err := cl.mapPort(ctx, 41641, netip.AddrPort{}, time.Hour)
				if err != nil {
					t.Fatalf("tcp %v: %v", tcp, err)
				}
				want := netip.MustParseAddrPort("198.18.7.7:41641")
				if m.Protocol != p || m.External != want || m.Lease < 59*time.Minute || m.Lease > time.Hour+time.Second {
					t.Fatalf("tcp %v: mapping %+v, want %s %v for about 1 h", tcp, m, p, want)
				}
				again, err := cl.mapPort(ctx, 41641, m.External, time.Hour)
				if err != nil || again.External != m.External {
					t.Fatalf("tcp %v: refresh: %+v, %v", tcp, again, err)
				}
				ms = append(ms, m)
			}
			got := s.Mappings()
			if len(got) != 2 || got[0].Proto != "tcp" || got[1].Proto != "udp" {
				t.Fatalf("gateway holds %+v, want a TCP and a UDP mapping of 41641", got)
			}
			for _, g := range got {
				if g.Ext != 41641 || g.Internal.Port() != 41641 {
					t.Fatalf("gateway holds %+v, want mappings of 41641", got)
				}
			}
			for i, tcp := range []bool{false, true} {
				if err := transportClient(p, gw, loc, tcp).unmapPort(ctx, 41641, ms[i]); err != nil {
					t.Fatal(err)
				}
				if got := s.Mappings(); len(got) != 1-i {
					t.Fatalf("after deleting tcp %v the gateway holds %+v", tcp, got)
				}
			}
			if a, r := fw.counts(); a != 2 || r != 2 {
				t.Errorf("forwards added %d removed %d, want two each", a, r)
			}
		})
	}
}

// TestPCPOnNATPMPGateway: a NAT-PMP-only gateway rejects PCP at once
// (so the Mapper falls through to NAT-PMP quickly), and a PCP-only
// gateway fails NAT-PMP.
func TestPCPOnNATPMPGateway(t *testing.T) {
	_, gw, _ := fakeGateway(t, responder.Config{NATPMP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := protoClient(PCP, gw, nil).mapPort(ctx, 41641, netip.AddrPort{}, time.Hour)
	if !errors.Is(err, errUnsupportedVersion) {
		t.Fatalf("PCP to a NAT-PMP gateway: %v, want %v", err, errUnsupportedVersion)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	_, gw, _ = fakeGateway(t, responder.Config{PCP: true})
	if _, err := protoClient(NATPMP, gw, nil).mapPort(ctx, 41641, netip.AddrPort{}, time.Hour); err == nil {
		t.Fatal("NAT-PMP mapped on a PCP-only gateway")
	}
}

// TestPCPNonceSurvivesRestart: the same nonce (a restarted node) refreshes
// its old mapping; another nonce is refused, so no one else can take or
// delete it.
func TestPCPNonceSurvivesRestart(t *testing.T) {
	s, gw, _ := fakeGateway(t, responder.Config{PCP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a := protoClient(PCP, gw, nil).(*pcpClient)
	if _, err := a.mapPort(ctx, 41641, netip.AddrPort{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	restarted := *a
	if _, err := restarted.mapPort(ctx, 41641, netip.AddrPort{}, time.Hour); err != nil {
		t.Fatalf("same nonce after a restart: %v", err)
	}
	other := *a
	other.nonce = [12]byte{9}
	_, err := other.mapPort(ctx, 41641, netip.AddrPort{}, time.Hour)
	var pe pcpError
	if !errors.As(err, &pe) || pe != 2 {
		t.Fatalf("another nonce: %v, want NOT_AUTHORIZED", err)
	}
	if n := len(s.Mappings()); n != 1 {
		t.Fatalf("%d mappings, want 1", n)
	}
}

// TestUPnPReportsFaultClearly: a gateway's SOAP fault (miniupnpd answers
// 501 for a reserved WAN address) becomes one line with the code.
func TestUPnPReportsFaultClearly(t *testing.T) {
	gw := netip.MustParseAddr("127.0.0.1")
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io := responder.New(responder.Config{})
			io.UPnPHandler().ServeHTTP(w, r)
			return
		}
		w.WriteHeader(500)
		w.Write([]byte(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>501</errorCode><errorDescription>Action Failed</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`))
	}))
	defer hs.Close()
	loc, _ := url.Parse(hs.URL + "/rootDesc.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := (&upnpClient{gw: gw, self: gw, location: loc}).mapPort(ctx, 41641, netip.AddrPort{}, time.Hour)
	var ue *UPnPError
	if !errors.As(err, &ue) || ue.Code != 501 {
		t.Fatalf("err %v, want a UPnPError 501", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "501 (Action Failed)") {
		t.Errorf("message %q", msg)
	}
}

// TestUPnPStaysOnGateway: a description or control URL on another host
// than the gateway is not used.
func TestUPnPStaysOnGateway(t *testing.T) {
	_, gw, loc := fakeGateway(t, responder.Config{UPnP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	other := netip.MustParseAddr("127.0.0.1")
	if gw == other {
		t.Skip("random address collided")
	}
	_, err := (&upnpClient{gw: other, self: other, location: loc}).mapPort(ctx, 41641, netip.AddrPort{}, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "not on the gateway") {
		t.Fatalf("err %v, want a refusal of the foreign description", err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"Action Failed":          "Action Failed",
		"evil\r\nX-Injected: 1":  "evilX-Injected: 1",
		strings.Repeat("a", 200): strings.Repeat("a", 80),
		"caf\xc3\xa9":            "caf",
	} {
		if got := printable(in, 80); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
