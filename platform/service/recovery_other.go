//go:build !windows

package service

// EnsureRecovery does nothing outside Windows: the systemd unit and the
// launchd plist carry the restart policy.
func EnsureRecovery(name string) error { return nil }
