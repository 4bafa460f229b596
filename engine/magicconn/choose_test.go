package magicconn

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestClearlyBetter(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		rtt, cur time.Duration
		want     bool
	}{
		{10 * ms, 20 * ms, true},
		{19 * ms, 20 * ms, false},                               // 5% lower
		{16 * ms, 20 * ms, true},                                // exactly 20% lower
		{150 * time.Microsecond, 200 * time.Microsecond, false}, // 25% but only 50µs
		{300 * time.Microsecond, 500 * time.Microsecond, true},  // LAN against a hairpin
		{20 * ms, 10 * ms, false},
		{10 * ms, 10 * ms, false},
	}
	for _, tt := range tests {
		if got := clearlyBetter(tt.rtt, tt.cur); got != tt.want {
			t.Errorf("clearlyBetter(%v, %v) = %v", tt.rtt, tt.cur, got)
		}
	}
}

func TestAddressDependent(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		eps  []netip.AddrPort
		want bool
	}{
		{nil, false},
		{[]netip.AddrPort{ap("198.18.1.1:20000")}, false},
		{[]netip.AddrPort{ap("10.0.0.2:41641"), ap("198.18.1.1:20000")}, false},
		{[]netip.AddrPort{ap("10.0.0.2:41641"), ap("198.18.1.1:20000"), ap("198.18.1.1:20001")}, true},
		{[]netip.AddrPort{ap("198.18.1.1:20000"), ap("198.18.1.2:20001")}, false},
		{[]netip.AddrPort{ap("10.0.0.2:1"), ap("10.0.0.2:2")}, false}, // private: two sockets, not a NAT
	}
	for _, tt := range tests {
		if got := addressDependent(tt.eps); got != tt.want {
			t.Errorf("addressDependent(%v) = %v", tt.eps, got)
		}
	}
}

// TestChoose checks path choice: the fastest trusted candidate, kept until
// another is clearly better or it stops answering.
func TestChoose(t *testing.T) {
	ms := time.Millisecond
	type cand struct {
		rtt     time.Duration
		pongAgo time.Duration // 0: never answered
	}
	tests := []struct {
		name  string
		cands []cand
		cur   int // index of the current best, -1 for none
		want  int // -1 for none
	}{
		{"nothing answered", []cand{{10 * ms, 0}, {5 * ms, 0}}, -1, -1},
		{"first answer", []cand{{10 * ms, 0}, {5 * ms, time.Second}}, -1, 1},
		{"fastest of several", []cand{{10 * ms, time.Second}, {5 * ms, time.Second}, {7 * ms, time.Second}}, -1, 1},
		{"slightly faster does not replace", []cand{{10 * ms, time.Second}, {9 * ms, time.Second}}, 0, 0},
		{"clearly faster replaces", []cand{{10 * ms, time.Second}, {5 * ms, time.Second}}, 0, 1},
		{"quiet current is replaced by a slower one", []cand{{5 * ms, 10 * time.Second}, {50 * ms, time.Second}}, 0, 1},
		{"all quiet", []cand{{5 * ms, 10 * time.Second}, {5 * ms, 20 * time.Second}}, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{t: defaultTiming(), log: slog.New(slog.DiscardHandler), epoch: time.Now().Add(-time.Hour)}
			now := c.now()
			p := &peer{key: key.NewNode().Public(), cands: map[netip.AddrPort]*candidate{}}
			var cs []*candidate
			for i, cd := range tt.cands {
				x := &candidate{addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), 1), rtt: cd.rtt}
				if cd.pongAgo != 0 {
					x.lastPong = now - mono(cd.pongAgo)
				}
				p.cands[x.addr] = x
				cs = append(cs, x)
			}
			if tt.cur >= 0 {
				p.best = cs[tt.cur]
			}
			changed := c.chooseLocked(p, now)
			var want *candidate
			if tt.want >= 0 {
				want = cs[tt.want]
			}
			if p.best != want {
				t.Fatalf("best %v, want %v", p.best, want)
			}
			if changed != (tt.cur != tt.want) {
				t.Errorf("changed = %v", changed)
			}
			if tt.cur >= 0 && tt.want < 0 && (p.lostAt != now || p.probeSince != now) {
				t.Errorf("lost path not recorded: lostAt %v probeSince %v", p.lostAt, p.probeSince)
			}
		})
	}
}
