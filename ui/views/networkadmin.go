//go:build gui

package views

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

// drawRemoved shows "You were removed from NETWORK" (or "NETWORK was
// deleted") with Dismiss, which leaves the network as `ray leave` does and
// so clears the notice.
func (t *networksTab) drawRemoved(rs []apitype.RemovedNetwork) {
	t.removed.RemoveAll()
	if len(rs) == 0 {
		t.removedCard.Hide()
		return
	}
	t.removedCard.Show()
	for _, r := range rs {
		text := widget.NewLabel(state.RemovedText(r))
		text.Importance = widget.WarningImportance
		text.Wrapping = fyne.TextWrapWord
		var dismiss *widget.Button
		dismiss = widget.NewButton("Dismiss", func() {
			dismiss.Disable()
			t.ctl.Leave(r.Name, func(err error) {
				if err != nil {
					dismiss.Enable()
					showError(t.win, err)
				}
			})
		})
		t.removed.Add(container.NewBorder(nil, nil, nil, dismiss, text))
	}
}

// adminButtons are a network row's Rename… (any member), and Invites…,
// Rekey… and Delete… (admins).
func (t *networksTab) adminButtons(n apitype.Network) []fyne.CanvasObject {
	out := []fyne.CanvasObject{widget.NewButtonWithIcon("Rename…", theme.DocumentCreateIcon(), func() { t.rename(n) })}
	if n.Admin {
		out = append(out,
			widget.NewButtonWithIcon("Invites…", theme.ListIcon(), func() { t.showInvites(n.Name) }),
			widget.NewButtonWithIcon("Rekey…", theme.ViewRefreshIcon(), func() { t.confirmRekey(n.Name) }),
			widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), func() { t.confirmDelete(n.Name) }))
	}
	return out
}

// rename asks for this device's new name in n.
func (t *networksTab) rename(n apitype.Network) {
	t.renameEntry = newEntry()
	t.renameEntry.SetText(n.Hostname)
	entry := t.renameEntry
	body := container.NewVBox(widget.NewLabel("This device's name in "+n.Name+" (unique in the network):"), entry)
	showCustomConfirm(t.win, "Rename this device", "Rename", "Cancel", body, func(ok bool) {
		name := strings.TrimSpace(entry.Text)
		if !ok || name == "" || name == n.Hostname {
			return
		}
		t.ctl.SetHostname(n.Name, name, func(err error) {
			if err != nil {
				showError(t.win, err)
			}
		})
	})
}

func (t *networksTab) confirmDelete(name string) {
	showConfirm(t.win, "Delete "+name+"?",
		"This dissolves "+name+" for every member: they all stop reaching each other through it,\nand nobody can join it again. It cannot be undone.",
		func(ok bool) {
			if !ok {
				return
			}
			t.ctl.DeleteNetwork(name, func(err error) {
				if err != nil {
					showError(t.win, err)
				}
			})
		})
}

// confirmRekey asks before giving name a new network key, then says how
// it went.
func (t *networksTab) confirmRekey(name string) {
	showConfirm(t.win, "Rekey "+name+"?",
		"This gives "+name+" a new network key. Members follow it on their own; the other admins\nget the new key, and a former admin that kept the old one can no longer sign anything.",
		func(ok bool) {
			if !ok {
				return
			}
			t.ctl.Rekey(name, func(r apitype.RekeyResponse, err error) {
				if err != nil {
					t.rekeyResult = widget.NewLabel(err.Error())
					showError(t.win, err)
					return
				}
				msg := fmt.Sprintf("%s has a new network key (generation %d).", name, r.Generation)
				if len(r.Admins) > 0 {
					msg += "\nThe other admins get it: " + strings.Join(r.Admins, ", ") + "."
				}
				t.rekeyResult = widget.NewLabel(msg)
				showCustom(t.win, "Network rekeyed", "Close", t.rekeyResult)
			})
		})
}

// showInvites fetches network's outstanding invites and lists them, each
// with Revoke.
func (t *networksTab) showInvites(network string) {
	t.ctl.Invites(network, func(in []apitype.InviteInfo, err error) {
		if err != nil {
			showError(t.win, err)
			return
		}
		t.invites = container.NewVBox()
		if len(in) == 0 {
			t.invites.Add(widget.NewLabel("No outstanding invites."))
		}
		for _, inv := range in {
			t.invites.Add(t.inviteRow(network, inv))
		}
		showCustom(t.win, "Outstanding invites of "+network, "Close", t.invites)
	})
}

func (t *networksTab) inviteRow(network string, inv apitype.InviteInfo) fyne.CanvasObject {
	parts := []string{inv.ID, inv.Kind, "expires " + inv.Expires.Local().Format("Jan 2 15:04 MST"), fmt.Sprintf("used %d×", inv.Uses)}
	if inv.Hostname != "" {
		parts = append(parts, "for "+inv.Hostname)
	}
	msg := widget.NewLabel("")
	var revoke *keyButton
	revoke = newButton("Revoke", theme.CancelIcon(), func() {
		revoke.Disable()
		t.ctl.RevokeInvite(network, inv.ID, func(err error) {
			if err != nil {
				revoke.Enable()
				msg.SetText(err.Error())
				return
			}
			msg.SetText("Revoked")
		})
	})
	return container.NewHBox(widget.NewLabel(strings.Join(parts, " · ")), layout.NewSpacer(), msg, revoke)
}
