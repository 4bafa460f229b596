package firewall

import (
	"slices"
	"strings"
	"testing"
)

func TestDefaultRuleset(t *testing.T) {
	rs := DefaultRuleset()
	if rs.DefaultIn != Deny || rs.DefaultOut != Allow || rs.Reject {
		t.Errorf("defaults = %+v", rs)
	}
	if len(rs.Rules) != 1 || !rs.Rules[0].Equal(SeededRule()) || !rs.Rules[0].Seeded {
		t.Errorf("rules = %v, want only the seeded rule", rs.Rules)
	}
	if err := rs.Validate(); err != nil {
		t.Error(err)
	}
}

func TestRulesetEdit(t *testing.T) {
	rs := DefaultRuleset()
	ssh := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}}
	web := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{80, 80}}}
	if err := rs.Add(ssh); err != nil {
		t.Fatal(err)
	}
	if err := rs.Add(web); err != nil {
		t.Fatal(err)
	}
	// Newest first.
	if len(rs.Rules) != 3 || !rs.Rules[0].Equal(web) || !rs.Rules[1].Equal(ssh) || !rs.Rules[2].Seeded {
		t.Fatalf("rules = %v", rs.Rules)
	}
	if err := rs.Add(Rule{Direction: In}); err == nil {
		t.Error("Add accepted an invalid rule")
	}
	// The seeded rule is removable like any other.
	if r, err := rs.Remove(2); err != nil || !r.Seeded {
		t.Fatalf("Remove(2) = %v, %v", r, err)
	}
	if _, err := rs.Remove(2); err == nil || !strings.Contains(err.Error(), "no rule #3") {
		t.Errorf("Remove out of range: %v", err)
	}
	if _, err := rs.Remove(-1); err == nil {
		t.Error("Remove(-1) succeeded")
	}
	if r, err := rs.Remove(0); err != nil || !r.Equal(web) || len(rs.Rules) != 1 {
		t.Fatalf("Remove(0) = %v, %v; rules %v", r, err, rs.Rules)
	}
	if err := rs.SetDefault(Out, Deny); err != nil || rs.Default(Out) != Deny {
		t.Errorf("SetDefault(out, deny): %v, default %v", err, rs.Default(Out))
	}
	if err := rs.SetDefault(In, Allow); err != nil || rs.Default(In) != Allow {
		t.Errorf("SetDefault(in, allow): %v, default %v", err, rs.Default(In))
	}
	if err := rs.SetDefault(0, Allow); err == nil {
		t.Error("SetDefault with no direction succeeded")
	}
	if err := rs.SetDefault(In, 0); err == nil {
		t.Error("SetDefault with no action succeeded")
	}
	rs.SetReject(true)
	if !rs.Reject {
		t.Error("SetReject(true) did not stick")
	}
}

func TestRulesetAddDoesNotAlias(t *testing.T) {
	rs := DefaultRuleset()
	snapshot := rs.Clone()
	if err := rs.Add(Rule{Direction: Out, Action: Deny}); err != nil {
		t.Fatal(err)
	}
	if len(snapshot.Rules) != 1 || !snapshot.Rules[0].Seeded {
		t.Errorf("clone changed: %v", snapshot.Rules)
	}
}

func TestRulesetJSON(t *testing.T) {
	rs := DefaultRuleset()
	for _, r := range []Rule{
		{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}, {8000, 8100}}, Peer: peerB},
		{Direction: Out, Action: Deny, Proto: ProtoUDP, Network: netA},
	} {
		if err := rs.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	rs.SetReject(true)
	b, err := rs.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalRuleset(b)
	if err != nil {
		t.Fatalf("UnmarshalRuleset(%s): %v", b, err)
	}
	if back.DefaultIn != rs.DefaultIn || back.DefaultOut != rs.DefaultOut || back.Reject != rs.Reject ||
		len(back.Rules) != len(rs.Rules) {
		t.Fatalf("round trip = %+v, want %+v", back, rs)
	}
	for i := range rs.Rules {
		if !back.Rules[i].Equal(rs.Rules[i]) {
			t.Errorf("rule %d = %v, want %v", i, back.Rules[i], rs.Rules[i])
		}
	}

	// Missing defaults take the standard ones; an empty list stays empty
	// (the user removed the seeded rule).
	got, err := UnmarshalRuleset([]byte(`{"rules":[]}`))
	if err != nil || got.DefaultIn != Deny || got.DefaultOut != Allow || len(got.Rules) != 0 {
		t.Errorf("UnmarshalRuleset(empty) = %+v, %v", got, err)
	}
	for _, bad := range []string{
		`{`,
		`{"default_in":"maybe"}`,
		`{"rules":[{"direction":"in"}]}`,
		`{"rules":[{"direction":"in","action":"allow","ports":"1-2-3"}]}`,
	} {
		if _, err := UnmarshalRuleset([]byte(bad)); err == nil {
			t.Errorf("UnmarshalRuleset(%s) succeeded", bad)
		}
	}
	if _, err := (Ruleset{}).Marshal(); err == nil {
		t.Error("Marshal of a ruleset without defaults succeeded")
	}
}

func TestRulesetString(t *testing.T) {
	rs := DefaultRuleset()
	if err := rs.Add(Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}, Peer: peerB}); err != nil {
		t.Fatal(err)
	}
	s := rs.String()
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) != 4 {
		t.Fatalf("String has %d lines:\n%s", len(lines), s)
	}
	for i, want := range [][]string{
		{"default inbound: deny", "outbound: allow", "reject: off"},
		{"#", "DIR", "ACTION", "PROTO", "PORTS", "PEER", "NETWORK"},
		{"1", "in", "allow", "tcp", "22", peerB.ShortString(), "any"},
		{"2", "in", "allow", "icmp", "any", "seeded"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	if s := (Ruleset{DefaultIn: Deny, DefaultOut: Allow}).String(); !strings.Contains(s, "no rules") {
		t.Errorf("empty ruleset String = %q", s)
	}
}

func TestRulesetMove(t *testing.T) {
	port := func(p uint16) Rule {
		return Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{p, p}}}
	}
	ports := func(rs Ruleset) []uint16 {
		var out []uint16
		for _, r := range rs.Rules {
			out = append(out, r.Ports[0].First)
		}
		return out
	}
	for _, tc := range []struct {
		from, to int
		want     []uint16
		err      string
	}{
		{0, 2, []uint16{2, 3, 1}, ""},
		{2, 0, []uint16{3, 1, 2}, ""},
		{1, 0, []uint16{2, 1, 3}, ""},
		{1, 1, []uint16{1, 2, 3}, ""},
		{3, 0, nil, "no rule #4 (have 3)"},
		{-1, 0, nil, "no rule #0"},
		{0, 3, nil, "cannot move rule #1 to #4 (have 3)"},
		{0, -1, nil, "cannot move rule #1 to #0"},
	} {
		rs := Ruleset{Rules: []Rule{port(1), port(2), port(3)}}
		before := rs.Clone()
		err := rs.Move(tc.from, tc.to)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Move(%d, %d) = %v, want %q", tc.from, tc.to, err, tc.err)
			}
			if !slices.Equal(ports(rs), ports(before)) {
				t.Errorf("failed Move(%d, %d) changed the rules: %v", tc.from, tc.to, ports(rs))
			}
			continue
		}
		if err != nil || !slices.Equal(ports(rs), tc.want) {
			t.Errorf("Move(%d, %d) = %v, %v; want %v", tc.from, tc.to, ports(rs), err, tc.want)
		}
	}
}
