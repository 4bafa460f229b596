package tun

import (
	"errors"
	"fmt"
	"strings"
)

// Stale Wintun adapters (Windows).
//
// What wireguard-go's tun.CreateTUN does on Windows when an adapter with the
// requested name already exists (Wintun 0.14, the version its loader
// expects): WintunCreateAdapter always creates a new software device; when
// the name is taken, it renames the other adapter to "NAME 1" (or the next
// free suffix) and gives the new one NAME. So a second adapter never makes
// Create fail, but a leftover one lingers under a suffixed name. Wintun ties
// a created adapter to the handle of the process that created it: when that
// process dies, Windows marks the device not present and Wintun itself
// removes such orphans, asynchronously, on its next create, open or close
// (AdapterCleanupOrphanedDevices). What it does not remove is an adapter that
// is still present after a crash (a hung or killed service whose device
// stayed up, or a half-removed device after a failed uninstall): that one
// keeps its name, its addresses and, worse, its routes and DNS servers,
// which is the "only a reinstall fixes it" failure.
//
// RemoveStale is therefore called before Create when no other daemon is
// running (the local API endpoint is free): it removes, through SetupAPI
// (DIF_REMOVE), every Wintun device of rayfish's tunnel type whose name is
// NAME or a renamed "NAME N", present or not. Create then makes a fresh
// adapter. Adapters of other tunnel types (WireGuard's own, other VPNs) are
// never touched, even with a matching name.

// TunnelType is the Wintun tunnel type of rayfish's adapters; Windows shows
// their device description as "rayfish Tunnel".
const TunnelType = "rayfish"

// adapter is one Wintun network device as SetupAPI lists it.
type adapter struct {
	InstanceID  string // device instance ID, SWD\Wintun\{GUID}
	Name        string // Wintun's adapter name property
	Description string // device description: "<tunnel type> Tunnel"
	Present     bool   // the device node is present (not an orphan)
}

// adapterOps lists and removes Wintun devices; stale_windows.go implements
// it with SetupAPI, tests with a fake.
type adapterOps interface {
	List() ([]adapter, error)
	Remove(instanceID string) error
}

// isStale reports whether a is a rayfish adapter for the interface name:
// rayfish's tunnel type, and the name itself or Wintun's collision rename
// "name N" (compared case-insensitively, as Windows does).
func isStale(a adapter, name string) bool {
	if !strings.EqualFold(a.Description, TunnelType+" Tunnel") || name == "" {
		return false
	}
	if strings.EqualFold(a.Name, name) {
		return true
	}
	if len(a.Name) <= len(name)+1 || !strings.EqualFold(a.Name[:len(name)], name) || a.Name[len(name)] != ' ' {
		return false
	}
	suffix := a.Name[len(name)+1:]
	return len(suffix) <= 4 && strings.Trim(suffix, "0123456789") == ""
}

// removeStale removes the stale adapters for name and returns a description
// of each one removed. It tries every candidate and joins the errors.
func removeStale(ops adapterOps, name string) ([]string, error) {
	list, err := ops.List()
	if err != nil {
		return nil, fmt.Errorf("tun: list Wintun adapters: %w", err)
	}
	var removed []string
	var errs []error
	for _, a := range list {
		if !isStale(a, name) {
			continue
		}
		state := "present"
		if !a.Present {
			state = "orphaned"
		}
		if err := ops.Remove(a.InstanceID); err != nil {
			errs = append(errs, fmt.Errorf("tun: remove stale adapter %q (%s): %w", a.Name, a.InstanceID, err))
			continue
		}
		removed = append(removed, fmt.Sprintf("%q %s (%s)", a.Name, a.InstanceID, state))
	}
	return removed, errors.Join(errs...)
}
