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
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// anyNetwork is the network choice of a rule for every network.
const anyNetwork = "any network"

// firewallTab edits the firewall as `ray firewall` does: defaults, reject
// mode, rules, and the rules admins suggest. The firewall is not in the
// watch stream: the tab fetches it when shown and after each change, and
// the daemon validates every change (its errors are the CLI's).
type firewallTab struct {
	ctl *ui.Controller

	defIn, defOut *widget.Select
	reject        *widget.Check
	rules         *fyne.Container
	suggested     *fyne.Container
	sugCard       *widget.Card

	dir, action, proto *widget.Select
	ports, peer        *tabEntry
	network            *widget.Select
	addBtn             *widget.Button

	msg     *widget.Label
	content fyne.CanvasObject

	loading bool // set while the form shows a fetched state (no change calls)
	fetched bool // a fetch was made since the daemon appeared
}

func newFirewallTab(ctl *ui.Controller) *firewallTab {
	t := &firewallTab{ctl: ctl}
	t.defIn = widget.NewSelect([]string{"allow", "deny"}, func(v string) { t.setDefault("in", v) })
	t.defOut = widget.NewSelect([]string{"allow", "deny"}, func(v string) { t.setDefault("out", v) })
	t.reject = widget.NewCheck("Tell the sender (reject) instead of dropping denied packets silently", func(on bool) {
		if !t.loading {
			t.change(apitype.FirewallChange{Op: apitype.FirewallReject, On: on}, "")
		}
	})
	t.rules = container.NewVBox()
	t.suggested = container.NewVBox()
	t.sugCard = widget.NewCard("Suggested by network admins", "Rules an admin asks members to apply", t.suggested)
	t.sugCard.Hide()

	t.dir = widget.NewSelect([]string{"in", "out"}, nil)
	t.dir.SetSelected("in")
	t.action = widget.NewSelect([]string{"allow", "deny"}, nil)
	t.action.SetSelected("allow")
	t.proto = widget.NewSelect([]string{"any", "tcp", "udp", "icmp"}, nil)
	t.proto.SetSelected("tcp")
	t.ports = newEntry()
	t.ports.SetPlaceHolder("Ports: 80, 8000-8100 or 22,80,443")
	t.peer = newEntry()
	t.peer.SetPlaceHolder("Peer (name, address or id); empty: any")
	t.network = widget.NewSelect([]string{anyNetwork}, nil)
	t.network.SetSelected(anyNetwork)
	t.addBtn = widget.NewButtonWithIcon("Add rule", theme.ContentAddIcon(), t.add)
	t.addBtn.Importance = widget.HighImportance
	t.ports.OnSubmitted = func(string) { t.add() }
	t.peer.OnSubmitted = func(string) { t.add() }

	t.msg = wrapLabel()
	t.msg.Hide()
	defaults := widget.NewForm(
		widget.NewFormItem("Inbound", t.defIn),
		widget.NewFormItem("Outbound", t.defOut),
		widget.NewFormItem("", t.reject),
	)
	addForm := container.NewVBox(
		container.NewHBox(t.dir, t.action, t.proto, t.network),
		container.NewGridWithColumns(2, t.ports, t.peer),
		container.NewHBox(t.addBtn),
	)
	// Suggestions wait for an answer: they come first, when there are any.
	t.content = container.NewVScroll(container.NewVBox(
		t.msg,
		t.sugCard,
		widget.NewCard("Defaults", "What happens to packets no rule matches", defaults),
		widget.NewCard("Rules", "The first rule that matches decides", t.rules),
		widget.NewCard("Add a rule", "", addForm),
	))
	t.show(apitype.FirewallState{})
	return t
}

// update follows the daemon: it offers the networks for new rules and
// fetches the firewall again when the daemon reappears.
func (t *firewallTab) update(m *state.Model) {
	opts := []string{anyNetwork}
	for _, n := range m.Networks() {
		opts = append(opts, n.Name)
	}
	t.network.SetOptions(opts)
	reachable := m.DaemonReachable()
	setEnabled(t.addBtn, reachable)
	if !reachable {
		t.fetched = false
		t.setMsg("The firewall shows here once the rayfish daemon runs.", widget.MediumImportance)
	}
}

// reload fetches the firewall (when the tab is shown).
func (t *firewallTab) reload() {
	if !t.ctl.Model().DaemonReachable() {
		return
	}
	t.fetched = true
	t.ctl.Firewall(func(st apitype.FirewallState, err error) {
		if err != nil {
			t.setMsg("Read the firewall: "+err.Error(), widget.DangerImportance)
			return
		}
		t.setMsg("", widget.MediumImportance)
		t.show(st)
	})
}

