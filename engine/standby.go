package engine

import (
	"errors"
	"sync"

	"github.com/rayfish/rayfish/engine/key"
)

// Standby (ray down) is visible to peers: a node tells every connected
// peer when its data plane goes down or up (msgState, and the standby
// flag of its hello), and peers show it as standby rather than online.

// errStandby is why nothing is pinged or sent while this node is down.
var errStandby = errors.New("rayfish is down (standby): no traffic flows; run ray up first")

// standbyPeers records which peers said they are in standby. Lock order:
// e.mu, then standbyPeers.mu.
type standbyPeers struct {
	mu sync.Mutex
	m  map[key.NodePublic]bool
	// sendMu serializes announcements, so the last one sent carries the
	// current state.
	sendMu sync.Mutex
}

func (s *standbyPeers) set(k key.NodePublic, standby bool) (changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[k] == standby {
		return false
	}
	if !standby {
		delete(s.m, k)
		return true
	}
	if s.m == nil {
		s.m = map[key.NodePublic]bool{}
	}
	s.m[k] = true
	return true
}

func (s *standbyPeers) has(k key.NodePublic) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}

// peerStandby records what p said about its data plane.
func (e *Engine) peerStandby(p *peer, standby bool) {
	if e.standby.set(p.key, standby) {
		e.log.Info("peer state", "peer", p.key.ShortString(), "standby", standby)
		e.watchers.notify()
	}
}

// announceState tells every connected peer whether this node is in
// standby. It returns at once; an owned goroutine sends.
func (e *Engine) announceState() {
	e.goRoutine(func() {
		e.standby.sendMu.Lock()
		defer e.standby.sendMu.Unlock()
		e.mu.Lock()
		var targets []*peerConn
		for _, p := range e.peers {
			if pc := p.cur.Load(); pc != nil {
				targets = append(targets, pc)
			}
		}
		e.mu.Unlock()
		msg := &ctrlMsg{Type: msgState, Standby: !e.dp.Up()}
		for _, pc := range targets {
			e.sendCtrl(pc, msg)
		}
	})
}
