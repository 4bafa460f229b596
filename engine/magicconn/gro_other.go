//go:build !linux

package magicconn

import (
	"net"
	"net/netip"
)

type groReader struct{}

func newGROReader(net.PacketConn) *groReader { return nil }

func (g *groReader) read(func([]byte, netip.AddrPort)) error { return nil }
