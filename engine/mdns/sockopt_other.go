//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package mdns

import "syscall"

// reuseAddr does nothing here: the socket gets the port only if nothing
// else holds it.
func reuseAddr(_, _ string, _ syscall.RawConn) error { return nil }

// isAlreadyJoined reports whether a group join failed because the socket
// is a member already.
func isAlreadyJoined(err error) bool { return false }
