package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// mconn is one multicast UDP socket, IPv4 or IPv6, bound to the wildcard
// address and the mDNS port with address reuse so that it shares the port
// with the system's mDNS responder.
type mconn struct {
	v6    bool
	group netip.AddrPort
	pc    net.PacketConn
	p4    *ipv4.PacketConn // set for IPv4
	p6    *ipv6.PacketConn // set for IPv6

	// writeMu serializes choosing the outgoing interface and writing.
	writeMu sync.Mutex
}

// listen opens the socket of group's family on group's port.
func listen(group netip.AddrPort) (*mconn, error) {
	c := &mconn{v6: group.Addr().Is6(), group: group}
	network, laddr := "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), group.Port())
	if c.v6 {
		network, laddr = "udp6", netip.AddrPortFrom(netip.IPv6Unspecified(), group.Port())
	}
	lc := net.ListenConfig{Control: reuseAddr}
	pc, err := lc.ListenPacket(context.Background(), network, laddr.String())
	if err != nil {
		return nil, fmt.Errorf("mdns listen %s: %w", laddr, err)
	}
	c.pc = pc
	// Options below are best effort: without the interface control
	// message we answer queries on every interface, and the defaults of
	// the others work too.
	if c.v6 {
		c.p6 = ipv6.NewPacketConn(pc)
		_ = c.p6.SetMulticastHopLimit(255) // RFC 6762 §11
		_ = c.p6.SetMulticastLoopback(true)
		_ = c.p6.SetControlMessage(ipv6.FlagInterface, true)
	} else {
		c.p4 = ipv4.NewPacketConn(pc)
		_ = c.p4.SetMulticastTTL(255)
		_ = c.p4.SetMulticastLoopback(true)
		_ = c.p4.SetControlMessage(ipv4.FlagInterface, true)
	}
	return c, nil
}

func (c *mconn) family() string {
	if c.v6 {
		return "ipv6"
	}
	return "ipv4"
}

func (c *mconn) groupAddr() net.Addr {
	return &net.UDPAddr{IP: c.group.Addr().AsSlice()}
}

// join joins the group on ifi.
func (c *mconn) join(ifi *net.Interface) error {
	if c.v6 {
		return c.p6.JoinGroup(ifi, c.groupAddr())
	}
	return c.p4.JoinGroup(ifi, c.groupAddr())
}

// leave leaves the group on ifi.
func (c *mconn) leave(ifi *net.Interface) error {
	if c.v6 {
		return c.p6.LeaveGroup(ifi, c.groupAddr())
	}
	return c.p4.LeaveGroup(ifi, c.groupAddr())
}

// multicast sends b to the group out of ifi.
func (c *mconn) multicast(b []byte, ifi *net.Interface) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	dst := net.UDPAddrFromAddrPort(c.group)
	var err error
	if c.v6 {
		if err = c.p6.SetMulticastInterface(ifi); err == nil {
			_, err = c.p6.WriteTo(b, nil, dst)
		}
	} else {
		if err = c.p4.SetMulticastInterface(ifi); err == nil {
			_, err = c.p4.WriteTo(b, nil, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("mdns send %s on %s: %w", c.family(), ifi.Name, err)
	}
	return nil
}

// unicast sends b to dst.
func (c *mconn) unicast(b []byte, dst netip.AddrPort) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.pc.WriteTo(b, net.UDPAddrFromAddrPort(dst)); err != nil {
		return fmt.Errorf("mdns reply to %s: %w", dst, err)
	}
	return nil
}

// read reads one datagram. ifIndex is the receiving interface, or 0 if
// the platform does not tell.
func (c *mconn) read(b []byte) (n, ifIndex int, from netip.AddrPort, err error) {
	var src net.Addr
	if c.v6 {
		var cm *ipv6.ControlMessage
		n, cm, src, err = c.p6.ReadFrom(b)
		if cm != nil {
			ifIndex = cm.IfIndex
		}
	} else {
		var cm *ipv4.ControlMessage
		n, cm, src, err = c.p4.ReadFrom(b)
		if cm != nil {
			ifIndex = cm.IfIndex
		}
	}
	if err != nil {
		return 0, 0, netip.AddrPort{}, err
	}
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		return 0, 0, netip.AddrPort{}, errors.New("mdns: non-UDP source address")
	}
	ap := ua.AddrPort()
	return n, ifIndex, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func (c *mconn) close() error { return c.pc.Close() }
