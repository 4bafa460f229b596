//go:build !windows

package main

import "errors"

// editSystemPath is Windows-only: elsewhere packages put ray in /usr/bin or
// /usr/local/bin.
func editSystemPath(add bool, dir string) (bool, error) {
	return false, errors.New("only on Windows")
}
