package main

import "github.com/rayfish/rayfish/platform/netcfg"

// cleanupNet removes what a crashed daemon left outside its TUN (exit
// node rules, forwarding, the overlay guard); harmless when nothing is
// left.
func cleanupNet(tunName string) error { return netcfg.Cleanup(tunName) }
