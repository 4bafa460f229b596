package portmap

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeNet is a scripted gateway for Mapper tests: which protocols work,
// the calls made, and the default gateway.
type fakeNet struct {
	mu    sync.Mutex
	gw    netip.Addr
	works map[Protocol]bool
	lease time.Duration
	fail  bool // every call fails
	hang  bool // a map call is granted but its answer never comes: it waits for ctx
	calls []string
	ext   map[netip.Addr]netip.AddrPort // per gateway
}

func (f *fakeNet) log(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

func (f *fakeNet) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeNet) gateway() (netip.Addr, netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.gw.IsValid() {
		return netip.Addr{}, netip.Addr{}, errors.New("no route")
	}
	return f.gw, netip.MustParseAddr("192.168.1.2"), nil
}

type fakeClient struct {
	f  *fakeNet
	p  Protocol
	gw netip.Addr
}

func (c *fakeClient) protocol() Protocol { return c.p }

func (c *fakeClient) mapPort(ctx context.Context, internal uint16, prev netip.AddrPort, lease time.Duration) (Mapping, error) {
	c.f.mu.Lock()
	ok, fail, l, ext, hang := c.f.works[c.p], c.f.fail, c.f.lease, c.f.ext[c.gw], c.f.hang
	c.f.calls = append(c.f.calls, "map "+string(c.p)+" "+c.gw.String())
	c.f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return Mapping{}, ctx.Err()
	}
	if !ok || fail {
		return Mapping{}, errors.New(string(c.p) + " unavailable")
	}
	return Mapping{Protocol: c.p, External: ext, Lease: l}, nil
}

func (c *fakeClient) unmapPort(ctx context.Context, internal uint16, m Mapping) error {
	c.f.log("unmap " + string(c.p) + " " + c.gw.String())
	return nil
}

func newFakeMapper(f *fakeNet, changes chan<- Status) *Mapper {
	return New(Config{
		Port:    41641,
		Gateway: f.gateway,
		OnChange: func(s Status) {
			select {
			case changes <- s:
			default:
			}
		},
		newClient: func(p Protocol, gw, self netip.Addr) client { return &fakeClient{f: f, p: p, gw: gw} },
	})
}

var (
	gwA  = netip.MustParseAddr("192.168.1.1")
	gwB  = netip.MustParseAddr("10.0.0.1")
	extA = netip.MustParseAddrPort("198.51.100.1:41641")
	extB = netip.MustParseAddrPort("203.0.113.9:5000")
)

// TestMapperFallsThroughAndRefreshes: PCP and NAT-PMP fail, UPnP maps;
// the mapping is refreshed at half its lease with the same protocol and
// deleted on Close.
func TestMapperFallsThroughAndRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{gw: gwA, works: map[Protocol]bool{UPnP: true}, lease: time.Hour, ext: map[netip.Addr]netip.AddrPort{gwA: extA}}
		start := time.Now()
		m := newFakeMapper(f, make(chan Status, 16))
		synctest.Wait()
		st := m.Status()
		if st.Protocol != UPnP || st.External != extA || st.Lease != time.Hour || st.Gateway != gwA {
			t.Fatalf("status %+v", st)
		}
		if want := start.Add(30 * time.Minute); !st.Renew.Equal(want) {
			t.Fatalf("renews at %v, want half the lease on (%v)", st.Renew, want)
		}
		want := []string{"map pcp 192.168.1.1", "map nat-pmp 192.168.1.1", "map upnp 192.168.1.1"}
		if got := f.Calls(); !slices.Equal(got, want) {
			t.Fatalf("calls %q, want %q", got, want)
		}
		time.Sleep(29*time.Minute + 59*time.Second)
		synctest.Wait()
		if n := len(f.Calls()); n != 3 {
			t.Fatalf("refreshed before half the lease: %q", f.Calls())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := f.Calls(); len(got) != 4 || got[3] != "map upnp 192.168.1.1" {
			t.Fatalf("after half the lease: %q, want one UPnP refresh", got)
		}
		if st, want := m.Status(), start.Add(time.Hour); !st.Renew.Equal(want) {
			t.Fatalf("after the refresh renews at %v, want %v", st.Renew, want)
		}
		m.Close()
		m.Close()
		if got := f.Calls(); got[len(got)-1] != "unmap upnp 192.168.1.1" {
			t.Fatalf("Close did not delete: %q", got)
		}
		if st := m.Status(); st.External.IsValid() {
			t.Fatalf("status after Close %+v", st)
		}
	})
}

