package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Renaming this node in a network: the roster is signed by the network
// key, so an admin renames itself at once and a member asks the admins it
// is connected to, then waits for the roster carrying its new name.

// renameWait bounds how long a member waits for an admin to sign its new
// name.
const renameWait = 10 * time.Second

// renameResend is how often a waiting rename request is sent again.
const renameResend = 2 * time.Second

// SetHostname renames this node in network to name. A name another
// member holds, or an invalid one, is an error that changes nothing.
func (e *Engine) SetHostname(ctx context.Context, network, name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	e.mu.Lock()
	n, err := e.networkLocked(network)
	if err == nil {
		err = n.Roster.CheckRename(e.self, name)
	}
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if m, _ := n.Roster.Member(e.self); m.Hostname == name {
		e.mu.Unlock()
		return nil
	}
	if n.IsAdmin() {
		defer e.flushSaved() // after the unlock below
		defer e.mu.Unlock()
		return e.renameLocked(n, e.self, name)
	}
	// Ask every connected admin; the first to sign wins.
	asked := e.askRenameLocked(n, name)
	id, netName := n.ID, n.Name
	e.mu.Unlock()
	if asked == 0 {
		return fmt.Errorf("no admin of %q is online to sign the new name; try again when one is", netName)
	}
	return e.awaitHostname(ctx, id, netName, name)
}

// askRenameLocked sends a rename request for this node to every connected
// admin of n and returns how many it asked. Asking again is harmless: an
// admin that already signed the name changes nothing.
func (e *Engine) askRenameLocked(n *netmap.Network, name string) int {
	req := &ctrlMsg{Type: msgRename, Rename: &renameReq{Network: n.ID, Hostname: name}}
	asked := 0
	for _, a := range n.Roster.Admins() {
		if p := e.peers[a]; p != nil {
			if pc := p.cur.Load(); pc != nil {
				e.sendCtrl(pc, req)
				asked++
			}
		}
	}
	return asked
}

// awaitHostname waits until the roster of network id names this node
// name.
func (e *Engine) awaitHostname(ctx context.Context, id key.NetworkPublic, netName, name string) error {
	ch, cancel := e.Subscribe()
	defer cancel()
	timer := time.NewTimer(renameWait)
	defer timer.Stop()
	// A request can be lost with the connection it went on (two nodes that
	// dialed each other at once keep one connection and close the other),
	// so it is sent again on the admins' current connections meanwhile.
	resend := time.NewTicker(renameResend)
	defer resend.Stop()
	again := false
	for {
		e.mu.Lock()
		var got string
		n := e.state.ByID(id)
		if n != nil {
			m, _ := n.Roster.Member(e.self)
			got = m.Hostname
			if again && got != name {
				e.askRenameLocked(n, name)
			}
		}
		e.mu.Unlock()
		again = false
		switch {
		case n == nil:
			return fmt.Errorf("no longer a member of %q", netName)
		case got == name:
			return nil
		}
		select {
		case _, ok := <-ch:
			if !ok {
				return errors.New("rayfish is stopping")
			}
		case <-resend.C:
			again = true
		case <-timer.C:
			return fmt.Errorf("no admin of %q signed the name %q within %v (taken meanwhile, or the admins are unreachable); see ray status", netName, name, renameWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// renameLocked renames node in n (this node admins n) and publishes the
// roster.
func (e *Engine) renameLocked(n *netmap.Network, node key.NodePublic, name string) error {
	changed, err := n.SetHostname(node, name, time.Now())
	if err != nil || !changed {
		return err
	}
	e.saveLocked()
	e.recomputeLocked()
	e.gossipRosterLocked(n.ID, key.NodePublic{})
	e.log.Info("member renamed", "network", n.Name, "node", node.ShortString(), "hostname", name)
	return nil
}

// handleRename serves a member's request for a new name: only for
// itself, in a network this node admins.
func (e *Engine) handleRename(from *peer, req renameReq) {
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.state.ByID(req.Network)
	if n == nil || !n.IsAdmin() || !isMember(n, from.key) || len(req.Hostname) > netmap.MaxHostnameLen {
		return
	}
	if err := e.renameLocked(n, from.key, req.Hostname); err != nil {
		e.log.Info("rename refused", "network", n.Name, "node", from.key.ShortString(), "err", err)
	}
}
