//go:build linux

package mdns

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/netmap"
)

// inNS runs f on a thread in ns. The thread is never returned to the
// pool: it exits with its goroutine.
func inNS(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// labNode is one side of the lab: a namespace holding one end of the
// veth pair.
type labNode struct {
	ns   netns.NsHandle
	h    *netlink.Handle
	hmu  sync.Mutex // guards h
	link string
	addr netip.Addr
}

// newLab makes two namespaces, rfmd-<pid>-a and rfmd-<pid>-b, joined by a
// veth pair with 198.18.30.1/24 and 198.18.30.2/24 and link-local IPv6.
// Everything goes away when the test ends.
func newLab(t *testing.T) (a, b *labNode) {
	t.Helper()
	nodes := []*labNode{
		{link: "rfmd0", addr: netip.MustParseAddr("198.18.30.1")},
		{link: "rfmd1", addr: netip.MustParseAddr("198.18.30.2")},
	}
	for i, n := range nodes {
		name := fmt.Sprintf("rfmd-%d-%c", os.Getpid(), 'a'+i)
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // NewNamed moves the thread; it dies with the goroutine
			ns, err := netns.NewNamed(name)
			n.ns = ns
			errc <- err
		}()
		if err := <-errc; err != nil {
			t.Fatalf("create netns %s: %v", name, err)
		}
		t.Cleanup(func() {
			n.ns.Close()
			if err := netns.DeleteNamed(name); err != nil {
				t.Errorf("delete netns %s: %v", name, err)
			}
		})
		h, err := netlink.NewHandleAt(n.ns)
		if err != nil {
			t.Fatal(err)
		}
		n.h = h
		t.Cleanup(h.Close)
	}
	a, b = nodes[0], nodes[1]
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: a.link},
		PeerName:      b.link,
		PeerNamespace: netlink.NsFd(b.ns),
	}
	if err := a.h.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	for _, n := range nodes {
		// No duplicate address detection: link-local IPv6 is usable at once.
		err := inNS(n.ns, func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/"+n.link+"/accept_dad", []byte("0"), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
		l, err := n.h.LinkByName(n.link)
		if err != nil {
			t.Fatal(err)
		}
		pfx := netip.PrefixFrom(n.addr, 24)
		if err := n.h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: n.addr.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
			t.Fatalf("add %s: %v", pfx, err)
		}
		if err := n.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// interfaces lists the node's veth as the Service sees it. net's own
// functions would read the namespace of whatever thread runs them.
func (n *labNode) interfaces() ([]net.Interface, error) {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	l, err := n.h.LinkByName(n.link)
	if err != nil {
		return nil, err
	}
	at := l.Attrs()
	return []net.Interface{{
		Index: at.Index, MTU: at.MTU, Name: at.Name, HardwareAddr: at.HardwareAddr,
		Flags: net.FlagUp | net.FlagBroadcast | net.FlagMulticast,
	}}, nil
}

func (n *labNode) addrs(ifi *net.Interface) ([]net.Addr, error) {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	l, err := n.h.LinkByIndex(ifi.Index)
	if err != nil {
		return nil, err
	}
	as, err := n.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	var out []net.Addr
	for _, a := range as {
		out = append(out, a.IPNet)
	}
	return out, nil
}

// labService is a Service in a lab namespace with the records it heard.
type labService struct {
	*Service
	mu    sync.Mutex
	rec   netmap.EndpointRecord
	heard chan heard
}

func (n *labNode) start(t *testing.T, seed byte) *labService {
	t.Helper()
	ls := &labService{heard: make(chan heard, 64)}
	k := fixedKey(t, seed)
	ls.rec = netmap.SignEndpoints(k, []netip.AddrPort{netip.AddrPortFrom(n.addr, 41641)}, "", 1)
	err := inNS(n.ns, func() error {
		s, err := New(Config{
			Record: func() netmap.EndpointRecord {
				ls.mu.Lock()
				defer ls.mu.Unlock()
				return ls.rec
			},
			OnRecord: func(r netmap.EndpointRecord, from netip.AddrPort) {
				select {
				case ls.heard <- heard{r, from}:
				default:
				}
			},
			Interfaces:     n.interfaces,
			InterfaceAddrs: n.addrs,
			Interval:       time.Hour, // only startup, Announce and answers
			Logger:         discardLogger(),
		})
		ls.Service = s
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	return ls
}

func (ls *labService) setRecord(r netmap.EndpointRecord) {
	ls.mu.Lock()
	ls.rec = r
	ls.mu.Unlock()
}

// waitFor waits until ls hears want over IPv4 and over IPv6.
func (ls *labService) waitFor(t *testing.T, what string, want netmap.EndpointRecord, from4 netip.Addr) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	var got4, got6 bool
	for !got4 || !got6 {
		select {
		case h := <-ls.heard:
			if h.rec.Node != want.Node || h.rec.Seq != want.Seq {
				continue
			}
			if h.from.Port() != DefaultPort {
				t.Errorf("%s: heard from port %d", what, h.from.Port())
			}
			switch a := h.from.Addr(); {
			case a == from4:
				got4 = true
			case a.Is6() && a.IsLinkLocalUnicast() && a.Zone() != "":
				got6 = true
			default:
				t.Errorf("%s: heard from unexpected %v", what, h.from)
			}
		case <-timeout:
			t.Fatalf("%s: not heard within 5s (IPv4 %v, IPv6 %v)", what, got4, got6)
		}
	}
}

// TestLAN runs two Services in two network namespaces joined by a veth
// pair, with the real mDNS port and groups. A starts first and is done
// announcing when B starts, so B learns A only by querying; then A's
// records change and Announce spreads them. It needs root.
func TestLAN(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	na, nb := newLab(t)
	a := na.start(t, 1)
	// The startup announcements go nowhere: B is not up yet.
	enginetest.WaitFor(t, 5*time.Second, "A's two startup announcements", func() bool { return a.announced.Load() >= 2 })
	b := nb.start(t, 2)

	a.waitFor(t, "A hears B's announcement", b.rec, nb.addr)
	b.waitFor(t, "B hears A's answer to its query", a.rec, na.addr)
	if n := a.announced.Load(); n != 2 {
		t.Errorf("A announced %d times, want 2: B's record came from an announcement", n)
	}

	newer := netmap.SignEndpoints(fixedKey(t, 1), []netip.AddrPort{netip.MustParseAddrPort("198.18.30.1:41642")}, "", 2)
	a.setRecord(newer)
	a.Announce()
	b.waitFor(t, "B hears A's new record", newer, na.addr)

	// A legacy resolver (any port but 5353) gets a unicast answer with
	// its query's id.
	err := inNS(nb.ns, func() error { return legacyQuery(nb.link, newer) })
	if err != nil {
		t.Error(err)
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// legacyQuery asks over IPv4 from an ephemeral port, out of link, and
// waits for want in a unicast answer.
func legacyQuery(link string, want netmap.EndpointRecord) error {
	ifi, err := net.InterfaceByName(link)
	if err != nil {
		return err
	}
	c, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return err
	}
	defer c.Close()
	p := ipv4.NewPacketConn(c)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return err
	}
	q := new(dns.Msg)
	q.SetQuestion(serviceName, dns.TypePTR)
	q.Id = 0x4242
	b, err := q.Pack()
	if err != nil {
		return err
	}
	if _, err := p.WriteTo(b, nil, &net.UDPAddr{IP: DefaultGroup4.AsSlice(), Port: DefaultPort}); err != nil {
		return err
	}
	if err := c.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		return err
	}
	buf := make([]byte, maxPacket)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("legacy query: no answer with A's record: %w", err)
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) != nil || m.Id != q.Id || len(m.Question) != 1 {
			return fmt.Errorf("legacy answer: id %#x, %d questions", m.Id, len(m.Question))
		}
		msg, err := parse(buf[:n])
		if err != nil {
			return err
		}
		for _, r := range msg.records {
			if r.Node == want.Node && r.Seq == want.Seq {
				return nil
			}
		}
	}
}
