//go:build gui

package views

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

// adminNetworks are the networks p is in where this device is an admin, in
// the order p lists them.
func adminNetworks(m *state.Model, p apitype.Peer) []string {
	var out []string
	for _, name := range p.Networks {
		if slices.ContainsFunc(m.Networks(), func(n apitype.Network) bool { return n.Name == name && n.Admin }) {
			out = append(out, name)
		}
	}
	return out
}

// adminMenu is the peer row's "…" menu: remove p from, or share or withdraw
// admin rights in, each network p is in where this device is an admin. It
// is nil when there is no such network. Every item asks first.
func (t *peersTab) adminMenu(p apitype.Peer) *fyne.Menu {
	nets := adminNetworks(t.model, p)
	if len(nets) == 0 {
		return nil
	}
	name := peerLabel(p)
	var items []*fyne.MenuItem
	for _, n := range nets {
		items = append(items,
			fyne.NewMenuItem("Remove from "+n+"…", func() {
				t.confirmAdmin("Remove "+name+" from "+n+"?",
					name+" can no longer reach the members of "+n+", and no invite issued before now lets it back in.",
					"Removed "+name+" from "+n,
					func(done func(apitype.RemoveResponse, error)) { t.ctl.Remove(n, p.ID, done) })
			}),
			fyne.NewMenuItem("Make admin of "+n+"…", func() {
				t.confirmAdmin("Make "+name+" an admin of "+n+"?",
					name+" receives the network's signing secret and can then invite, approve and remove members.",
					name+" is now an admin of "+n,
					func(done func(apitype.RemoveResponse, error)) { t.ctl.SetAdmin(n, p.ID, true, done) })
			}),
			fyne.NewMenuItem("Remove admin of "+n+"…", func() {
				t.confirmAdmin("Withdraw "+name+"'s admin rights in "+n+"?",
					name+"'s node drops the network secret, but a node that does not follow the protocol still holds it:\nRekey… "+n+" in the Networks tab afterwards, so that its signatures are refused.",
					name+" is no longer an admin of "+n+"; rekey "+n+" (Networks tab) so that the old key signs nothing more",
					func(done func(apitype.RemoveResponse, error)) { t.ctl.SetAdmin(n, p.ID, false, done) })
			}),
		)
	}
	return fyne.NewMenu("", items...)
}

// confirmAdmin asks title/msg, then runs the call; the result goes below
// the list, an error (as the daemon words it) into a dialog.
func (t *peersTab) confirmAdmin(title, msg, ok string, run func(done func(apitype.RemoveResponse, error))) {
	showConfirm(t.win, title, msg, func(yes bool) {
		if !yes {
			return
		}
		run(func(_ apitype.RemoveResponse, err error) {
			if err != nil {
				t.result.SetText(err.Error())
				showError(t.win, err)
				return
			}
			t.result.SetText(ok + ".")
		})
	})
}

// showAdminMenu pops the admin menu up under the row's "…" button.
func (r *peerRow) showAdminMenu() {
	m := r.tab.adminMenu(r.p)
	if m == nil {
		return
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(r.more)
	if c == nil {
		return
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(r.more).AddXY(0, r.more.Size().Height)
	widget.ShowPopUpMenuAtPosition(m, c, pos)
}

// peerLabel is p's hostname, or its short id.
func peerLabel(p apitype.Peer) string {
	if p.Hostname != "" {
		return p.Hostname
	}
	return state.ShortID(p.ID)
}
