//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mdns

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// reuseAddr lets the socket share the mDNS port with avahi or
// mDNSResponder: both set SO_REUSEADDR, mDNSResponder also SO_REUSEPORT.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("set address reuse: %w", err)
	}
	return nil
}

// isAlreadyJoined reports whether a group join failed because the socket
// is a member already.
func isAlreadyJoined(err error) bool { return errors.Is(err, unix.EADDRINUSE) }
