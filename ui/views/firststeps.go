//go:build gui

package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// firstSteps replaces the empty peer list with what to do next: join with
// a code or create a network while this device is in none, and invite the
// next device while no other device is online.
type firstSteps struct {
	ctl *ui.Controller

	joinCode   *tabEntry
	joinBtn    *widget.Button
	joinMsg    *widget.Label
	createName *tabEntry
	createBtn  *widget.Button
	createMsg  *widget.Label
	start      *fyne.Container // join or create

	inviteText *widget.Label
	inviteBtn  *widget.Button
	invite     *fyne.Container

	content *fyne.Container
	step    state.Onboarding
	network string // the network the invite button makes a code for
}

// newFirstSteps builds the steps; onInvite opens the invite flow for a
// network.
func newFirstSteps(ctl *ui.Controller, onInvite func(network string)) *firstSteps {
	s := &firstSteps{ctl: ctl, step: -1}
	s.joinCode = newEntry()
	s.joinCode.SetPlaceHolder("Paste an invite code")
	s.joinCode.OnSubmitted = func(string) { s.join() }
	s.joinBtn = widget.NewButtonWithIcon("Join", theme.LoginIcon(), s.join)
	s.joinBtn.Importance = widget.HighImportance
	s.joinMsg = wrapLabel()
	s.createName = newEntry()
	s.createName.SetPlaceHolder("Name of the new network, e.g. home")
	s.createName.OnSubmitted = func(string) { s.create() }
	s.createBtn = widget.NewButtonWithIcon("Create", theme.ContentAddIcon(), s.create)
	s.createMsg = wrapLabel()

	intro := wrapLabel()
	intro.SetText("This device is in no network yet. Take one of two steps:")
	s.start = container.NewVBox(
		intro,
		widget.NewCard("1. Join with a code", "Got an invite code from another device? Paste it here.",
			container.NewVBox(container.NewBorder(nil, nil, nil, s.joinBtn, s.joinCode), s.joinMsg)),
		widget.NewCard("2. Or create a network", "Start your own and invite your devices to it.",
			container.NewVBox(container.NewBorder(nil, nil, nil, s.createBtn, s.createName), s.createMsg)),
	)

	s.inviteText = wrapLabel()
	s.inviteBtn = widget.NewButtonWithIcon("Invite a device…", theme.MailSendIcon(), func() {
		if s.network != "" {
			onInvite(s.network)
		}
	})
	s.inviteBtn.Importance = widget.HighImportance
	s.invite = container.NewVBox(widget.NewCard("Invite your next device", "",
		container.NewVBox(s.inviteText, container.NewHBox(s.inviteBtn))))

	s.content = container.NewVBox()
	s.content.Hide()
	return s
}

func wrapLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	return l
}

func (s *firstSteps) join() { joinNetwork(s.ctl, s.joinCode, s.joinBtn, s.joinMsg) }

func (s *firstSteps) create() {
	createNetwork(s.ctl, s.createName, false, s.createBtn, s.createMsg, "Invite your devices below.")
}

// update shows the steps m asks for; it reports whether the layout changed.
func (s *firstSteps) update(m *state.Model) bool {
	step := m.Onboarding()
	s.network = m.InviteNetwork()
	if step == state.OnboardInvite {
		s.inviteText.SetText(m.InviteStepText())
		setEnabled(s.inviteBtn, s.network != "")
	}
	if step == s.step {
		return false
	}
	s.step = step
	switch step {
	case state.OnboardJoinOrCreate:
		s.content.Objects = []fyne.CanvasObject{s.start}
		s.content.Show()
	case state.OnboardInvite:
		s.content.Objects = []fyne.CanvasObject{s.invite}
		s.content.Show()
	default:
		s.content.Objects = nil
		s.content.Hide()
	}
	s.content.Refresh()
	return true
}
