package firewall

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

func TestNoAllocsSteadyState(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	fw := newFW(t, Config{MaxFlows: 64, MaxFlowsPerPeer: 64},
		Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}, Network: netA})
	out := tcpInfo(selfV4+":40000", peerBV4+":443", packet.TCPAck)
	reply := reversed(out, packet.TCPAck)
	denied := tcpInfo(peerCV4+":1000", selfV4+":23", packet.TCPSyn)
	tooBig := icmpInfo(peerBV6, selfV6, 2, 0, 0)
	sshIn := tcpInfo(peerBV4+":50000", selfV4+":22", packet.TCPAck)
	sshOut := reversed(sshIn, packet.TCPAck)
	fw.Outbound(out, peerB, nets, 0)
	fw.Inbound(sshIn, peerB, nets, 0)
	// A policy change makes the next packet of each flow re-check it.
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.SetReject(false); return nil }); err != nil {
		t.Fatal(err)
	}

	// Churn: UDP flows to new ports replacing expired ones at the cap.
	churn := udpInfo(selfV4+":1000", peerCV4+":1")
	for i := range 200 { // warm the tables up
		churn.DstPort = uint16(i + 1)
		fw.Outbound(churn, peerC, nets, int64(i)*31*sec)
	}
	now, port := int64(1000)*31*sec, uint16(0)

	for name, fn := range map[string]func(){
		"outbound hit":   func() { now++; fw.Outbound(out, peerB, nets, now) },
		"inbound hit":    func() { now++; fw.Inbound(reply, peerB, nets, now) },
		"inbound flow":   func() { now++; fw.Inbound(sshIn, peerB, nets, now); fw.Outbound(sshOut, peerB, nets, now) },
		"inbound deny":   func() { fw.Inbound(denied, peerC, nets, now) },
		"icmp error":     func() { fw.Inbound(tooBig, peerB, nets, now) },
		"flow churn":     func() { port++; now += 31 * sec; churn.DstPort = port%200 + 1; fw.Outbound(churn, peerC, nets, now) },
		"non-first frag": func() { fw.Inbound(&packet.Info{Version: 4, Fragment: true, FragOffset: 8}, peerB, nets, now) },
	} {
		if a := testing.AllocsPerRun(1000, fn); a != 0 {
			t.Errorf("%s: %v allocations per packet", name, a)
		}
	}
}

// TestMillionFlowsBoundedMemory opens a million flows from a thousand peers
// and checks that the tracker stays within its caps and its memory bound.
func TestMillionFlowsBoundedMemory(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 200_000 // still three times the cap
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	fw := New(Config{})
	peers := make([]key.NodePublic, 1000)
	for i := range peers {
		binary.BigEndian.PutUint32(peers[i][:], uint32(i+1))
	}
	info := udpInfo(selfV4+":1", peerBV4+":1")
	base := netip.MustParseAddr("100.65.0.0").As4()
	for i := range n {
		p := i % len(peers)
		a := base
		binary.BigEndian.PutUint16(a[2:], uint16(p))
		info.Dst = netip.AddrFrom4(a)
		info.SrcPort = uint16(i/len(peers)) + 1024
		info.DstPort = uint16(i % 7)
		if fw.Outbound(info, peers[p], nil, int64(i)) != Accept {
			t.Fatal("outbound denied")
		}
	}
	if got := fw.Flows(); got != DefaultMaxFlows {
		t.Errorf("Flows = %d, want the cap %d", got, DefaultMaxFlows)
	}
	if got, want := fw.Stats()[ReasonEvicted], uint64(n-DefaultMaxFlows); got != want {
		t.Errorf("evicted %d, want %d", got, want)
	}
	grown := int64(heap()) - int64(before)
	t.Logf("%d flows tracked in %.1f MB (%d bytes per flow)", fw.Flows(), float64(grown)/(1<<20), grown/int64(fw.Flows()))
	const limit = 40 << 20
	if grown > limit {
		t.Errorf("tracker uses %d MB, want at most %d MB", grown>>20, limit>>20)
	}
	runtime.KeepAlive(fw)
}

func TestPerPeerCapUnderFlood(t *testing.T) {
	// One peer floods inbound flows; another peer's flows survive.
	fw := newFW(t, Config{MaxFlows: 1000, MaxFlowsPerPeer: 100}, Rule{Direction: In, Action: Allow, Proto: ProtoUDP})
	good := udpInfo(peerCV4+":1000", selfV4+":53")
	expect(t, "good flow", fw.Inbound(good, peerC, nets, 0), Accept)
	flood := udpInfo(peerBV4+":1", selfV4+":53")
	for i := range 20_000 {
		flood.SrcPort = uint16(i%60000) + 1
		fw.Inbound(flood, peerB, nets, int64(i))
	}
	if fw.Flows() != 101 {
		t.Errorf("Flows = %d, want 100 for the flooder and 1 for the good peer", fw.Flows())
	}
	expect(t, "good flow after the flood", fw.Inbound(good, peerC, nets, 30_000), Accept)
	expect(t, "good reply after the flood", fw.Outbound(reversed(good, 0), peerC, nets, 30_000), Accept)
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"", "any", "80", "8000-8100", "22,80,443", " 1 - 2 ,3", "0", "65536", "a-b", "1--2", ",", "-", "5-4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		if len(ports) > MaxPortRanges {
			t.Fatalf("%d ranges", len(ports))
		}
		for _, r := range ports {
			if r.valid() != nil {
				t.Fatalf("invalid range %v from %q", r, s)
			}
		}
		again, err := ParsePorts(FormatPorts(ports))
		if err != nil || len(again) != len(ports) {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
		for i := range ports {
			if again[i] != ports[i] {
				t.Fatalf("round trip of %q: %v != %v", s, again, ports)
			}
		}
	})
}

