//go:build !linux && !darwin

package autostart

func defaultManager(string) Manager { return unsupported{} }
