//go:build linux

package packet

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestKernelAcceptsReplies hands every builder's output to the Linux
// kernel, which checks checksums and semantics independently: in a
// private network namespace a TUN device answers the kernel's own packets
// (DNS query, TCP SYNs, oversized datagrams) and the test observes the
// effect on the sockets. It needs root and /dev/net/tun, and skips
// without them.
func TestKernelAcceptsReplies(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	tun := newKernelTUN(t)

	tests := []struct {
		name string
		run  func() error
	}{
		{"v4 UDP reply", func() error { return tun.udpQuery("198.18.9.2") }},
		{"v6 UDP reply", func() error { return tun.udpQuery("2001:db8:9::2") }},
		{"v4 TCP reset", func() error { return tun.dial("198.18.9.2:80", syscall.ECONNREFUSED) }},
		{"v6 TCP reset", func() error { return tun.dial("[2001:db8:9::2]:80", syscall.ECONNREFUSED) }},
		// Linux maps ICMPv4 code 13 to EHOSTUNREACH and ICMPv6 "administratively
		// prohibited" to EACCES (net/ipv4/icmp.c, net/ipv6/icmp.c).
		{"v4 admin prohibited", func() error { return tun.dial("198.18.9.2:81", syscall.EHOSTUNREACH) }},
		{"v6 admin prohibited", func() error { return tun.dial("[2001:db8:9::2]:81", syscall.EACCES) }},
		{"v4 fragmentation needed", func() error { return tun.pmtu("198.18.9.2", 1000) }},
		{"v6 packet too big", func() error { return tun.pmtu("2001:db8:9::2", 1300) }},
	}
	for _, tt := range tests {
		if err := tt.run(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

type kernelTUN struct {
	f *os.File
	// inNS runs f on a thread inside the test's network namespace, so the
	// sockets it creates live there.
	inNS func(f func())
}

func newKernelTUN(t *testing.T) *kernelTUN {
	// A locked goroutine owns a thread that lives in the namespace; it
	// serves inNS calls and exits (killing the thread) when the test ends.
	calls := make(chan func())
	ready := make(chan error)
	done := make(chan struct{})
	var k kernelTUN
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		ready <- k.setup()
		for {
			select {
			case f := <-calls:
				f()
			case <-done:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		close(done)
		if k.f != nil {
			k.f.Close()
		}
		t.Skipf("cannot set up a namespace with a TUN: %v", err)
	}
	responded := make(chan struct{})
	go func() {
		defer close(responded)
		k.respond(t)
	}()
	t.Cleanup(func() {
		close(done)
		k.f.Close() // ends respond
		<-responded
	})
	k.inNS = func(f func()) {
		fin := make(chan struct{})
		calls <- func() { f(); close(fin) }
		<-fin
	}
	return &k
}

func (k *kernelTUN) setup() error {
	ns, err := netns.New() // moves this thread into a fresh namespace
	if err != nil {
		return err
	}
	defer ns.Close()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	ifr, err := unix.NewIfreq("rfpkt0")
	if err != nil {
		unix.Close(fd)
		return err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return err
	}
	k.f = os.NewFile(uintptr(fd), "rfpkt0")
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName("rfpkt0")
	if err != nil {
		return err
	}
	if err := h.LinkSetMTU(link, 1500); err != nil {
		return err
	}
	for _, a := range []string{"198.18.9.1/24", "2001:db8:9::1/64"} {
		addr, err := netlink.ParseAddr(a)
		if err != nil {
			return err
		}
		addr.Flags = unix.IFA_F_NODAD
		if err := h.AddrAdd(link, addr); err != nil {
			return err
		}
	}
	return h.LinkSetUp(link)
}

// respond answers the kernel's packets until the TUN closes: UDP to port
// 53 with a reply, TCP to 80 with a reset, TCP to 81 with "administratively
// prohibited", and UDP to 9999 longer than 1000 (IPv4) or 1300 (IPv6)
// bytes with "fragmentation needed" or "packet too big".
func (k *kernelTUN) respond(t *testing.T) {
	in, out := make([]byte, 65536), make([]byte, 65536)
	for {
		n, err := k.f.Read(in)
		if err != nil {
			return
		}
		pkt := in[:n]
		var info Info
		if Parse(pkt, &info) != nil || !info.HasTransport {
			continue // MLD reports and the like
		}
		v4 := info.Version == 4
		var m int
		switch {
		case info.Proto == ProtoUDP && info.DstPort == 53:
			m, err = BuildUDPReply(out, pkt, []byte("answer"))
		case info.Proto == ProtoTCP && info.DstPort == 80:
			m, err = BuildTCPReset(out, pkt)
		case info.Proto == ProtoTCP && info.DstPort == 81 && v4:
			m, err = BuildICMPv4Unreachable(out, pkt, ICMPv4AdminProhibited, info.Dst)
		case info.Proto == ProtoTCP && info.DstPort == 81:
			m, err = BuildICMPv6Unreachable(out, pkt, ICMPv6AdminProhibited, info.Dst)
		case info.Proto == ProtoUDP && info.DstPort == 9999 && v4 && info.Len > 1000:
			m, err = BuildICMPv4FragNeeded(out, pkt, 1000, info.Dst)
		case info.Proto == ProtoUDP && info.DstPort == 9999 && !v4 && info.Len > 1300:
			m, err = BuildICMPv6PacketTooBig(out, pkt, 1300, info.Dst)
		default:
			continue
		}
		if err != nil {
			t.Errorf("answering %+v: %v", info, err)
			continue
		}
		if _, err := k.f.Write(out[:m]); err != nil {
			t.Errorf("writing reply: %v", err)
		}
	}
}

func (k *kernelTUN) udpQuery(server string) error {
	var c *net.UDPConn
	var err error
	k.inNS(func() {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(server), 53)))
	})
	if err != nil {
		return err
	}
	defer c.Close()
	// Ask again every 100ms, as resolvers do: right after setup the
	// kernel may not yet accept packets for a fresh IPv6 address.
	buf := make([]byte, 100)
	var n int
	for try := 0; ; try++ {
		if _, err := c.Write([]byte("query")); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err = c.Read(buf)
		if err == nil {
			break
		}
		if try == 50 {
			return err
		}
	}
	if string(buf[:n]) != "answer" {
		return errors.New("got " + string(buf[:n]))
	}
	return nil
}

func (k *kernelTUN) dial(addr string, want error) error {
	var err error
	k.inNS(func() {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		if c != nil {
			c.Close()
		}
	})
	if !errors.Is(err, want) {
		return errors.New("dial error " + errString(err) + ", want " + want.Error())
	}
	return nil
}

// pmtu sends an oversized datagram with DF and checks that the kernel
// learned the path MTU from our ICMP error.
func (k *kernelTUN) pmtu(server string, want int) error {
	ip := netip.MustParseAddr(server)
	var c *net.UDPConn
	var err error
	k.inNS(func() {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 9999)))
	})
	if err != nil {
		return err
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	level, discover, mtuOpt, do := unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_MTU, unix.IP_PMTUDISC_DO
	if ip.Is6() {
		level, discover, mtuOpt, do = unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_MTU, unix.IPV6_PMTUDISC_DO
	}
	var sockErr error
	rc.Control(func(fd uintptr) { sockErr = unix.SetsockoptInt(int(fd), level, discover, do) })
	if sockErr != nil {
		return sockErr
	}
	// The kernel learns the MTU from the ICMP error asynchronously and
	// tells no one: polling its cached value is the only way to wait.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.Write(make([]byte, 1400)) // EMSGSIZE once the MTU is learned
		var mtu int
		rc.Control(func(fd uintptr) { mtu, sockErr = unix.GetsockoptInt(int(fd), level, mtuOpt) })
		if sockErr != nil {
			return sockErr
		}
		if mtu == want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("path MTU never changed")
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
