package state

import "github.com/rayfish/rayfish/engine/localapi/apitype"

// Removed returns the networks an admin removed this device from, or
// deleted, until the user dismisses them (a leave) or joins again. The
// slice is the model's: do not modify it.
func (m *Model) Removed() []apitype.RemovedNetwork { return m.removed }

// RemovedText is the notice for one removed network.
func RemovedText(r apitype.RemovedNetwork) string {
	when := ""
	if !r.Time.IsZero() {
		when = " (" + r.Time.Local().Format("Jan 2 15:04 MST") + ")"
	}
	if r.Deleted {
		return r.Name + " was deleted by an admin" + when
	}
	return "You were removed from " + r.Name + " by an admin" + when
}
