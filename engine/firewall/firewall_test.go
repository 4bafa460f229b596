package firewall

import (
	"strings"
	"sync"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

var nets = NetSet{netA}

func TestDefaultPolicy(t *testing.T) {
	tests := []struct {
		name string
		dir  Direction
		info *packet.Info
		want Verdict
	}{
		{"inbound tcp denied", In, tcpInfo(peerBV4+":40000", selfV4+":22", packet.TCPSyn), Drop},
		{"inbound udp denied", In, udpInfo(peerBV4+":40000", selfV4+":53"), Drop},
		{"inbound v6 tcp denied", In, tcpInfo("["+peerBV6+"]:40000", "["+selfV6+"]:22", packet.TCPSyn), Drop},
		{"inbound other proto denied", In, &packet.Info{Version: 4, Proto: 47, Src: ap(peerBV4 + ":0").Addr(), Dst: ap(selfV4 + ":0").Addr()}, Drop},
		{"inbound echo v4 allowed", In, icmpInfo(peerBV4, selfV4, 8, 0, 7), Accept},
		{"inbound echo v6 allowed", In, icmpInfo(peerBV6, selfV6, 128, 0, 7), Accept},
		{"outbound tcp allowed", Out, tcpInfo(selfV4+":40000", peerBV4+":22", packet.TCPSyn), Accept},
		{"outbound udp allowed", Out, udpInfo(selfV4+":40000", peerBV4+":53"), Accept},
		{"outbound other proto allowed", Out, &packet.Info{Version: 4, Proto: 47, Src: ap(selfV4 + ":0").Addr(), Dst: ap(peerBV4 + ":0").Addr()}, Accept},
		{"truncated inbound tcp dropped", In, &packet.Info{Version: 4, Proto: packet.ProtoTCP, Src: ap(peerBV4 + ":0").Addr(), Dst: ap(selfV4 + ":0").Addr()}, Drop},
		{"truncated outbound udp dropped", Out, &packet.Info{Version: 4, Proto: packet.ProtoUDP, Src: ap(selfV4 + ":0").Addr(), Dst: ap(peerBV4 + ":0").Addr()}, Drop},
		{"non-first fragment accepted", In, &packet.Info{Version: 4, Proto: packet.ProtoTCP, Src: ap(peerBV4 + ":0").Addr(), Dst: ap(selfV4 + ":0").Addr(), Fragment: true, FragOffset: 1480}, Accept},
		{"first fragment filtered", In, func() *packet.Info {
			i := tcpInfo(peerBV4+":40000", selfV4+":22", packet.TCPSyn)
			i.Fragment = true
			return i
		}(), Drop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := New(Config{})
			var got Verdict
			if tt.dir == In {
				got = fw.Inbound(tt.info, peerB, nets, 0)
			} else {
				got = fw.Outbound(tt.info, peerB, nets, 0)
			}
			expect(t, tt.name, got, tt.want)
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	// Newest first: deny 22 from peer B, then (older) allow 20-30 from anyone.
	fw := newFW(t, Config{},
		mustRule(t, `{"direction":"in","action":"deny","proto":"tcp","ports":"22","peer":"`+peerB.String()+`"}`),
		mustRule(t, `{"direction":"in","action":"allow","proto":"tcp","ports":"20-30"}`),
	)
	expect(t, "B to 22", fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":22", packet.TCPSyn), peerB, nets, 0), Drop)
	expect(t, "C to 22", fw.Inbound(tcpInfo(peerCV4+":1000", selfV4+":22", packet.TCPSyn), peerC, nets, 0), Accept)
	expect(t, "B to 23", fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":23", packet.TCPSyn), peerB, nets, 0), Accept)
	expect(t, "B to 31", fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":31", packet.TCPSyn), peerB, nets, 0), Drop)
}

func TestNetworkScopedRule(t *testing.T) {
	fw := newFW(t, Config{}, Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Network: netA})
	expect(t, "peer in netA", fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":80", packet.TCPSyn), peerB, NetSet{netZ, netA}, 0), Accept)
	expect(t, "peer in netZ only", fw.Inbound(tcpInfo(peerCV4+":1000", selfV4+":80", packet.TCPSyn), peerC, NetSet{netZ}, 0), Drop)
}

