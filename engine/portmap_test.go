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

	// serve-relay off: after the mappers restart, UDP only and no relay.
	off, on := false, true
	p := a.e.Prefs()
	p.ServeRelay, p.PortMap = &off, &off
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, 5*time.Second, "mappings deleted", func() bool { return len(gwSrv.Mappings()) == 0 })
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

	p.ServeRelay = &on
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	p.PortMap = &off
	a.e.SetPrefs(p)
	p.PortMap = &on
	a.e.SetPrefs(p)
	enginetest.WaitFor(t, 5*time.Second, "both mapped again", func() bool { return len(gwSrv.Mappings()) == 2 })
	a.e.Close()
	closed = true
	if m := gwSrv.Mappings(); len(m) != 0 {
		t.Fatalf("mappings left after Close: %+v", m)
	}
}