// change applies ch; done (may be "") is shown when it worked.
func (t *firewallTab) change(ch apitype.FirewallChange, done string) {
	t.ctl.FirewallChange(ch, func(st apitype.FirewallState, err error) {
		if err != nil {
			t.setMsg(err.Error(), widget.DangerImportance)
			if fw, ok := t.ctl.Model().Firewall(); ok {
				t.show(fw) // undo what the form shows
			}
			return
		}
		t.setMsg(done, widget.MediumImportance)
		t.show(st)
	})
}

// setMsg shows text (hidden when "") above the tab.
func (t *firewallTab) setMsg(text string, imp widget.Importance) {
	t.msg.Importance = imp
	t.msg.SetText(text)
	if text == "" {
		t.msg.Hide()
	} else {
		t.msg.Show()
	}
}

func (t *firewallTab) setDefault(dir, action string) {
	if t.loading || action == "" {
		return
	}
	name := map[string]string{"in": "Inbound", "out": "Outbound"}[dir]
	t.change(apitype.FirewallChange{Op: apitype.FirewallDefault, Direction: dir, Action: action},
		fmt.Sprintf("%s default: %s.", name, action))
}

func (t *firewallTab) add() {
	r := apitype.FirewallRule{
		Direction: t.dir.Selected,
		Action:    t.action.Selected,
		Proto:     t.proto.Selected,
		Ports:     strings.TrimSpace(t.ports.Text),
		Peer:      strings.TrimSpace(t.peer.Text),
	}
	if n := t.network.Selected; n != anyNetwork {
		r.Network = n
	}
	t.change(apitype.FirewallChange{Op: apitype.FirewallAdd, Rule: &r}, "Added: "+state.RuleText(r)+".")
}

// show draws st.
func (t *firewallTab) show(st apitype.FirewallState) {
	t.loading = true
	defer func() { t.loading = false }()
	t.defIn.SetSelected(st.DefaultIn)
	t.defOut.SetSelected(st.DefaultOut)
	t.reject.SetChecked(st.Reject)

	t.rules.RemoveAll()
	if len(st.Rules) == 0 {
		t.rules.Add(widget.NewLabel("No rules: the defaults decide."))
	}
	for i, r := range st.Rules {
		idx := r.Index
		if idx == 0 {
			idx = i + 1
		}
		text := fmt.Sprintf("%d.  %s", idx, state.RuleText(r))
		remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() {
			t.change(apitype.FirewallChange{Op: apitype.FirewallRemove, Index: idx}, "Removed: "+state.RuleText(r)+".")
		})
		up := t.moveButton(theme.MoveUpIcon(), r, idx, idx-1)
		down := t.moveButton(theme.MoveDownIcon(), r, idx, idx+1)
		setEnabled(up, idx > 1)
		setEnabled(down, idx < len(st.Rules))
		t.rules.Add(container.NewHBox(widget.NewLabel(text), layout.NewSpacer(), up, down, remove))
	}

	t.suggested.RemoveAll()
	for _, s := range st.Suggested {
		if len(s.Offered) == 0 && s.State == "none" {
			continue
		}
		t.suggested.Add(t.suggestion(s))
	}
	if len(t.suggested.Objects) == 0 {
		t.sugCard.Hide()
	} else {
		t.sugCard.Show()
	}
	t.rules.Refresh()
	t.suggested.Refresh()
}

// moveButton (an arrow) moves rule r from position idx to position to
// (1-based; the first rule that matches decides).
func (t *firewallTab) moveButton(icon fyne.Resource, r apitype.FirewallRule, idx, to int) *widget.Button {
	b := widget.NewButtonWithIcon("", icon, func() {
		t.change(apitype.FirewallChange{Op: apitype.FirewallMove, Index: idx, To: to},
			fmt.Sprintf("Moved to #%d: %s.", to, state.RuleText(r)))
	})
	b.Importance = widget.LowImportance
	return b
}

// suggestion shows one network's suggested rules with Accept and Deny.
func (t *firewallTab) suggestion(s apitype.SuggestedRules) fyne.CanvasObject {
	head := fmt.Sprintf("%s: %s", s.Network, s.State)
	if s.AutoAccept {
		head += " (accepted automatically)"
	}
	box := container.NewVBox(widget.NewLabelWithStyle(head, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, r := range s.Offered {
		box.Add(widget.NewLabel("    " + state.RuleText(r)))
	}
	accept := widget.NewButtonWithIcon("Accept", theme.ConfirmIcon(), func() {
		t.change(apitype.FirewallChange{Op: apitype.FirewallAccept, Network: s.Network}, "Accepted the rules "+s.Network+" suggests.")
	})
	accept.Importance = widget.HighImportance
	deny := widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() {
		t.change(apitype.FirewallChange{Op: apitype.FirewallDeny, Network: s.Network}, "Denied the rules "+s.Network+" suggests.")
	})
	if s.State == "accepted" {
		accept.Disable()
	}
	if s.State == "denied" {
		deny.Disable()
	}
	box.Add(container.NewHBox(accept, deny))
	return box
}
