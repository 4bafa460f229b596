package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// isAdmin reports whether ray runs with an elevated token.
func isAdmin() bool { return windows.GetCurrentProcessToken().IsElevated() }

// elevate runs this ray binary again with args through the UAC prompt
// ("runas"), in a hidden window, and returns without waiting for it.
func elevate(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = syscall.EscapeArg(a)
	}
	verb, err := windows.UTF16PtrFromString("runas")
	if err != nil {
		return err
	}
	file, err := windows.UTF16PtrFromString(exe)
	if err != nil {
		return err
	}
	params, err := windows.UTF16PtrFromString(strings.Join(quoted, " "))
	if err != nil {
		return err
	}
	if err := windows.ShellExecute(0, verb, file, params, nil, windows.SW_HIDE); err != nil {
		return fmt.Errorf("UAC prompt: %w", err)
	}
	return nil
}