func TestOutboundFlowLifecycle(t *testing.T) {
	for _, tt := range []struct {
		name     string
		out      *packet.Info
		reply    *packet.Info
		timeout  int64
		stranger *packet.Info // an unrelated inbound packet: always dropped
	}{
		{
			name:     "tcp v4",
			out:      tcpInfo(selfV4+":40000", peerBV4+":22", packet.TCPSyn),
			reply:    tcpInfo(peerBV4+":22", selfV4+":40000", packet.TCPSyn|packet.TCPAck),
			timeout:  300 * sec,
			stranger: tcpInfo(peerBV4+":22", selfV4+":40001", packet.TCPAck),
		},
		{
			name:     "tcp v6",
			out:      tcpInfo("["+selfV6+"]:40000", "["+peerBV6+"]:22", packet.TCPSyn),
			reply:    tcpInfo("["+peerBV6+"]:22", "["+selfV6+"]:40000", packet.TCPSyn|packet.TCPAck),
			timeout:  300 * sec,
			stranger: tcpInfo("["+peerBV6+"]:23", "["+selfV6+"]:40000", packet.TCPAck),
		},
		{
			name:     "udp",
			out:      udpInfo(selfV4+":5353", peerBV4+":53"),
			reply:    udpInfo(peerBV4+":53", selfV4+":5353"),
			timeout:  30 * sec,
			stranger: udpInfo(peerBV4+":54", selfV4+":5353"),
		},
		{
			name:     "icmp echo v4",
			out:      icmpInfo(selfV4, peerBV4, 8, 0, 99),
			reply:    icmpInfo(peerBV4, selfV4, 0, 0, 99),
			timeout:  30 * sec,
			stranger: &packet.Info{Version: 4, Proto: packet.ProtoUDP, Src: ap(peerBV4 + ":0").Addr(), Dst: ap(selfV4 + ":0").Addr(), HasTransport: true, SrcPort: 99, DstPort: 99},
		},
		{
			name:     "icmp echo v6",
			out:      icmpInfo(selfV6, peerBV6, 128, 0, 99),
			reply:    icmpInfo(peerBV6, selfV6, 129, 0, 99),
			timeout:  30 * sec,
			stranger: tcpInfo("["+peerBV6+"]:99", "["+selfV6+"]:99", packet.TCPAck),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fw := New(Config{})
			// Remove the seeded ICMP rule so echo replies can only pass by state.
			if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.Rules = nil; return nil }); err != nil {
				t.Fatal(err)
			}
			expect(t, "reply before any flow", fw.Inbound(tt.reply, peerB, nets, 0), Drop)
			expect(t, "outbound", fw.Outbound(tt.out, peerB, nets, 1*sec), Accept)
			expect(t, "reply", fw.Inbound(tt.reply, peerB, nets, 2*sec), Accept)
			expect(t, "stranger", fw.Inbound(tt.stranger, peerB, nets, 2*sec), Drop)
			// The reply refreshed the flow: it lives timeout after the last packet.
			expect(t, "reply before timeout", fw.Inbound(tt.reply, peerB, nets, 2*sec+tt.timeout-1), Accept)
			last := 2*sec + tt.timeout - 1
			expect(t, "reply after timeout", fw.Inbound(tt.reply, peerB, nets, last+tt.timeout), Drop)
			if n := fw.Flows(); n != 1 {
				t.Errorf("Flows = %d before Expire, want 1", n)
			}
			if n := fw.Expire(last + tt.timeout); n != 1 || fw.Flows() != 0 {
				t.Errorf("Expire removed %d, %d flows left", n, fw.Flows())
			}
		})
	}
}

