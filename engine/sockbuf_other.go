//go:build !linux

package engine

import "net"

const socketBuffer = 8 << 20

// growBuffers asks for large socket buffers.
func growBuffers(c *net.UDPConn) {
	c.SetReadBuffer(socketBuffer)
	c.SetWriteBuffer(socketBuffer)
}
