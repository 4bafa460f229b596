package natlab

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/magicconn/internal/deadline"
)

// datagram is a packet waiting on a socket.
type datagram struct {
	bp  *[]byte
	n   int
	src netip.AddrPort
	at  time.Time // when it arrives, while on the wire
}

// Conn is a UDP socket on a simulated host. It implements net.PacketConn;
// its methods are safe for concurrent use.
type Conn struct {
	host *Host
	port uint16
	rx   chan datagram

	done      chan struct{}
	closeOnce sync.Once
	rd        *deadline.Deadline

	// Datagrams on the wire toward the socket, in order of arrival, and
	// the timer that moves them to rx (see Network.SetLatency).
	wireMu    sync.Mutex
	wire      []datagram
	wireTimer *time.Timer
}

var _ net.PacketConn = (*Conn)(nil)

func newConn(h *Host, port uint16) *Conn {
	return &Conn{
		host: h,
		port: port,
		rx:   make(chan datagram, rxQueueLen),
		done: make(chan struct{}),
		rd:   deadline.New(),
	}
}

// arriveAt queues d on the socket at time at.
func (c *Conn) arriveAt(d datagram, at time.Time) {
	c.wireMu.Lock()
	defer c.wireMu.Unlock()
	d.at = at
	c.wire = append(c.wire, d)
	for i := len(c.wire) - 1; i > 0 && c.wire[i].at.Before(c.wire[i-1].at); i-- {
		c.wire[i], c.wire[i-1] = c.wire[i-1], c.wire[i]
	}
	if len(c.wire) == 1 {
		c.wireTimer = time.AfterFunc(time.Until(at), c.arrive)
	}
}

// arrive queues the datagrams due and waits for the next.
func (c *Conn) arrive() {
	c.wireMu.Lock()
	defer c.wireMu.Unlock()
	now := time.Now()
	i := 0
	for ; i < len(c.wire) && !c.wire[i].at.After(now); i++ {
		c.host.net.enqueue(c, c.wire[i])
	}
	c.wire = append(c.wire[:0], c.wire[i:]...)
	if len(c.wire) > 0 {
		c.wireTimer = time.AfterFunc(c.wire[0].at.Sub(now), c.arrive)
	}
}

// Port returns the socket's port.
func (c *Conn) Port() uint16 { return c.port }

// LocalAddrPort returns the host's first address with the socket's port.
func (c *Conn) LocalAddrPort() netip.AddrPort {
	ips := c.host.IPs()
	if len(ips) == 0 {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), c.port)
	}
	return netip.AddrPortFrom(ips[0], c.port)
}

// LocalAddr implements net.PacketConn.
func (c *Conn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.LocalAddrPort()) }

// ReadFromUDPAddrPort reads one datagram, like the *net.UDPConn method. It
// does not allocate.
func (c *Conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	default:
	}
	select {
	case d := <-c.rx:
		n := copy(b, (*d.bp)[:d.n])
		c.host.net.pool.Put(d.bp)
		return n, d.src, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	case <-c.rd.Wait():
		return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
	}
}

// ReadFrom implements net.PacketConn.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, src, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(src), nil
}

// WriteToUDPAddrPort sends one datagram, like the *net.UDPConn method. A
// packet the network drops is reported as sent; sending to an address
// family the host has no address of fails with ErrNoRoute.
func (c *Conn) WriteToUDPAddrPort(b []byte, dst netip.AddrPort) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	n := c.host.net
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(b) > n.maxPayload {
		n.ctr.tooBig.Add(1)
		return len(b), nil // lost on a link with a smaller MTU
	}
	ip, ok := c.host.sourceLocked(dst.Addr())
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(dst), Err: ErrNoRoute}
	}
	n.routeLocked(c.host, netip.AddrPortFrom(ip, c.port), dst, b, now)
	return len(b), nil
}

// WriteTo implements net.PacketConn; addr must be a *net.UDPAddr.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: net.InvalidAddrError("not a UDP address")}
	}
	return c.WriteToUDPAddrPort(b, ua.AddrPort())
}

// Close closes the socket; blocked reads return net.ErrClosed. It is
// idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.host.removeConn(c)
		c.wireMu.Lock()
		if c.wireTimer != nil {
			c.wireTimer.Stop()
		}
		c.wire = nil
		c.wireMu.Unlock()
	})
	return nil
}

// SetDeadline implements net.PacketConn; only reads have deadlines, since
// writes never block.
func (c *Conn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rd.Set(t)
	return nil
}

// SetWriteDeadline implements net.PacketConn; writes never block.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }
