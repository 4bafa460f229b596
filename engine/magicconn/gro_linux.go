package magicconn

import (
	"encoding/binary"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// groReader reads coalesced UDP datagrams (UDP_GRO): one read returns
// many same-size datagrams from one sender, and a control message tells
// their size. It cuts down the receive path's system calls the way GSO
// cuts the send path's.
type groReader struct {
	uc  *net.UDPConn
	buf []byte
	oob []byte
}

// newGROReader turns UDP_GRO on for pc when it is a real UDP socket on a
// kernel that has it; nil otherwise.
func newGROReader(pc net.PacketConn) *groReader {
	uc := controlUDP(pc, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_GRO, 1)
	})
	if uc == nil {
		return nil
	}
	return &groReader{uc: uc, buf: make([]byte, 65535), oob: make([]byte, unix.CmsgSpace(4))}
}

// read reads one (possibly coalesced) datagram and calls fn for each
// datagram in it. It returns the read's error.
func (g *groReader) read(fn func(b []byte, src netip.AddrPort)) error {
	n, oobn, _, src, err := g.uc.ReadMsgUDPAddrPort(g.buf, g.oob)
	if err != nil {
		return err
	}
	seg := groSegSize(g.oob[:oobn])
	if seg <= 0 {
		seg = n
	}
	for off := 0; off < n; off += seg {
		fn(g.buf[off:min(off+seg, n)], src)
	}
	return nil
}

// groSegSize returns the datagram size a UDP_GRO control message in oob
// reports, or 0 when there is none. It parses in place: the receive path
// does not allocate (unix.ParseSocketControlMessage would, per read).
func groSegSize(oob []byte) int {
	hdr := unix.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafePointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO {
			switch data := oob[hdr:l]; {
			case len(data) >= 4:
				return int(binary.NativeEndian.Uint32(data))
			case len(data) >= 2:
				return int(binary.NativeEndian.Uint16(data))
			}
			return 0
		}
		oob = oob[min(unix.CmsgSpace(l-hdr), len(oob)):]
	}
	return 0
}