func TestTCPClose(t *testing.T) {
	out := tcpInfo(selfV4+":40000", peerBV4+":80", packet.TCPSyn)
	in := func(flags uint8) *packet.Info { return tcpInfo(peerBV4+":80", selfV4+":40000", flags) }
	outF := func(flags uint8) *packet.Info { return tcpInfo(selfV4+":40000", peerBV4+":80", flags) }
	linger := DefaultLinger.Nanoseconds()

	t.Run("fin both ways", func(t *testing.T) {
		fw := New(Config{})
		expect(t, "syn", fw.Outbound(out, peerB, nets, 0), Accept)
		expect(t, "syn-ack", fw.Inbound(in(packet.TCPSyn|packet.TCPAck), peerB, nets, 1), Accept)
		expect(t, "our fin", fw.Outbound(outF(packet.TCPFin|packet.TCPAck), peerB, nets, 10*sec), Accept)
		// Half-closed: the peer may keep sending long after our FIN.
		expect(t, "data after our fin", fw.Inbound(in(packet.TCPAck), peerB, nets, 100*sec), Accept)
		expect(t, "their fin", fw.Inbound(in(packet.TCPFin|packet.TCPAck), peerB, nets, 101*sec), Accept)
		expect(t, "last ack in linger", fw.Outbound(outF(packet.TCPAck), peerB, nets, 101*sec+linger-1), Accept)
		expect(t, "after linger", fw.Inbound(in(packet.TCPAck), peerB, nets, 101*sec+linger), Drop)
	})
	t.Run("rst from peer", func(t *testing.T) {
		fw := New(Config{})
		expect(t, "syn", fw.Outbound(out, peerB, nets, 0), Accept)
		expect(t, "rst", fw.Inbound(in(packet.TCPRst|packet.TCPAck), peerB, nets, sec), Accept)
		expect(t, "after linger", fw.Inbound(in(packet.TCPAck), peerB, nets, sec+linger), Drop)
	})
	t.Run("rst from us", func(t *testing.T) {
		fw := New(Config{})
		expect(t, "syn", fw.Outbound(out, peerB, nets, 0), Accept)
		expect(t, "rst", fw.Outbound(outF(packet.TCPRst), peerB, nets, sec), Accept)
		expect(t, "within linger", fw.Inbound(in(packet.TCPAck), peerB, nets, sec+linger-1), Accept)
		// Traffic during the linger does not extend it.
		expect(t, "after linger", fw.Inbound(in(packet.TCPAck), peerB, nets, sec+linger), Drop)
	})
	t.Run("syn reopens a closing flow", func(t *testing.T) {
		fw := New(Config{})
		expect(t, "syn", fw.Outbound(out, peerB, nets, 0), Accept)
		expect(t, "rst", fw.Inbound(in(packet.TCPRst), peerB, nets, sec), Accept)
		expect(t, "new syn", fw.Outbound(out, peerB, nets, 2*sec), Accept)
		expect(t, "reply long after old linger", fw.Inbound(in(packet.TCPSyn|packet.TCPAck), peerB, nets, 2*sec+10*linger), Accept)
	})
	t.Run("inbound syn on closing flow is judged by rules", func(t *testing.T) {
		fw := New(Config{})
		expect(t, "syn", fw.Outbound(out, peerB, nets, 0), Accept)
		expect(t, "rst", fw.Inbound(in(packet.TCPRst), peerB, nets, sec), Accept)
		expect(t, "peer syn", fw.Inbound(in(packet.TCPSyn), peerB, nets, 2*sec), Drop)
		if fw.Flows() != 0 {
			t.Errorf("Flows = %d, want the closing flow gone", fw.Flows())
		}
	})
}

