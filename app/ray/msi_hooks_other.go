//go:build !windows

package main

import (
	"context"
	"errors"
)

var errWindowsOnly = errors.New("only the Windows installer uses this")

func kickService(string) error { return errWindowsOnly }

func runNetsh(context.Context, []string) (string, error) { return "", errWindowsOnly }
