//go:build gui

package views

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
)

func fwState() apitype.FirewallState {
	return apitype.FirewallState{
		DefaultIn: "deny", DefaultOut: "allow",
		Rules: []apitype.FirewallRule{
			{Index: 1, Direction: "in", Action: "allow", Proto: "icmp", Seeded: true},
			{Index: 2, Direction: "in", Action: "allow", Proto: "tcp", Ports: "22", Peer: "k7nas0000000000", PeerHostname: "nas"},
		},
		Suggested: []apitype.SuggestedRules{
			{Network: "work", State: "pending", Offered: []apitype.FirewallRule{{Direction: "in", Action: "allow", Proto: "tcp", Ports: "443"}}},
			{Network: "home", State: "none"},
		},
	}
}

// openFirewall opens the Firewall tab on fwState.
func openFirewall(t *testing.T) (*harness, *firewallTab) {
	t.Helper()
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	f := h.win.firewall
	h.fake.SetFirewall(fwState())
	h.win.Show(TabFirewall)
	h.fake.WaitCall(t, "Firewall")
	h.q.RunUntil(t, func() bool { return len(f.rules.Objects) == 2 })
	return h, f
}

func TestFirewallTab(t *testing.T) {
	h, f := openFirewall(t)
	if f.defIn.Selected != "deny" || f.defOut.Selected != "allow" || f.reject.Checked {
		t.Errorf("defaults in %q out %q reject %v", f.defIn.Selected, f.defOut.Selected, f.reject.Checked)
	}
	h.fake.NoCall(t) // showing the state changes nothing
	row := buttons(f.rules.Objects[1])
	if len(row) != 3 {
		t.Fatalf("rule row has %d buttons (up, down, remove)", len(row))
	}
	if !f.sugCard.Visible() || len(f.suggested.Objects) != 1 {
		t.Fatalf("suggestions: card visible %v, %d shown", f.sugCard.Visible(), len(f.suggested.Objects))
	}

	// Remove rule 2.
	test.Tap(row[2])
	call := h.fake.WaitCall(t, "FirewallChange")
	if ch := call.Args[0].(apitype.FirewallChange); ch.Op != apitype.FirewallRemove || ch.Index != 2 {
		t.Errorf("remove sent %+v", ch)
	}
	h.q.RunUntil(t, func() bool { return f.msg.Text != "" })
	if f.msg.Text != "Removed: in allow tcp port 22 from nas." {
		t.Errorf("remove message %q", f.msg.Text)
	}

	// Accept the suggestions of work.
	test.Tap(button(t, f.suggested, "Accept"))
	call = h.fake.WaitCall(t, "FirewallChange")
	if ch := call.Args[0].(apitype.FirewallChange); ch.Op != apitype.FirewallAccept || ch.Network != "work" {
		t.Errorf("accept sent %+v", ch)
	}
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(f.msg.Text, "Accepted") })

	// Defaults and reject mode.
	f.defIn.SetSelected("allow")
	call = h.fake.WaitCall(t, "FirewallChange")
	if ch := call.Args[0].(apitype.FirewallChange); ch.Op != apitype.FirewallDefault || ch.Direction != "in" || ch.Action != "allow" {
		t.Errorf("default sent %+v", ch)
	}
	h.q.RunUntil(t, func() bool { return f.msg.Text == "Inbound default: allow." })
	if f.defIn.Selected != "deny" {
		t.Errorf("the form shows %q, not the daemon's answer", f.defIn.Selected)
	}
	test.Tap(f.reject)
	call = h.fake.WaitCall(t, "FirewallChange")
	if ch := call.Args[0].(apitype.FirewallChange); ch.Op != apitype.FirewallReject || !ch.On {
		t.Errorf("reject sent %+v", ch)
	}
	h.q.RunUntil(t, func() bool { return !f.reject.Checked })
	h.fake.NoCall(t)
}

