package engine

import "github.com/rayfish/rayfish/engine/netmap"

// RecordForTest returns the endpoint record this node advertises.
func (e *Engine) RecordForTest() netmap.EndpointRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.myRecord
}