func TestInboundFlowPassesOutboundDeny(t *testing.T) {
	fw := newFW(t, Config{}, Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}})
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { return rs.SetDefault(Out, Deny) }); err != nil {
		t.Fatal(err)
	}
	syn := tcpInfo(peerBV4+":50000", selfV4+":22", packet.TCPSyn)
	reply := reversed(syn, packet.TCPSyn|packet.TCPAck)
	expect(t, "reply before syn", fw.Outbound(reply, peerB, nets, 0), Drop)
	expect(t, "syn", fw.Inbound(syn, peerB, nets, 0), Accept)
	expect(t, "reply", fw.Outbound(reply, peerB, nets, 1), Accept)
	expect(t, "unrelated outbound", fw.Outbound(tcpInfo(selfV4+":22", peerBV4+":50001", packet.TCPAck), peerB, nets, 1), Drop)
	// The seeded ICMP rule lets a ping in; its reply passes outbound deny.
	ping := icmpInfo(peerBV4, selfV4, 8, 0, 5)
	expect(t, "ping", fw.Inbound(ping, peerB, nets, 2), Accept)
	expect(t, "pong", fw.Outbound(icmpInfo(selfV4, peerBV4, 0, 0, 5), peerB, nets, 3), Accept)
	expect(t, "pong with other id", fw.Outbound(icmpInfo(selfV4, peerBV4, 0, 0, 6), peerB, nets, 3), Drop)
}

func TestPolicyChangeAppliesToFlows(t *testing.T) {
	fw := newFW(t, Config{}, Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}})
	syn := tcpInfo(peerBV4+":50000", selfV4+":22", packet.TCPSyn)
	expect(t, "syn", fw.Inbound(syn, peerB, nets, 0), Accept)
	outSyn := tcpInfo(selfV4+":40000", peerBV4+":443", packet.TCPSyn)
	expect(t, "outbound syn", fw.Outbound(outSyn, peerB, nets, 0), Accept)

	// An unrelated change keeps both flows.
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		return rs.Add(Rule{Direction: In, Action: Allow, Proto: ProtoUDP})
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "ssh data", fw.Inbound(reversed(reversed(syn, 0), packet.TCPAck), peerB, nets, 1), Accept)
	expect(t, "https reply", fw.Inbound(reversed(outSyn, packet.TCPAck), peerB, nets, 1), Accept)

	// Removing the ssh rule ends the ssh flow at once; the outbound flow stays.
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		_, err := rs.Remove(1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "ssh data after removal", fw.Inbound(reversed(reversed(syn, 0), packet.TCPAck), peerB, nets, 2), Drop)
	expect(t, "ssh reply after removal", fw.Outbound(reversed(syn, packet.TCPAck), peerB, nets, 2), Accept) // outbound default allows
	expect(t, "https reply", fw.Inbound(reversed(outSyn, packet.TCPAck), peerB, nets, 2), Accept)

	// An outbound deny for 443 ends the https flow too, replies included.
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		return rs.Add(Rule{Direction: Out, Action: Deny, Proto: ProtoTCP, Ports: []PortRange{{443, 443}}})
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "https reply after deny", fw.Inbound(reversed(outSyn, packet.TCPAck), peerB, nets, 3), Drop)
	expect(t, "https data after deny", fw.Outbound(outSyn, peerB, nets, 3), Drop)
}

// TestSpoofedFlow is Nebula's bug class: peer C owns a flow; peer B sends
// packets with C's address and the flow's ports. None may pass, and none
// may disturb C's flow.
func TestSpoofedFlow(t *testing.T) {
	for _, proto := range []string{"tcp", "udp", "icmp"} {
		t.Run(proto, func(t *testing.T) {
			fw := New(Config{})
			var out, reply *packet.Info
			switch proto {
			case "tcp":
				out = tcpInfo(selfV4+":40000", peerCV4+":443", packet.TCPSyn)
				reply = reversed(out, packet.TCPAck)
			case "udp":
				out = udpInfo(selfV4+":40000", peerCV4+":53")
				reply = reversed(out, 0)
			case "icmp":
				if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.Rules = nil; return nil }); err != nil {
					t.Fatal(err)
				}
				out = icmpInfo(selfV4, peerCV4, 8, 0, 42)
				reply = icmpInfo(peerCV4, selfV4, 0, 0, 42)
			}
			expect(t, "C's flow", fw.Outbound(out, peerC, nets, 0), Accept)
			for i := int64(0); i < 100; i++ {
				flags := []uint8{packet.TCPAck, packet.TCPRst, packet.TCPFin | packet.TCPAck, packet.TCPSyn}[i%4]
				spoof := *reply
				spoof.TCPFlags = flags
				if v := fw.Inbound(&spoof, peerB, nets, 1+i); v != Drop {
					t.Fatalf("spoofed packet %d (flags %#x) from B: %v", i, flags, v)
				}
			}
			if got := fw.Stats()[ReasonSpoof]; got != 100 {
				t.Errorf("spoof counter = %d, want 100", got)
			}
			// C's flow is untouched: B's RSTs and FINs did not close it.
			expect(t, "C's reply", fw.Inbound(reply, peerC, nets, 20*sec), Accept)
			// Even in reject mode, B gets no answer that would reveal the flow.
			if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.SetReject(true); return nil }); err != nil {
				t.Fatal(err)
			}
			expect(t, "spoof in reject mode", fw.Inbound(reply, peerB, nets, 30*sec), Drop)
		})
	}
}

