package engine

import (
	"net"

	"golang.org/x/sys/unix"
)

// socketBuffer is the UDP socket's send and receive buffer size: a burst
// of a fast TCP flow must not overflow the kernel's default ~200 KB.
const socketBuffer = 8 << 20

// growBuffers sets large socket buffers, past net.core.rmem_max when
// running as root (SO_RCVBUFFORCE), else as large as the limit allows.
func growBuffers(c *net.UDPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	forced := false
	rc.Control(func(fd uintptr) {
		e1 := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer)
		e2 := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer)
		forced = e1 == nil && e2 == nil
	})
	if !forced {
		c.SetReadBuffer(socketBuffer)
		c.SetWriteBuffer(socketBuffer)
	}
}
