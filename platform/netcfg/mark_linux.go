package netcfg

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// markSocket sets SO_MARK=FwMark on socket fd, so that its traffic keeps
// the main routing table while an exit node is in use. It needs
// CAP_NET_ADMIN.
func markSocket(fd uintptr) error {
	if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, FwMark); err != nil {
		return fmt.Errorf("netcfg: mark socket: %w", err)
	}
	return nil
}

// Control is a net.ListenConfig / net.Dialer Control function that marks
// the socket with markSocket.
func Control(network, address string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) { err = markSocket(fd) }); cerr != nil {
		return fmt.Errorf("netcfg: mark socket: %w", cerr)
	}
	return err
}
