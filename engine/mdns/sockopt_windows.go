package mdns

import (
	"errors"
	"fmt"
	"syscall"
)

// reuseAddr lets the socket share the mDNS port with the system's own
// mDNS responder.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("set address reuse: %w", err)
	}
	return nil
}

// wsaeaddrinuse is WSAEADDRINUSE.
const wsaeaddrinuse = syscall.Errno(10048)

// isAlreadyJoined reports whether a group join failed because the socket
// is a member already.
func isAlreadyJoined(err error) bool { return errors.Is(err, wsaeaddrinuse) }