// FuzzFilter feeds random packet descriptions from a few peers through a
// firewall that denies inbound and allows outbound, and checks that no
// inbound TCP or UDP packet passes unless an outbound packet with the
// reverse addresses and ports went to the same peer before.
func FuzzFilter(f *testing.F) {
	f.Add([]byte{0, 0, 4, 6, 1, 2, 0, 80, 0, 2, 0, 1, 1, 1, 4, 6, 2, 1, 0, 2, 0, 80, 0x12, 0, 0, 1})
	f.Add([]byte{0, 1, 6, 17, 3, 4, 0, 53, 0, 9, 0, 0, 0, 1, 0, 6, 17, 4, 3, 0, 9, 0, 53, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 4, 1, 1, 1, 0, 8, 0, 0, 8, 0, 0, 5, 1, 2, 4, 1, 1, 1, 0, 0, 0, 0, 3, 0, 0, 5})
	f.Fuzz(runFilterOps)
}

var (
	fuzzPeers  = []key.NodePublic{nodeKey(1), nodeKey(2), nodeKey(3)}
	fuzzProtos = []uint8{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoICMPv4, packet.ProtoICMPv6, 47}
)

type seenKey struct {
	k    flowKey
	peer key.NodePublic
}

func runFilterOps(t *testing.T, data []byte) {
	fw := New(Config{MaxFlows: 16, MaxFlowsPerPeer: 8})
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		rs.Rules = nil
		rs.SetReject(len(data)%2 == 0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reject := len(data)%2 == 0
	seen := map[seenKey]bool{}
	var now int64
	const opLen = 14
	for len(data) >= opLen {
		op := data[:opLen]
		data = data[opLen:]
		dir := In
		if op[0]&1 == 1 {
			dir = Out
		}
		peer := fuzzPeers[int(op[1])%len(fuzzPeers)]
		info := packet.Info{Version: 4, Proto: fuzzProtos[int(op[3])%len(fuzzProtos)], HasTransport: op[12]&0x80 == 0}
		if op[2]&1 == 0 {
			info.Version = 6
		}
		addr := func(b byte) netip.Addr {
			if info.Version == 4 {
				return netip.AddrFrom4([4]byte{100, 64, 0, b % 4})
			}
			return netip.AddrFrom16([16]byte{0xfd, 0x72, 0x61, 0x79, 0x66, 0x69, 15: b % 4})
		}
		info.Src, info.Dst = addr(op[4]), addr(op[5])
		info.SrcPort = binary.BigEndian.Uint16(op[6:8]) % 4
		info.DstPort = binary.BigEndian.Uint16(op[8:10]) % 4
		info.TCPFlags = op[10]
		info.ICMPType, info.ICMPCode = op[11], op[12]&3
		if op[12]&0x40 != 0 {
			info.Fragment = true
			info.FragOffset = uint16(op[12]&0x20) * 8
		}
		now += int64(op[13]) * sec
		var v Verdict
		if dir == In {
			v = fw.Inbound(&info, peer, nil, now)
		} else {
			v = fw.Outbound(&info, peer, nil, now)
		}
		switch v {
		case Accept, Drop:
		case Reject:
			if !reject {
				t.Fatalf("Reject without reject mode for %+v", info)
			}
		default:
			t.Fatalf("verdict %d", v)
		}
		if n := fw.Flows(); n > 16 {
			t.Fatalf("%d flows over the cap", n)
		}
		if v != Accept {
			continue
		}
		if dir == Out {
			seen[seenKey{keyFor(Out, &info), peer}] = true
			continue
		}
		if (info.Proto == packet.ProtoTCP || info.Proto == packet.ProtoUDP) && info.FragOffset == 0 &&
			!seen[seenKey{keyFor(In, &info), peer}] {
			t.Fatalf("inbound %+v from peer %d accepted without an outbound flow", info, peer[0])
		}
	}
}

func BenchmarkInboundHit(b *testing.B) {
	fw := New(Config{})
	out := tcpInfo(selfV4+":40000", peerBV4+":443", packet.TCPAck)
	reply := reversed(out, packet.TCPAck)
	fw.Outbound(out, peerB, nets, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		fw.Inbound(reply, peerB, nets, int64(i))
	}
}

func BenchmarkOutboundHitParallel(b *testing.B) {
	fw := New(Config{})
	out := tcpInfo(selfV4+":40000", peerBV4+":443", packet.TCPAck)
	fw.Outbound(out, peerB, nets, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var now int64
		for pb.Next() {
			now++
			fw.Outbound(out, peerB, nets, now)
		}
	})
}

func BenchmarkInboundDeny(b *testing.B) {
	fw := New(Config{})
	for i := range 20 { // some rules to walk past
		if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
			return rs.Add(Rule{Direction: In, Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{uint16(1000 + i), uint16(1000 + i)}}, Peer: peerC})
		}); err != nil {
			b.Fatal(err)
		}
	}
	syn := tcpInfo(peerBV4+":40000", selfV4+":22", packet.TCPSyn)
	b.ReportAllocs()
	for b.Loop() {
		fw.Inbound(syn, peerB, nets, 0)
	}
}

func BenchmarkNewFlowAtCap(b *testing.B) {
	fw := New(Config{MaxFlows: 4096, MaxFlowsPerPeer: 4096})
	info := udpInfo(selfV4+":1000", peerBV4+":1")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		info.SrcPort = uint16(i)
		info.DstPort = uint16(i >> 16)
		fw.Outbound(info, peerB, nets, int64(i))
	}
}
