package engine

import (
	"slices"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// TestRelayChoice is issue 12 M4: relays that members advertise are
// never home or STUN relays unless configured, and only members'
// relays can be the meet relay.
func TestRelayChoice(t *testing.T) {
	m1, m2, stranger := key.NewNode().Public(), key.NewNode().Public(), key.NewNode().Public()
	records := map[key.NodePublic]netmap.EndpointRecord{
		m1:       {Node: m1, Relay: "http://b.example"},
		m2:       {Node: m2, Relay: "http://c.example"},
		stranger: {Node: stranger, Relay: "http://a.example"}, // sorts first
	}
	for _, tc := range []struct {
		name       string
		cfg, prefs []string
		serve      string
		wantList   []string
		wantMeet   string
	}{
		{name: "nothing configured", wantList: nil, wantMeet: "http://b.example"},
		{name: "configured", cfg: []string{"http://z.example"}, wantList: []string{"http://z.example"}, wantMeet: "http://b.example"},
		{name: "opted in to a member's", prefs: []string{"http://c.example"}, wantList: []string{"http://c.example"}, wantMeet: "http://b.example"},
		{name: "serving one", serve: "http://s.example", wantList: []string{"http://s.example"}, wantMeet: "http://b.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{
				cfg:   Config{Relays: tc.cfg, ServeRelay: tc.serve},
				prefs: prefs{Relays: tc.prefs},
				state: &netmap.State{Endpoints: records},
				peers: map[key.NodePublic]*peer{m1: {}, m2: {}},
			}
			if got := e.relayList(); !slices.Equal(got, tc.wantList) {
				t.Errorf("home and STUN relays %q, want %q", got, tc.wantList)
			}
			if got := e.meetRelayLocked(); got != tc.wantMeet {
				t.Errorf("meet relay %q, want %q", got, tc.wantMeet)
			}
		})
	}
}
