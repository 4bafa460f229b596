package engine_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/test/gateway/responder"
)

// TestPortMapCandidate: with port mapping on, the engine maps its UDP
// port on the (loopback test) gateway, advertises the mapped address
// among its endpoints, reports it in netcheck, and deletes the mapping
// when the preference goes off and when it closes.
func TestPortMapCandidate(t *testing.T) {
	gwSrv, gw, _ := responder.Loopback(t, responder.Config{PCP: true})
	self := netip.MustParseAddr("127.0.0.1")
	a := startNodeWith(t, "a", t.TempDir(), func(c *engine.Config) {
		c.PortMap = true
		c.PortMapGateway = func() (netip.Addr, netip.Addr, error) { return gw, self, nil }
	})
	closed := false
	defer func() {
		if !closed {
			a.e.Close()
		}
	}()
	want := netip.AddrPortFrom(netip.MustParseAddr("198.18.7.7"), uint16(a.e.ListenPort())).String()
	enginetest.WaitFor(t, 5*time.Second, "the mapped address among our endpoints", func() bool {
		return slices.Contains(a.self().Endpoints, want)
	})
	nc, err := a.e.Netcheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pm := nc.PortMapping; pm.Protocol != "pcp" || pm.External != want || pm.LeaseS < 3600 || pm.Gateway != gw.String() {
		t.Fatalf("netcheck port_mapping %+v, want pcp %s", pm, want)
	}
	if m := gwSrv.Mappings(); len(m) != 1 {
		t.Fatalf("gateway holds %+v", m)
	}

	off := false
	p := a.e.Prefs()
	p.PortMap = &off
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, 5*time.Second, "the mapping deleted after portmap off", func() bool {
		return len(gwSrv.Mappings()) == 0 && !slices.Contains(a.self().Endpoints, want)
	})
	if p := a.e.Prefs(); p.PortMap == nil || *p.PortMap {
		t.Fatalf("prefs %+v", p)
	}
	nc, _ = a.e.Netcheck(context.Background())
	if nc.PortMapping.Protocol != "" || nc.PortMapping.Error != "off (ray config set portmap off)" {
		t.Fatalf("netcheck after off: %+v", nc.PortMapping)
	}

	on := true
	p.PortMap = &on
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, 5*time.Second, "mapped again", func() bool { return len(gwSrv.Mappings()) == 1 })
	a.e.Close()
	closed = true
	if m := gwSrv.Mappings(); len(m) != 0 {
		t.Fatalf("mapping left after Close: %+v", m)
	}
}

// TestPortMapOffByDefault: an engine without Config.PortMap (every
// in-process test) never maps, whatever the preference says.
func TestPortMapOffByDefault(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	defer a.e.Close()
	nc, err := a.e.Netcheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := a.e.Prefs(); p.PortMap == nil || !*p.PortMap {
		t.Fatalf("portmap preference should default on: %+v", p)
	}
	if nc.PortMapping.Protocol != "" || nc.PortMapping.Error != "off (ray daemon --no-portmap)" {
		t.Fatalf("port_mapping %+v", nc.PortMapping)
	}
	why := "not reachable: no public address, and port mapping is off (ray daemon --no-portmap)"
	if mr := nc.MemberRelay; mr == nil || mr.Serving || mr.Why != why {
		t.Fatalf("netcheck member_relay %+v, want not serving: %s", mr, why)
	}
	st := a.self()
	if st.PortMapping == nil || *st.PortMapping != nc.PortMapping || st.MemberRelay == nil || *st.MemberRelay != *nc.MemberRelay {
		t.Fatalf("status port_mapping %+v member_relay %+v, want what netcheck says", st.PortMapping, st.MemberRelay)
	}
}

// TestServedRelayInStatus: a relay served at a fixed URL (--serve-relay,
// or a public address) shows in status and netcheck as served, whatever
// port mapping does.
func TestServedRelayInStatus(t *testing.T) {
	rel := newKeyRelay(t) // stands for the relay the daemon serves, on 127.0.0.1
	a := startNodeWith(t, "a", t.TempDir(), func(c *engine.Config) { c.ServeRelay = rel.url })
	defer a.e.Close()
	want := apitype.MemberRelay{Serving: true, URL: rel.url, Via: apitype.MemberRelayConfigured}
	if mr := a.self().MemberRelay; mr == nil || *mr != want {
		t.Fatalf("status member_relay %+v, want %+v", mr, want)
	}
	nc, err := a.e.Netcheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mr := nc.MemberRelay; mr == nil || *mr != want {
		t.Fatalf("netcheck member_relay %+v, want %+v", mr, want)
	}
}

