//go:build !linux

package magicconn

import (
	"net"
	"net/netip"
)

type gsoWriter struct{}

func newGSOWriter(net.PacketConn) *gsoWriter { return nil }

func (w *gsoWriter) writeGSO([]byte, int, netip.AddrPort) error { return nil }

func isGSOUnsupported(error) bool { return true }
