//go:build !windows

package tun

// RemoveStale removes adapters named name left by a crashed daemon. On
// Linux and darwin there are none: TUN and utun devices vanish with the file
// descriptor of the process that made them, so it does nothing.
func RemoveStale(name string) ([]string, error) { return nil, nil }
