//go:build !linux && !darwin

package autostart

func defaultManager(string, []string) Manager { return unsupported{} }
