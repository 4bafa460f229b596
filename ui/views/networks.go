//go:build gui

package views

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// networksTab lists the networks with Invite and Leave, the pending join
// requests with Approve and Deny, and forms to create and join networks.
type networksTab struct {
	app fyne.App
	ctl *ui.Controller
	win fyne.Window

	list     *fyne.Container
	requests *fyne.Container
	reqCard  *widget.Card

	removed     *fyne.Container // "You were removed from NETWORK" notices
	removedCard *widget.Card
	renameEntry *tabEntry       // the last Rename dialog's entry
	invites     *fyne.Container // the last invites dialog's rows
	rekeyResult *widget.Label   // the last rekey's outcome

	createName *tabEntry
	createOpen *widget.Check
	createBtn  *widget.Button
	createMsg  *widget.Label

	joinCode *tabEntry
	joinBtn  *widget.Button
	joinMsg  *widget.Label

	invite *invitePanel

	content fyne.CanvasObject

	shownNets []apitype.Network
	shownReqs []apitype.JoinRequest
	shownRems []apitype.RemovedNetwork
	drawn     bool
}

func newNetworksTab(a fyne.App, ctl *ui.Controller, win fyne.Window) *networksTab {
	t := &networksTab{app: a, ctl: ctl, win: win}
	t.list = container.NewVBox()
	t.requests = container.NewVBox()
	t.reqCard = widget.NewCard("Join requests", "Nodes waiting for your approval", t.requests)
	t.removed = container.NewVBox()
	t.removedCard = widget.NewCard("Removed", "", t.removed)
	t.removedCard.Hide()

	t.createName = newEntry()
	t.createName.SetPlaceHolder("Network name")
	t.createName.OnSubmitted = func(string) { t.create() }
	t.createOpen = widget.NewCheck("Open (anyone with the network id may join)", nil)
	t.createBtn = widget.NewButtonWithIcon("Create", theme.ContentAddIcon(), t.create)
	t.createMsg = widget.NewLabel("")
	t.createMsg.Wrapping = fyne.TextWrapWord
	createCard := widget.NewCard("Create a network", "", container.NewVBox(
		container.NewBorder(nil, nil, nil, t.createBtn, t.createName), t.createOpen, t.createMsg))

	t.joinCode = newEntry()
	t.joinCode.SetPlaceHolder("Paste an invite code")
	t.joinCode.OnSubmitted = func(string) { t.join() }
	t.joinBtn = widget.NewButtonWithIcon("Join", theme.LoginIcon(), t.join)
	t.joinMsg = widget.NewLabel("")
	t.joinMsg.Wrapping = fyne.TextWrapWord
	joinCard := widget.NewCard("Join a network", "", container.NewVBox(
		container.NewBorder(nil, nil, nil, t.joinBtn, t.joinCode), t.joinMsg))

	t.invite = newInvitePanel(a, ctl)

	t.content = container.NewVScroll(container.NewVBox(
		t.removedCard,
		widget.NewCard("Your networks", "", t.list),
		t.reqCard,
		t.invite.card,
		joinCard,
		createCard,
	))
	return t
}

func (t *networksTab) update(m *state.Model) {
	nets, reqs, rems := m.Networks(), m.Requests(), m.Removed()
	if t.drawn && slices.EqualFunc(nets, t.shownNets, sameNetwork) && slices.Equal(reqs, t.shownReqs) && slices.Equal(rems, t.shownRems) {
		return
	}
	t.drawn = true
	t.shownNets, t.shownReqs, t.shownRems = slices.Clone(nets), slices.Clone(reqs), slices.Clone(rems)
	t.drawRemoved(rems)
	t.drawNetworks(m)
	t.drawRequests(reqs)
	t.invite.setNetworks(nets)
}

