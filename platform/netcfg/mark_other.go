//go:build !linux

package netcfg

import "syscall"

// markSocket does nothing off Linux: the route plans there exclude the
// daemon's underlay paths by destination (Exit.Exclude) instead.
func markSocket(fd uintptr) error { return nil }

// Control is a net.ListenConfig / net.Dialer Control function that marks
// the socket with markSocket (nothing to do off Linux).
func Control(network, address string, c syscall.RawConn) error { return nil }
