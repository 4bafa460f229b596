package service

import (
	"fmt"

	kservice "github.com/kardianos/service"
)

// Manager is the part of a kardianos service that `ray install`, `start`,
// `stop`, `restart` and `uninstall` use; tests substitute a fake.
type Manager interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Restart() error
	Status() (Status, error)
	Platform() string
}

// Status is a service's state as the service manager reports it.
type Status = kservice.Status

// Status values of Manager.Status.
const (
	StatusUnknown = kservice.StatusUnknown
	StatusRunning = kservice.StatusRunning
	StatusStopped = kservice.StatusStopped
)

// New returns the OS service for spec, running prg when the service manager
// starts it (prg may be nil to only control the service).
func New(spec Spec, prg kservice.Interface) (kservice.Service, error) {
	cfg, err := spec.Config()
	if err != nil {
		return nil, err
	}
	if prg == nil {
		prg = NewProgram(func() (func() error, error) {
			return nil, fmt.Errorf("service: this process only controls the service")
		}, ProgramOptions{})
	}
	s, err := kservice.New(prg, cfg)
	if err != nil {
		return nil, fmt.Errorf("service: %w (platform %q)", err, Platform())
	}
	return s, nil
}

// Interactive reports whether this process runs outside a service manager
// (from a terminal, the tray app or a test).
func Interactive() bool { return kservice.Interactive() }

// Platform names the service manager kardianos detected ("linux-systemd",
// "darwin-launchd", "windows-service", ...), "" if none.
func Platform() string { return kservice.Platform() }
