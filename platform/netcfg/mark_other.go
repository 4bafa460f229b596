//go:build !linux

package netcfg

import "syscall"

// Control is a net.ListenConfig / net.Dialer Control function that marks
// the socket with FwMark on Linux; off Linux it does nothing: the route
// plans there exclude the daemon's underlay paths by destination
// (Exit.Exclude) instead.
func Control(network, address string, c syscall.RawConn) error { return nil }
