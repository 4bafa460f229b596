package engine

// SetTUNError records why the tunnel device could not be created ("" once
// it exists) and tells watchers. The daemon runs on without a TUN and
// retries; status and watch report the reason (Status.TUNError).
func (e *Engine) SetTUNError(msg string) {
	if old := e.tunErr.Swap(&msg); old != nil && *old == msg {
		return
	}
	e.watchers.notify()
}

func (e *Engine) tunError() string {
	if p := e.tunErr.Load(); p != nil {
		return *p
	}
	return ""
}