func TestOutboundReownsFlow(t *testing.T) {
	// The route to an address moved from C to B: our own packets decide.
	fw := New(Config{})
	out := tcpInfo(selfV4+":40000", peerCV4+":443", packet.TCPSyn)
	expect(t, "to C", fw.Outbound(out, peerC, nets, 0), Accept)
	expect(t, "to B", fw.Outbound(out, peerB, nets, 1), Accept)
	expect(t, "reply from B", fw.Inbound(reversed(out, packet.TCPAck), peerB, nets, 2), Accept)
	expect(t, "reply from C", fw.Inbound(reversed(out, packet.TCPAck), peerC, nets, 2), Drop)
}

// TestICMPErrorsAreRelated: an ICMP error passes the deny default only
// when it quotes a packet of a live flow of the peer it comes from (or
// goes to), sent by the error's destination.
func TestICMPErrorsAreRelated(t *testing.T) {
	fw := New(Config{})
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.Rules = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	syn6 := tcpInfo("["+selfV6+"]:1000", "["+peerBV6+"]:80", packet.TCPSyn)
	udp4 := udpInfo(selfV4+":5000", peerBV4+":53")
	udpC := udpInfo(selfV4+":6000", peerCV4+":53")
	tooBig := icmpError(peerBV6, selfV6, 2, 0, syn6)
	unreach := icmpError(peerBV4, selfV4, 3, 3, udp4)
	expect(t, "too big without flows", fw.Inbound(tooBig, peerB, nets, 0), Drop)
	expect(t, "unreachable without flows", fw.Inbound(unreach, peerB, nets, 0), Drop)
	expect(t, "flow", fw.Outbound(syn6, peerB, nets, 0), Accept)
	expect(t, "flow", fw.Outbound(udp4, peerB, nets, 0), Accept)
	expect(t, "C's flow", fw.Outbound(udpC, peerC, nets, 0), Accept)
	expect(t, "too big quoting the flow", fw.Inbound(tooBig, peerB, nets, 1), Accept)
	expect(t, "unreachable quoting the flow", fw.Inbound(unreach, peerB, nets, 1), Accept)

	expect(t, "quoting C's flow, from B", fw.Inbound(icmpError(peerBV4, selfV4, 3, 3, udpC), peerB, nets, 1), Drop)
	expect(t, "quoting B's flow, from C", fw.Inbound(icmpError(peerCV4, selfV4, 3, 3, udp4), peerC, nets, 1), Drop)
	other := udpInfo(selfV4+":5001", peerBV4+":53")
	expect(t, "quoting no flow", fw.Inbound(icmpError(peerBV4, selfV4, 3, 3, other), peerB, nets, 1), Drop)
	expect(t, "quoting a packet B sent", fw.Inbound(icmpError(peerBV4, selfV4, 3, 3, reversed(udp4, 0)), peerB, nets, 1), Drop)
	expect(t, "without a quote", fw.Inbound(icmpInfo(peerBV4, selfV4, 3, 3, 0), peerB, nets, 1), Drop)
	expect(t, "quoting the flow, once it expired", fw.Inbound(unreach, peerB, nets, 1+DefaultUDPTimeout.Nanoseconds()), Drop)

	// Our own errors about a peer's packets: the same rule outbound.
	in := udpInfo(peerBV4+":7000", selfV4+":8000")
	fw2 := newFW(t, Config{}, Rule{Direction: In, Action: Allow, Proto: ProtoUDP})
	if err := fw2.Update(func(rs *Ruleset, _ *Suggested) error { return rs.SetDefault(Out, Deny) }); err != nil {
		t.Fatal(err)
	}
	expect(t, "inbound flow", fw2.Inbound(in, peerB, nets, 0), Accept)
	expect(t, "our error quoting it", fw2.Outbound(icmpError(selfV4, peerBV4, 3, 3, in), peerB, nets, 1), Accept)
	expect(t, "our error quoting it, to C", fw2.Outbound(icmpError(selfV4, peerCV4, 3, 3, in), peerC, nets, 1), Drop)
	if fw.Flows() != 3 {
		t.Errorf("ICMP errors created flows: %d", fw.Flows())
	}
}

