//go:build !linux

package dns

// isMountPoint is only needed for Linux network namespaces.
func isMountPoint(string) bool { return false }
