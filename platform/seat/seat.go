// Package seat tells who is at the machine, for deciding who may change
// rayfish without being root: the users of the active local graphical
// sessions (Linux, from systemd-logind over the system D-Bus), the owner of
// /dev/console (darwin), or the session on the console (Windows); and the id
// of the group whose members may change rayfish ("rayfish" on Linux, "admin"
// on darwin).
//
// Probe only gathers facts; the decision is the caller's (see
// engine/localapi's Authorize).
package seat

import "context"

// NoSession is Machine.ConsoleSession when no session is on the console.
const NoSession = 0xFFFFFFFF

// Machine is a snapshot of who is at the machine.
type Machine struct {
	// Present are the uids of the users at the machine: those with an
	// active, local (not remote) logind session on a seat on Linux, the
	// owner of /dev/console on darwin. Empty on Windows.
	Present []int
	// ConsoleSession is the Windows session attached to the physical
	// console, NoSession if none (and elsewhere).
	ConsoleSession uint32
	// GroupGID is the id of the group whose members may change rayfish
	// (Group), -1 if there is no such group or no groups (Windows).
	GroupGID int
}

// IsPresent reports whether uid is among m.Present.
func (m Machine) IsPresent(uid int) bool {
	for _, u := range m.Present {
		if u == uid {
			return true
		}
	}
	return false
}

// Probe returns who is at the machine now. When part of the answer cannot
// be had (no logind, no /dev/console), Probe returns what it has and an
// error saying what was missing; nobody is then counted as present from
// that source.
func Probe(ctx context.Context) (Machine, error) { return probe(ctx) }
