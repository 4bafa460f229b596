package service

import "time"

// RecoveryAction is one Windows service recovery action: restart the service
// after Delay.
type RecoveryAction struct {
	Delay time.Duration
}

// WindowsRecovery is the recovery policy of the Windows service: restart
// after every failure (Windows repeats the last action for the third and
// later failures), counted over WindowsFailureResetSeconds. kardianos sets a
// single action at install; the MSI cannot express recovery actions with
// wixl, so the service re-applies this policy itself at every start
// (EnsureRecovery).
func WindowsRecovery() ([]RecoveryAction, time.Duration) {
	d := RestartDelaySeconds * time.Second
	return []RecoveryAction{{d}, {d}, {d}}, WindowsFailureResetSeconds * time.Second
}
