package magicconn

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// gsoWriter sends segment trains with the UDP_SEGMENT control message.
type gsoWriter struct {
	uc *net.UDPConn
}

// newGSOWriter returns a writer when pc is a real UDP socket on a kernel
// that knows UDP_SEGMENT; nil otherwise.
func newGSOWriter(pc net.PacketConn) *gsoWriter {
	uc := controlUDP(pc, func(fd int) error {
		_, err := unix.GetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		return err
	})
	if uc == nil {
		return nil
	}
	return &gsoWriter{uc: uc}
}

// controlUDP runs fn on pc's socket and returns pc as a *net.UDPConn, or
// nil when pc is not a real UDP socket or fn fails.
func controlUDP(pc net.PacketConn, fn func(fd int) error) *net.UDPConn {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil || ferr != nil {
		return nil
	}
	return uc
}

// writeGSO sends buf to dst cut into segSize datagrams by the kernel.
func (w *gsoWriter) writeGSO(buf []byte, segSize int, dst netip.AddrPort) error {
	var oob [unix.SizeofCmsghdr + 8]byte // CMSG_SPACE(2)
	h := (*unix.Cmsghdr)(unsafePointer(&oob[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.SizeofCmsghdr:], uint16(segSize))
	_, _, err := w.uc.WriteMsgUDPAddrPort(buf, oob[:unix.CmsgSpace(2)], dst)
	return err
}

// isGSOUnsupported reports errors meaning the path cannot take GSO (the
// device lacks checksum offload, or an old kernel).
func isGSOUnsupported(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)
}