func members(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

func sameNetwork(a, b apitype.Network) bool { return a == b }

func (t *networksTab) drawNetworks(m *state.Model) {
	t.list.RemoveAll()
	if len(t.shownNets) == 0 {
		msg := "You are in no network yet. Join one with an invite code or create one below."
		if !m.DaemonReachable() {
			msg = "Networks show here once the rayfish daemon runs."
		}
		l := widget.NewLabel(msg)
		l.Wrapping = fyne.TextWrapWord
		t.list.Add(l)
		return
	}
	for _, n := range t.shownNets {
		name := widget.NewLabelWithStyle(n.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		var tags []string
		if n.Admin {
			tags = append(tags, "admin")
		}
		if n.Open {
			tags = append(tags, "open")
		} else {
			tags = append(tags, "closed")
		}
		tags = append(tags, members(n.Members))
		if n.Hostname != "" {
			tags = append(tags, "you are "+n.Hostname)
		}
		details := widget.NewLabel(strings.Join(tags, " · "))
		invite := widget.NewButtonWithIcon("Invite…", theme.MailSendIcon(), func() { t.invite.start(n.Name) })
		if !n.Admin {
			invite.Disable()
		}
		leave := widget.NewButtonWithIcon("Leave…", theme.LogoutIcon(), func() { t.confirmLeave(n.Name) })
		acts := container.NewHBox(layout.NewSpacer(), invite)
		acts.Objects = append(acts.Objects, t.adminButtons(n)...)
		acts.Objects = append(acts.Objects, leave)
		t.list.Add(container.NewVBox(container.NewHBox(name, details), acts))
	}
}

func (t *networksTab) drawRequests(reqs []apitype.JoinRequest) {
	t.requests.RemoveAll()
	if len(reqs) == 0 {
		t.reqCard.Hide()
		return
	}
	t.reqCard.Show()
	for _, r := range reqs {
		name := r.Hostname
		if name == "" {
			name = "a node"
		}
		text := fmt.Sprintf("%s (id %s) asks to join %s", name, state.ShortID(r.ID), r.Network)
		if !r.Received.IsZero() {
			text += " — since " + r.Received.Local().Format("Jan 2 15:04 MST")
		}
		msg := widget.NewLabel("")
		var approve, deny *widget.Button
		decided := func(verb string) func(error) {
			return func(err error) {
				if err != nil {
					msg.SetText(err.Error())
					approve.Enable()
					deny.Enable()
					return
				}
				msg.SetText(verb)
			}
		}
		approve = widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() {
			approve.Disable()
			deny.Disable()
			t.ctl.Accept(r.Network, r.ID, decided("Approved"))
		})
		approve.Importance = widget.HighImportance
		deny = widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() {
			approve.Disable()
			deny.Disable()
			t.ctl.Deny(r.Network, r.ID, decided("Denied"))
		})
		t.requests.Add(container.NewHBox(widget.NewLabel(text), layout.NewSpacer(), msg, approve, deny))
	}
}

func (t *networksTab) confirmLeave(name string) {
	showConfirm(t.win, "Leave "+name+"?",
		"This device stops reaching the members of "+name+".\nYou need a new invite to join again.",
		func(ok bool) {
			if !ok {
				return
			}
			t.ctl.Leave(name, func(err error) {
				if err != nil {
					showError(t.win, fmt.Errorf("leave %s: %w", name, err))
				}
			})
		})
}

func (t *networksTab) create() {
	createNetwork(t.ctl, t.createName, t.createOpen.Checked, t.createBtn, t.createMsg,
		"Invite devices with Invite… above.")
}

// createNetwork creates the network named in entry, reporting progress
// and the result in msg; next is the sentence saying what to do next.
func createNetwork(ctl *ui.Controller, entry *tabEntry, open bool, btn *widget.Button, msg *widget.Label, next string) {
	name := strings.TrimSpace(entry.Text)
	if name == "" {
		msg.SetText("Give the network a name.")
		return
	}
	btn.Disable()
	msg.SetText("Creating " + name + "…")
	ctl.Create(apitype.CreateRequest{Name: name, Open: open}, func(n apitype.Network, err error) {
		btn.Enable()
		if err != nil {
			msg.SetText(err.Error())
			return
		}
		entry.SetText("")
		msg.SetText("Created " + n.Name + ". " + next + " " + state.FirewallHintText + ".")
	})
}

func (t *networksTab) join() { joinNetwork(t.ctl, t.joinCode, t.joinBtn, t.joinMsg) }

// joinNetwork joins with the code in entry, reporting progress and the
// result in msg.
func joinNetwork(ctl *ui.Controller, entry *tabEntry, btn *widget.Button, msg *widget.Label) {
	code := strings.TrimSpace(entry.Text)
	if code == "" {
		msg.SetText("Paste the invite code you were given.")
		return
	}
	btn.Disable()
	msg.SetText("Joining…")
	// An approval code answers "pending" a second after the admin has the
	// request; the peers view then shows the wait and its end.
	ctl.Join(apitype.JoinRequestBody{Code: code, Wait: "1s"}, func(r apitype.JoinResponse, err error) {
		btn.Enable()
		if err != nil {
			msg.Importance = widget.DangerImportance
			msg.SetText(err.Error())
			return
		}
		msg.Importance = widget.MediumImportance
		entry.SetText("")
		if r.Pending {
			msg.SetText("Asked to join " + r.Network.Name + ": waiting for an admin to approve.")
			return
		}
		msg.SetText("Joined " + r.Network.Name + joinedAs(r.Network.Hostname) + ". " + state.FirewallHintText + ".")
	})
}

// joinedAs names the hostname a join got (" as laptop-1"), if known.
func joinedAs(hostname string) string {
	if hostname == "" {
		return ""
	}
	return " as " + hostname
}