func TestRejectVerdicts(t *testing.T) {
	fw := New(Config{})
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		rs.SetReject(true)
		return rs.SetDefault(Out, Deny)
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  Direction
		info *packet.Info
		want Verdict
	}{
		{"inbound syn", In, tcpInfo(peerBV4+":1000", selfV4+":22", packet.TCPSyn), Reject},
		{"inbound udp", In, udpInfo(peerBV4+":1000", selfV4+":53"), Reject},
		{"outbound syn", Out, tcpInfo(selfV4+":1000", peerBV4+":22", packet.TCPSyn), Reject},
		{"outbound v6 udp", Out, udpInfo("["+selfV6+"]:1000", "["+peerBV6+"]:53"), Reject},
		{"outbound echo", Out, icmpInfo(selfV4, peerBV4, 8, 0, 1), Reject},
		{"inbound rst", In, tcpInfo(peerBV4+":1000", selfV4+":22", packet.TCPRst), Drop},
		{"inbound icmp error", Out, icmpInfo(selfV4, peerBV4, 3, 1, 0), Drop},
		{"inbound v6 icmp error", Out, icmpInfo(selfV6, peerBV6, 1, 4, 0), Drop},
		{"multicast destination", In, udpInfo(peerBV4+":1000", "224.0.0.251:5353"), Drop},
		{"unspecified source", In, udpInfo("0.0.0.0:68", selfV4+":67"), Drop},
		{"truncated", In, &packet.Info{Version: 4, Proto: packet.ProtoTCP, Src: ap(peerBV4 + ":0").Addr(), Dst: ap(selfV4 + ":0").Addr()}, Drop},
	}
	for _, tt := range tests {
		var got Verdict
		if tt.dir == In {
			got = fw.Inbound(tt.info, peerB, nets, 0)
		} else {
			got = fw.Outbound(tt.info, peerB, nets, 0)
		}
		expect(t, tt.name, got, tt.want)
	}
}

func TestStats(t *testing.T) {
	fw := New(Config{})
	fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":22", packet.TCPSyn), peerB, nets, 0)
	fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":23", packet.TCPSyn), peerB, nets, 0)
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { return rs.SetDefault(Out, Deny) }); err != nil {
		t.Fatal(err)
	}
	fw.Outbound(tcpInfo(selfV4+":1000", peerBV4+":22", packet.TCPSyn), peerB, nets, 0)
	got := fw.Stats()
	want := map[string]uint64{ReasonIn: 2, ReasonOut: 1, ReasonSpoof: 0, ReasonEvicted: 0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Stats[%s] = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Stats = %v", got)
	}
}

