package main

import (
	"context"
	"errors"
	"os/exec"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// kickService asks the service manager to start the service and returns
// as soon as it has (or the service already runs).
func kickService(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return err
	}
	return nil
}

// runNetsh runs netsh.exe with argv and returns its combined output.
func runNetsh(ctx context.Context, argv []string) (string, error) {
	out, err := exec.CommandContext(ctx, "netsh.exe", argv...).CombinedOutput()
	return string(out), err
}
