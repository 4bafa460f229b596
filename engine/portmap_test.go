package engine_test

import (
	"context"
	"net/netip"
	"slices"
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