func TestPerPeerCap(t *testing.T) {
	fw := New(Config{MaxFlows: 100, MaxFlowsPerPeer: 10})
	outTo := func(port uint16) *packet.Info {
		i := udpInfo(selfV4+":1000", peerBV4+":1")
		i.DstPort = port
		return i
	}
	for p := uint16(1); p <= 25; p++ {
		expect(t, "open", fw.Outbound(outTo(p), peerB, nets, 0), Accept)
	}
	if fw.Flows() != 10 {
		t.Errorf("Flows = %d, want per-peer cap 10", fw.Flows())
	}
	// Another peer still gets its share.
	for p := uint16(1); p <= 5; p++ {
		i := udpInfo(selfV4+":1000", peerCV4+":1")
		i.DstPort = p
		expect(t, "open C", fw.Outbound(i, peerC, nets, 0), Accept)
	}
	if fw.Flows() != 15 || fw.Stats()[ReasonEvicted] != 15 {
		t.Errorf("Flows = %d, evicted = %d; want 15, 15", fw.Flows(), fw.Stats()[ReasonEvicted])
	}
	// The oldest were evicted: ports 1-15 gone, 16-25 tracked.
	for p := uint16(1); p <= 25; p++ {
		want := Drop
		if p > 15 {
			want = Accept
		}
		expect(t, "reply", fw.Inbound(reversed(outTo(p), 0), peerB, nets, 1), want)
	}
}

func TestTotalCapAndSecondChance(t *testing.T) {
	fw := New(Config{MaxFlows: 8, MaxFlowsPerPeer: 8})
	flow := func(peer int, port uint16) *packet.Info {
		i := udpInfo(selfV4+":1000", peerBV4+":1")
		i.DstPort = port
		i.Dst = i.Dst.Next().Next()
		for range peer {
			i.Dst = i.Dst.Next()
		}
		return i
	}
	peers := []key.NodePublic{nodeKey(1), nodeKey(2)}
	for p := uint16(1); p <= 8; p++ {
		expect(t, "open", fw.Outbound(flow(int(p%2), p), peers[p%2], nets, 0), Accept)
	}
	// Flow 1 (the oldest) is busy; flows 2 and 3 are idle.
	expect(t, "busy reply", fw.Inbound(reversed(flow(1, 1), 0), peers[1], nets, sec), Accept)
	expect(t, "new 9", fw.Outbound(flow(1, 9), peers[1], nets, 2*sec), Accept)
	expect(t, "new 10", fw.Outbound(flow(0, 10), peers[0], nets, 2*sec), Accept)
	if fw.Flows() != 8 {
		t.Errorf("Flows = %d, want 8", fw.Flows())
	}
	expect(t, "busy flow survived", fw.Inbound(reversed(flow(1, 1), 0), peers[1], nets, 3*sec), Accept)
	expect(t, "idle 2 evicted", fw.Inbound(reversed(flow(0, 2), 0), peers[0], nets, 3*sec), Drop)
	expect(t, "idle 3 evicted", fw.Inbound(reversed(flow(1, 3), 0), peers[1], nets, 3*sec), Drop)
	expect(t, "4 kept", fw.Inbound(reversed(flow(0, 4), 0), peers[0], nets, 3*sec), Accept)
	// Expired flows are reused before live ones are evicted.
	ev := fw.Stats()[ReasonEvicted]
	expect(t, "new 11 after expiry", fw.Outbound(flow(1, 11), peers[1], nets, 100*sec), Accept)
	if got := fw.Stats()[ReasonEvicted]; got != ev {
		t.Errorf("evicted went from %d to %d to replace an expired flow", ev, got)
	}
}

func TestForgetPeer(t *testing.T) {
	fw := New(Config{})
	b := tcpInfo(selfV4+":1000", peerBV4+":80", packet.TCPSyn)
	c := tcpInfo(selfV4+":1000", peerCV4+":80", packet.TCPSyn)
	fw.Outbound(b, peerB, nets, 0)
	fw.Outbound(c, peerC, nets, 0)
	fw.ForgetPeer(peerB)
	if fw.Flows() != 1 {
		t.Errorf("Flows = %d, want 1", fw.Flows())
	}
	expect(t, "B reply", fw.Inbound(reversed(b, packet.TCPAck), peerB, nets, 1), Drop)
	expect(t, "C reply", fw.Inbound(reversed(c, packet.TCPAck), peerC, nets, 1), Accept)
}

