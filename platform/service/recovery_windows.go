package service

import (
	"fmt"

	"golang.org/x/sys/windows/svc/mgr"
)

// EnsureRecovery sets the recovery actions of the installed Windows service
// name to WindowsRecovery, including for a service that stops with an error
// exit code (not only a crash). It needs the rights the service itself runs
// with (LocalSystem) or an Administrator.
func EnsureRecovery(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("service: open %s: %w", name, err)
	}
	defer s.Close()
	actions, reset := WindowsRecovery()
	ra := make([]mgr.RecoveryAction, len(actions))
	for i, a := range actions {
		ra[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: a.Delay}
	}
	if err := s.SetRecoveryActions(ra, uint32(reset.Seconds())); err != nil {
		return fmt.Errorf("service: set recovery actions of %s: %w", name, err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("service: set recovery on non-crash failures of %s: %w", name, err)
	}
	return nil
}
