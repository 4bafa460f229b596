//go:build !linux && !darwin && !windows

package report

func osInfo() []string { return nil }