func TestSuggestedRulesApply(t *testing.T) {
	fw := New(Config{})
	ssh := Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}}
	syn := func(peerAddr string) *packet.Info { return tcpInfo(peerAddr+":1000", selfV4+":22", packet.TCPSyn) }
	if err := fw.Update(func(_ *Ruleset, s *Suggested) error {
		_, err := s.Offer(netA, []Rule{ssh})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "pending", fw.Inbound(syn(peerBV4), peerB, NetSet{netA}, 0), Drop)
	if err := fw.Update(func(_ *Ruleset, s *Suggested) error { return s.Accept(netA) }); err != nil {
		t.Fatal(err)
	}
	expect(t, "accepted, peer in netA", fw.Inbound(syn(peerBV4), peerB, NetSet{netA}, 1), Accept)
	expect(t, "accepted, peer only in netZ", fw.Inbound(syn(peerCV4), peerC, NetSet{netZ}, 1), Drop)
	// Local rules come first.
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		return rs.Add(Rule{Direction: In, Action: Deny, Proto: ProtoTCP, Peer: peerC})
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "local deny beats suggestion", fw.Inbound(syn(peerCV4), peerC, NetSet{netA}, 2), Drop)
	if err := fw.Update(func(_ *Ruleset, s *Suggested) error { return s.Deny(netA) }); err != nil {
		t.Fatal(err)
	}
	expect(t, "denied: existing flow ends", fw.Inbound(tcpInfo(peerBV4+":1000", selfV4+":22", packet.TCPAck), peerB, NetSet{netA}, 3), Drop)
	if s := fw.String(); !strings.Contains(s, "denied") || !strings.Contains(s, "default inbound: deny") {
		t.Errorf("String = %s", s)
	}
}

func TestUpdateValidates(t *testing.T) {
	fw := New(Config{})
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		rs.Rules = append(rs.Rules, Rule{})
		return nil
	}); err == nil {
		t.Error("Update installed an invalid rule")
	}
	if err := fw.SetRuleset(Ruleset{}); err == nil {
		t.Error("SetRuleset installed a ruleset without defaults")
	}
	if rs := fw.Ruleset(); len(rs.Rules) != 1 || !rs.Rules[0].Seeded {
		t.Errorf("failed updates changed the ruleset: %v", rs.Rules)
	}
	rs := DefaultRuleset()
	rs.Rules = nil
	if err := fw.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	rs.Rules = append(rs.Rules, SeededRule()) // must not reach the firewall
	if got := fw.Ruleset(); len(got.Rules) != 0 {
		t.Errorf("Ruleset = %v, want none", got.Rules)
	}
	var s Suggested
	if _, err := s.Offer(netA, []Rule{{Direction: In, Action: Allow}}); err != nil {
		t.Fatal(err)
	}
	if err := fw.SetSuggested(s); err != nil {
		t.Fatal(err)
	}
	if got := fw.Suggested(); got.State(netA) != SuggestPending {
		t.Errorf("Suggested state = %v", got.State(netA))
	}
}

func TestConcurrentUse(t *testing.T) {
	fw := New(Config{MaxFlows: 256, MaxFlowsPerPeer: 64})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			peer := nodeKey(byte(g))
			for i := range 2000 {
				out := udpInfo(selfV4+":1000", peerBV4+":1")
				out.DstPort = uint16(i%300 + 1)
				now := int64(i) * sec / 100
				if fw.Outbound(out, peer, nets, now) != Accept {
					t.Error("outbound denied")
					return
				}
				fw.Inbound(reversed(out, 0), peer, nets, now)
				if i%500 == 0 {
					fw.Expire(now)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.SetReject(i%2 == 0); return nil })
			fw.Stats()
		}
	}()
	wg.Wait()
	if n := fw.Flows(); n > 256 {
		t.Errorf("Flows = %d over the cap", n)
	}
}
