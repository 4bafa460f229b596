package firewall

import (
	"strings"
	"testing"
)

func TestSuggestedStates(t *testing.T) {
	ssh := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}, Network: netZ, Seeded: true}
	web := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{80, 80}}}
	scoped := func(r Rule) Rule { r.Network, r.Seeded = netA, false; return r }

	var s Suggested
	if got := s.State(netA); got != SuggestNone {
		t.Errorf("initial state %v", got)
	}
	if err := s.Accept(netA); err == nil {
		t.Error("Accept with nothing offered succeeded")
	}
	if err := s.Deny(netA); err == nil {
		t.Error("Deny with nothing offered succeeded")
	}

	st, err := s.Offer(netA, []Rule{ssh})
	if err != nil || st != SuggestPending {
		t.Fatalf("Offer = %v, %v", st, err)
	}
	p := s.Pending(netA)
	// Offered rules are scoped to the offering network, whatever they said.
	if len(p) != 1 || !p[0].Equal(scoped(ssh)) {
		t.Fatalf("Pending = %v", p)
	}
	if len(s.Rules()) != 0 {
		t.Errorf("pending rules in force: %v", s.Rules())
	}
	if err := s.Accept(netA); err != nil {
		t.Fatal(err)
	}
	if s.State(netA) != SuggestAccepted || s.Pending(netA) != nil {
		t.Errorf("after Accept: %v, pending %v", s.State(netA), s.Pending(netA))
	}
	if r := s.Rules(); len(r) != 1 || !r[0].Equal(scoped(ssh)) {
		t.Errorf("Rules = %v", r)
	}

	// The same offer again changes nothing.
	if st, _ := s.Offer(netA, []Rule{ssh}); st != SuggestAccepted {
		t.Errorf("repeated offer: %v", st)
	}
	// A new offer waits for consent; the accepted one stays in force.
	if st, _ := s.Offer(netA, []Rule{web, ssh}); st != SuggestPending {
		t.Errorf("changed offer: %v", st)
	}
	if r := s.Rules(); len(r) != 1 || !r[0].Equal(scoped(ssh)) {
		t.Errorf("Rules while pending = %v", r)
	}
	if err := s.Deny(netA); err != nil {
		t.Fatal(err)
	}
	if s.State(netA) != SuggestDenied || len(s.Rules()) != 0 {
		t.Errorf("after Deny: %v, rules %v", s.State(netA), s.Rules())
	}
	// A denied offer repeated stays denied; the user may still accept it.
	if st, _ := s.Offer(netA, []Rule{web, ssh}); st != SuggestDenied {
		t.Errorf("repeated denied offer: %v", st)
	}
	if err := s.Accept(netA); err != nil || len(s.Rules()) != 2 {
		t.Errorf("Accept after Deny: %v, rules %v", err, s.Rules())
	}

	// Auto-accept: current and future offers take effect at once.
	s.AutoAccept(netZ, true) // before netZ offers anything
	if st, _ := s.Offer(netZ, []Rule{web}); st != SuggestAccepted {
		t.Errorf("auto-accepted offer: %v", st)
	}
	if _, err := s.Offer(netA, []Rule{web}); err != nil {
		t.Fatal(err)
	}
	s.AutoAccept(netA, true)
	if s.State(netA) != SuggestAccepted {
		t.Errorf("AutoAccept did not accept the pending offer: %v", s.State(netA))
	}
	// Rules come network by network in key order: netZ (0x21...) first.
	if r := s.Rules(); len(r) != 2 || r[0].Network != netZ || r[1].Network != netA {
		t.Errorf("Rules order = %v", r)
	}
	// Deny turns auto-accept off.
	if err := s.Deny(netA); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Offer(netA, []Rule{ssh}); st != SuggestPending {
		t.Errorf("offer after Deny: %v", st)
	}

	// An empty offer clears the network's rules.
	if st, _ := s.Offer(netZ, nil); st != SuggestNone || len(s.Rules()) != 0 {
		t.Errorf("empty offer: %v, rules %v", st, s.Rules())
	}
	s.Forget(netA)
	if s.State(netA) != SuggestNone {
		t.Error("Forget kept the network")
	}

	if _, err := s.Offer(netA, []Rule{{Direction: In}}); err == nil {
		t.Error("Offer accepted an invalid rule")
	}
}

func TestSuggestedJSONAndClone(t *testing.T) {
	var s Suggested
	if _, err := s.Offer(netA, []Rule{{Direction: In, Action: Allow, Proto: ProtoUDP, Ports: []PortRange{{53, 53}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(netA); err != nil {
		t.Fatal(err)
	}
	s.AutoAccept(netZ, true)
	c := s.Clone()
	c.Networks[netA].Active[0].Ports[0].First = 1
	if s.Networks[netA].Active[0].Ports[0].First != 53 {
		t.Error("Clone shares rules")
	}

	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSuggested(b)
	if err != nil {
		t.Fatalf("UnmarshalSuggested(%s): %v", b, err)
	}
	if back.State(netA) != SuggestAccepted || len(back.Rules()) != 1 || !back.Rules()[0].Equal(s.Rules()[0]) ||
		!back.Networks[netZ].AutoAccept {
		t.Errorf("round trip = %s", back)
	}
	// A stored rule scoped to another network is refused.
	bad := strings.Replace(string(b), netA.String()+`"`, netZ.String()+`"`, 1)
	bad = strings.Replace(bad, `"network": "`+netA.String(), `"network": "`+netZ.String(), 1)
	if _, err := UnmarshalSuggested([]byte(bad)); err == nil {
		t.Errorf("UnmarshalSuggested accepted a mis-scoped rule:\n%s", bad)
	}
	if _, err := UnmarshalSuggested([]byte(`{"networks":{"x":{}}}`)); err == nil {
		t.Error("UnmarshalSuggested accepted a bad network id")
	}
	if str := s.String(); !strings.Contains(str, "accepted") || !strings.Contains(str, "53") {
		t.Errorf("String = %s", str)
	}
	if str := (Suggested{}).String(); !strings.Contains(str, "no suggested rules") {
		t.Errorf("empty String = %q", str)
	}
}
