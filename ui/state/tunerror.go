package state

// TUNError says why the running daemon has no tunnel device (it keeps
// trying), "" when it has one or is not connected.
func (m *Model) TUNError() string {
	if m.daemonGone || !m.haveSnapshot {
		return ""
	}
	return m.tunErr
}