// TestMappedMemberRelay: a node whose gateway maps its ports is reachable,
// so it serves a member relay by default: the engine maps the relay's TCP
// port next to its UDP one, advertises the mapped URL as its relay, and
// reaches that relay itself on the local port (no hairpin through the
// gateway). With `ray config set serve-relay off` it maps UDP only and
// advertises no relay; Close deletes every mapping.
func TestMappedMemberRelay(t *testing.T) {
	gwSrv, gw, _ := responder.Loopback(t, responder.Config{PCP: true})
	rel := newKeyRelay(t) // stands for the relay the daemon serves, on 127.0.0.1
	port := uint16(netip.MustParseAddrPort(strings.TrimPrefix(rel.url, "http://")).Port())
	self := netip.MustParseAddr("127.0.0.1")
	a := startNodeWith(t, "a", t.TempDir(), func(c *engine.Config) {
		c.PortMap = true
		c.PortMapGateway = func() (netip.Addr, netip.Addr, error) { return gw, self, nil }
		c.MappedRelayPort = port
	})
	closed := false
	defer func() {
		if !closed {
			a.e.Close()
		}
	}()
	want := fmt.Sprintf("http://198.18.7.7:%d", port)
	enginetest.WaitFor(t, 5*time.Second, "the mapped member relay in our record", func() bool {
		return a.e.RecordForTest().Relay == want
	})
	if got := gwSrv.Mappings(); len(got) != 2 || got[0].Proto != "tcp" || got[0].Internal.Port() != port || got[1].Proto != "udp" {
		t.Fatalf("gateway holds %+v, want the relay's TCP port and our UDP port", got)
	}
	self0 := a.e.RecordForTest().Node
	enginetest.WaitFor(t, 5*time.Second, "our own connection to the relay, on its local port", func() bool { return rel.saw(self0) })
	nc, err := a.e.Netcheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if nc.HomeRelay != want {
		t.Errorf("home relay %q, want the mapped member relay %q", nc.HomeRelay, want)
	}
	// Status and netcheck show both mappings and the relay's URL.
	wantUDP := fmt.Sprintf("198.18.7.7:%d", a.e.ListenPort())
	checkMapped := func(what string, pm *apitype.NetcheckPortMapping, mr *apitype.MemberRelay) {
		t.Helper()
		if pm == nil || pm.Protocol != "pcp" || pm.External != wantUDP || pm.LeaseS < 3600 || !pm.RenewAt.After(time.Now()) || pm.RenewAt.After(time.Now().Add(2*time.Hour)) {
			t.Fatalf("%s port_mapping %+v, want pcp %s renewed within the lease", what, pm, wantUDP)
		}
		tcp := pm.RelayTCP
		if tcp == nil || tcp.Port != int(port) || tcp.Protocol != "pcp" || tcp.External != strings.TrimPrefix(want, "http://") || tcp.LeaseS < 3600 || !tcp.RenewAt.After(time.Now()) || tcp.Error != "" {
			t.Fatalf("%s relay_tcp %+v, want pcp %s for port %d", what, tcp, want, port)
		}
		if mr == nil || *mr != (apitype.MemberRelay{Serving: true, URL: want, Via: apitype.MemberRelayMapped}) {
			t.Fatalf("%s member_relay %+v, want serving %s through the port mapping", what, mr, want)
		}
	}
	checkMapped("netcheck", &nc.PortMapping, nc.MemberRelay)
	st := a.self()
	checkMapped("status", st.PortMapping, st.MemberRelay)
	memberRelayWhy := func() string {
		if mr := a.self().MemberRelay; mr != nil && !mr.Serving {
			return mr.Why
		}
		return ""
	}

	// serve-relay off: after the mappers restart, UDP only and no relay.
	off, on := false, true
	p := a.e.Prefs()
	p.ServeRelay, p.PortMap = &off, &off
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, 5*time.Second, "mappings deleted", func() bool { return len(gwSrv.Mappings()) == 0 })
	enginetest.WaitFor(t, 5*time.Second, "status without mappings or member relay", func() bool {
		pm := a.self().PortMapping
		return pm != nil && pm.Protocol == "" && pm.RelayTCP == nil && memberRelayWhy() == "off (ray config set serve-relay off)"
	})
	p.PortMap = &on
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, 5*time.Second, "UDP mapped again", func() bool { return len(gwSrv.Mappings()) == 1 })
	time.Sleep(300 * time.Millisecond) // a TCP mapping would come within a round trip
	if got := gwSrv.Mappings(); len(got) != 1 || got[0].Proto != "udp" {
		t.Fatalf("with serve-relay off the gateway holds %+v, want our UDP port only", got)
	}
	enginetest.WaitFor(t, 5*time.Second, "no relay advertised", func() bool { return a.e.RecordForTest().Relay == "" })
	if st := a.self(); st.PortMapping.External != wantUDP || st.PortMapping.RelayTCP != nil || memberRelayWhy() != "off (ray config set serve-relay off)" {
		t.Fatalf("serve-relay off: status port_mapping %+v member_relay %+v, want UDP only and why not", st.PortMapping, st.MemberRelay)
	}

	p.ServeRelay = &on
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	p.PortMap = &off
	a.e.SetPrefs(p)
	enginetest.WaitFor(t, 5*time.Second, "status: port mapping off", func() bool {
		return memberRelayWhy() == "not reachable: no public address, and port mapping is off (ray config set portmap off)"
	})
	p.PortMap = &on
	a.e.SetPrefs(p)
	enginetest.WaitFor(t, 5*time.Second, "both mapped again", func() bool { return len(gwSrv.Mappings()) == 2 })
	enginetest.WaitFor(t, 5*time.Second, "status: serving again", func() bool {
		mr := a.self().MemberRelay
		return mr != nil && mr.Serving
	})
	st = a.self()
	checkMapped("status after mapping again", st.PortMapping, st.MemberRelay)
	a.e.Close()
	closed = true
	if m := gwSrv.Mappings(); len(m) != 0 {
		t.Fatalf("mappings left after Close: %+v", m)
	}
}
