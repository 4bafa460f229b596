package firewall

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/packet"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []PortRange
		wantErr string
	}{
		{in: "", want: nil},
		{in: "any", want: nil},
		{in: " * ", want: nil},
		{in: "ANY", want: nil},
		{in: "80", want: []PortRange{{80, 80}}},
		{in: "1", want: []PortRange{{1, 1}}},
		{in: "65535", want: []PortRange{{65535, 65535}}},
		{in: "8000-8100", want: []PortRange{{8000, 8100}}},
		{in: "22,80,443", want: []PortRange{{22, 22}, {80, 80}, {443, 443}}},
		{in: " 22 , 8000 - 8100 ", want: []PortRange{{22, 22}, {8000, 8100}}},
		{in: "5-5", want: []PortRange{{5, 5}}},
		{in: "0", wantErr: "out of range"},
		{in: "65536", wantErr: "out of range"},
		{in: "99999999999999999999", wantErr: "out of range"},
		{in: "http", wantErr: `"http" is not a port number`},
		{in: "-80", wantErr: "missing port number"},
		{in: "80-", wantErr: "missing port number"},
		{in: "+80", wantErr: "not a port number"},
		{in: "80-70", wantErr: "starts after it ends"},
		{in: "80,,90", wantErr: "empty entry"},
		{in: "80,", wantErr: "empty entry"},
		{in: "1-2-3", wantErr: "not a port number"},
		{in: "0x50", wantErr: "not a port number"},
		{in: strings.Repeat("1,", MaxPortRanges) + "1", wantErr: "more than"},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePorts(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatPorts(t *testing.T) {
	for _, s := range []string{"any", "80", "8000-8100", "22,80,443", "1-65535,7"} {
		ports, err := ParsePorts(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatPorts(ports); got != s {
			t.Errorf("FormatPorts(ParsePorts(%q)) = %q", s, got)
		}
	}
}

func TestParseEnums(t *testing.T) {
	if d, err := ParseDirection("Inbound"); err != nil || d != In {
		t.Errorf("ParseDirection(Inbound) = %v, %v", d, err)
	}
	if d, err := ParseDirection("out"); err != nil || d != Out {
		t.Errorf("ParseDirection(out) = %v, %v", d, err)
	}
	if _, err := ParseDirection("sideways"); err == nil {
		t.Error("ParseDirection(sideways) succeeded")
	}
	if a, err := ParseAction("DENY"); err != nil || a != Deny {
		t.Errorf("ParseAction(DENY) = %v, %v", a, err)
	}
	if a, err := ParseAction("accept"); err != nil || a != Allow {
		t.Errorf("ParseAction(accept) = %v, %v", a, err)
	}
	if _, err := ParseAction("maybe"); err == nil {
		t.Error("ParseAction(maybe) succeeded")
	}
	for s, want := range map[string]Proto{"": ProtoAny, "any": ProtoAny, "TCP": ProtoTCP, "udp": ProtoUDP, "icmp": ProtoICMP} {
		if p, err := ParseProto(s); err != nil || p != want {
			t.Errorf("ParseProto(%q) = %v, %v; want %v", s, p, err, want)
		}
	}
	if _, err := ParseProto("sctp"); err == nil {
		t.Error("ParseProto(sctp) succeeded")
	}
}

func TestRuleJSON(t *testing.T) {
	r := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}, {8000, 8100}}, Peer: peerB, Network: netA}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"direction":"in","action":"allow","proto":"tcp","ports":"22,8000-8100","peer":"` + peerB.String() +
		`","network":"` + netA.String() + `"}`
	if string(b) != want {
		t.Errorf("Marshal = %s\nwant      %s", b, want)
	}
	var back Rule
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(r) {
		t.Errorf("round trip = %v, want %v", back, r)
	}

	minimal := mustRule(t, `{"direction":"out","action":"deny","proto":"any"}`)
	if minimal.Direction != Out || minimal.Action != Deny || minimal.Proto != ProtoAny || minimal.Ports != nil ||
		!minimal.Peer.IsZero() || !minimal.Network.IsZero() {
		t.Errorf("minimal rule = %+v", minimal)
	}

	for _, bad := range []string{
		`{"action":"allow","proto":"tcp"}`,                                // no direction
		`{"direction":"in","proto":"tcp"}`,                                // no action
		`{"direction":"in","action":"allow","proto":"gre"}`,               // bad proto
		`{"direction":"in","action":"allow","proto":"icmp","ports":"80"}`, // icmp with ports
		`{"direction":"in","action":"allow","ports":"0"}`,                 // bad port
		`{"direction":"in","action":"allow","peer":"nope"}`,               // bad peer
		`[]`,
	} {
		var r Rule
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("Unmarshal(%s) succeeded: %v", bad, r)
		}
	}
	if _, err := json.Marshal(Rule{}); err == nil {
		t.Error("Marshal of the zero rule succeeded")
	}
}