// TestMapperGatewayChange: a new default gateway deletes the old mapping
// and maps on the new one; losing the route clears the mapping.
func TestMapperGatewayChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{gw: gwA, works: map[Protocol]bool{PCP: true}, lease: time.Hour,
			ext: map[netip.Addr]netip.AddrPort{gwA: extA, gwB: extB}}
		changes := make(chan Status, 16)
		m := newFakeMapper(f, changes)
		defer m.Close()
		synctest.Wait()
		if st := m.Status(); st.External != extA {
			t.Fatalf("status %+v", st)
		}
		f.mu.Lock()
		f.gw = gwB
		f.mu.Unlock()
		time.Sleep(gatewayPoll)
		synctest.Wait()
		if st := m.Status(); st.External != extB || st.Gateway != gwB {
			t.Fatalf("after the gateway change: %+v", st)
		}
		calls := f.Calls()
		if !slices.Contains(calls, "unmap pcp 192.168.1.1") || calls[len(calls)-1] != "map pcp 10.0.0.1" {
			t.Fatalf("calls %q", calls)
		}
		f.mu.Lock()
		f.gw = netip.Addr{}
		f.mu.Unlock()
		m.Kick()
		synctest.Wait()
		if st := m.Status(); st.External.IsValid() || st.Err == "" {
			t.Fatalf("without a route: %+v", st)
		}
	})
}

// TestMapperLapseAndRetry: refreshes that keep failing let the mapping
// lapse at its expiry (not before); with nothing answering the Mapper
// retries with backoff.
func TestMapperLapseAndRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{gw: gwA, works: map[Protocol]bool{NATPMP: true}, lease: 10 * time.Minute,
			ext: map[netip.Addr]netip.AddrPort{gwA: extA}}
		m := newFakeMapper(f, make(chan Status, 16))
		defer m.Close()
		synctest.Wait()
		f.mu.Lock()
		f.fail = true
		f.mu.Unlock()
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if st := m.Status(); st.External != extA {
			t.Fatalf("mapping dropped before its lease ended: %+v", st)
		}
		time.Sleep(time.Minute + 5*time.Second)
		synctest.Wait()
		st := m.Status()
		if st.External.IsValid() || st.Err == "" {
			t.Fatalf("mapping kept after its lease: %+v %q", st, f.Calls())
		}
		n := len(f.Calls())
		time.Sleep(retryMin + 10*time.Second)
		synctest.Wait()
		if got := len(f.Calls()) - n; got < 3 {
			t.Fatalf("no retry after %v: %q", retryMin, f.Calls()[n:])
		}
	})
}

// TestMapperRejectsUnusableAddress: an external address members must not
// be asked to ping (loopback, multicast...) is no mapping.
func TestMapperRejectsUnusableAddress(t *testing.T) {
	for _, bad := range []string{"127.0.0.1:41641", "224.0.0.1:41641", "0.0.0.0:41641", "169.254.1.1:41641", "198.51.100.1:0"} {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeNet{gw: gwA, works: map[Protocol]bool{PCP: true}, lease: time.Hour,
				ext: map[netip.Addr]netip.AddrPort{gwA: netip.MustParseAddrPort(bad)}}
			m := newFakeMapper(f, make(chan Status, 16))
			defer m.Close()
			synctest.Wait()
			if st := m.Status(); st.External.IsValid() || st.Err == "" {
				t.Fatalf("%s accepted: %+v", bad, st)
			}
		})
	}
}

// TestMapperNewGatewayEndsBackoff: after failures pushed the retry far
// out, a new default gateway is asked at its next check.
func TestMapperNewGatewayEndsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{gw: gwA, works: map[Protocol]bool{}, lease: time.Hour,
			ext: map[netip.Addr]netip.AddrPort{gwB: extB}}
		m := newFakeMapper(f, make(chan Status, 16))
		defer m.Close()
		time.Sleep(10 * time.Minute) // retries back off towards retryMax
		synctest.Wait()
		f.mu.Lock()
		f.gw, f.works = gwB, map[Protocol]bool{PCP: true}
		f.mu.Unlock()
		time.Sleep(gatewayPoll)
		synctest.Wait()
		if st := m.Status(); st.External != extB {
			t.Fatalf("new gateway not asked within %v: %+v", gatewayPoll, st)
		}
	})
}

// TestMapperCloseDuringRequest: Close while a map request is out (the
// gateway may have granted it, its answer not yet heard) still asks the
// gateway to delete the port; stopping then left a mapping behind
// (TestPortMapCandidate's "mapping left after Close" under load).
func TestMapperCloseDuringRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{gw: gwA, works: map[Protocol]bool{PCP: true}, hang: true, lease: time.Hour, ext: map[netip.Addr]netip.AddrPort{gwA: extA}}
		m := newFakeMapper(f, make(chan Status, 16))
		synctest.Wait()
		if got := f.Calls(); !slices.Equal(got, []string{"map pcp 192.168.1.1"}) {
			t.Fatalf("calls before Close %q", got)
		}
		m.Close()
		want := []string{"map pcp 192.168.1.1", "unmap pcp 192.168.1.1"}
		if got := f.Calls(); !slices.Equal(got, want) {
			t.Fatalf("calls %q, want %q", got, want)
		}
		if st := m.Status(); st.External.IsValid() {
			t.Fatalf("status after Close %+v", st)
		}
	})
}
