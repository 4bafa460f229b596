//go:build !linux && !darwin && !windows

package autostart

func defaultManager(string, []string) Manager { return unsupported{} }