func TestFirewallAddRuleError(t *testing.T) {
	h, f := openFirewall(t)

	// The daemon's validation error is shown as the CLI prints it.
	h.fake.SetErr("FirewallChange", &client.APIError{Status: 400, Message: `firewall: bad port "99999"`})
	f.dir.SetSelected("in")
	f.action.SetSelected("allow")
	f.proto.SetSelected("udp")
	test.Type(f.ports, " 99999 ")
	f.network.SetSelected("home")
	test.Tap(f.addBtn)
	call := h.fake.WaitCall(t, "FirewallChange")
	ch := call.Args[0].(apitype.FirewallChange)
	want := apitype.FirewallRule{Direction: "in", Action: "allow", Proto: "udp", Ports: "99999", Network: "home"}
	if ch.Op != apitype.FirewallAdd || ch.Rule == nil || *ch.Rule != want {
		t.Fatalf("add sent %+v (rule %+v)", ch, ch.Rule)
	}
	h.q.RunUntil(t, func() bool { return f.msg.Text != "" })
	if f.msg.Text != `firewall: bad port "99999"` || f.msg.Importance != widget.DangerImportance {
		t.Errorf("error %q (importance %v)", f.msg.Text, f.msg.Importance)
	}
	if len(f.rules.Objects) != 2 || f.ports.Text != " 99999 " {
		t.Errorf("after a refused add: %d rules, ports %q (the form keeps the input)", len(f.rules.Objects), f.ports.Text)
	}

	h.fake.SetErr("FirewallChange", nil)
	f.peer.SetText("nas")
	f.network.SetSelected(anyNetwork)
	f.ports.SetText("53")
	test.Tap(f.addBtn)
	call = h.fake.WaitCall(t, "FirewallChange")
	want = apitype.FirewallRule{Direction: "in", Action: "allow", Proto: "udp", Ports: "53", Peer: "nas"}
	if r := call.Args[0].(apitype.FirewallChange).Rule; r == nil || *r != want {
		t.Errorf("add sent rule %+v, want %+v", r, want)
	}
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(f.msg.Text, "Added") })
	if f.msg.Text != "Added: in allow udp port 53 from nas." {
		t.Errorf("add message %q", f.msg.Text)
	}
}

// TestFirewallReorder: the arrows move a rule up or down one place (the
// first rule cannot go up, the last not down); the daemon's refusal is
// shown and the rules stay as the daemon has them.
func TestFirewallReorder(t *testing.T) {
	h, f := openFirewall(t)
	first, second := buttons(f.rules.Objects[0]), buttons(f.rules.Objects[1])
	if !first[0].Disabled() || first[1].Disabled() || second[0].Disabled() || !second[1].Disabled() {
		t.Fatalf("arrows enabled: first up %v down %v, second up %v down %v",
			!first[0].Disabled(), !first[1].Disabled(), !second[0].Disabled(), !second[1].Disabled())
	}
	moved := fwState()
	moved.Rules[0], moved.Rules[1] = moved.Rules[1], moved.Rules[0]
	moved.Rules[0].Index, moved.Rules[1].Index = 1, 2
	h.fake.SetFirewall(moved)
	test.Tap(second[0])
	call := h.fake.WaitCall(t, "FirewallChange")
	if ch := call.Args[0].(apitype.FirewallChange); ch.Op != apitype.FirewallMove || ch.Index != 2 || ch.To != 1 {
		t.Errorf("up sent %+v", ch)
	}
	h.q.RunUntil(t, func() bool { return f.msg.Text != "" })
	if f.msg.Text != "Moved to #1: in allow tcp port 22 from nas." {
		t.Errorf("move message %q", f.msg.Text)
	}
	if got := labelText(f.rules.Objects[0]); !strings.HasPrefix(got, "1.  in allow tcp port 22") {
		t.Errorf("first rule after the move: %q", got)
	}

	h.fake.SetErr("FirewallChange", &client.APIError{Status: 400, Message: "no rule #1 (there are 0; see ray firewall show)"})
	test.Tap(buttons(f.rules.Objects[0])[1])
	call = h.fake.WaitCall(t, "FirewallChange")
	if ch := call.Args[0].(apitype.FirewallChange); ch.Op != apitype.FirewallMove || ch.Index != 1 || ch.To != 2 {
		t.Errorf("down sent %+v", ch)
	}
	h.q.RunUntil(t, func() bool { return f.msg.Importance == widget.DangerImportance })
	if f.msg.Text != "no rule #1 (there are 0; see ray firewall show)" {
		t.Errorf("error %q", f.msg.Text)
	}
	if len(f.rules.Objects) != 2 {
		t.Errorf("after a refused move: %d rules shown", len(f.rules.Objects))
	}
}