func TestRuleMatches(t *testing.T) {
	tcp22 := query{dir: In, proto: packet.ProtoTCP, port: 22, hasPort: true, peer: &peerB, nets: NetSet{netA}}
	udp53 := query{dir: In, proto: packet.ProtoUDP, port: 53, hasPort: true, peer: &peerB, nets: NetSet{netA}}
	icmp4 := query{dir: In, proto: packet.ProtoICMPv4, peer: &peerB}
	icmp6 := query{dir: In, proto: packet.ProtoICMPv6, peer: &peerB}
	gre := query{dir: In, proto: 47, peer: &peerB}
	out22 := tcp22
	out22.dir = Out
	fromC := tcp22
	fromC.peer = &peerC
	noNets := tcp22
	noNets.nets = nil

	tests := []struct {
		rule string
		q    query
		want bool
	}{
		{`{"direction":"in","action":"allow"}`, tcp22, true},
		{`{"direction":"in","action":"allow"}`, gre, true},
		{`{"direction":"in","action":"allow"}`, out22, false},
		{`{"direction":"out","action":"allow"}`, out22, true},
		{`{"direction":"in","action":"allow","proto":"tcp"}`, tcp22, true},
		{`{"direction":"in","action":"allow","proto":"tcp"}`, udp53, false},
		{`{"direction":"in","action":"allow","proto":"udp"}`, udp53, true},
		{`{"direction":"in","action":"allow","proto":"udp"}`, icmp4, false},
		{`{"direction":"in","action":"allow","proto":"icmp"}`, icmp4, true},
		{`{"direction":"in","action":"allow","proto":"icmp"}`, icmp6, true},
		{`{"direction":"in","action":"allow","proto":"icmp"}`, tcp22, false},
		{`{"direction":"in","action":"allow","proto":"tcp","ports":"22"}`, tcp22, true},
		{`{"direction":"in","action":"allow","proto":"tcp","ports":"23-30"}`, tcp22, false},
		{`{"direction":"in","action":"allow","proto":"tcp","ports":"80,10-30"}`, tcp22, true},
		{`{"direction":"in","action":"allow","ports":"22"}`, tcp22, true},       // any + ports: tcp
		{`{"direction":"in","action":"allow","ports":"53"}`, udp53, true},       // any + ports: udp
		{`{"direction":"in","action":"allow","ports":"1-65535"}`, icmp4, false}, // any + ports: not icmp
		{`{"direction":"in","action":"allow","ports":"1-65535"}`, gre, false},
		{`{"direction":"in","action":"allow","peer":"` + peerB.String() + `"}`, tcp22, true},
		{`{"direction":"in","action":"allow","peer":"` + peerB.String() + `"}`, fromC, false},
		{`{"direction":"in","action":"allow","network":"` + netA.String() + `"}`, tcp22, true},
		{`{"direction":"in","action":"allow","network":"` + netZ.String() + `"}`, tcp22, false},
		{`{"direction":"in","action":"allow","network":"` + netA.String() + `"}`, noNets, false},
	}
	for _, tt := range tests {
		r := mustRule(t, tt.rule)
		if got := r.matches(&tt.q); got != tt.want {
			t.Errorf("%s matches %+v = %v, want %v", tt.rule, tt.q, got, tt.want)
		}
	}
}

func TestRuleCloneIndependent(t *testing.T) {
	r := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{1, 2}}}
	c := r.Clone()
	c.Ports[0].First = 2
	if r.Ports[0].First != 1 {
		t.Error("Clone shares its port list")
	}
}
