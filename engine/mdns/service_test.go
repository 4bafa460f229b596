package mdns

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := netip.MustParseAddr("198.18.0.1")
	b := netip.MustParseAddr("198.18.0.2")
	c := netip.MustParseAddr("198.18.0.3")
	l := newLimiter(1, 2, 2)
	steps := []struct {
		src  netip.Addr
		at   time.Duration
		want bool
	}{
		{a, 0, true},
		{a, 0, true},
		{a, 0, false},                      // burst of 2 spent
		{a, 500 * time.Millisecond, false}, // half a token
		{a, time.Second, true},             // one token back
		{b, time.Second, true},             // other sources unaffected
		{c, time.Second, false},            // table full, nobody idle
		{c, 10 * time.Second, true},        // a and b idle now: forgotten
		{a, 10 * time.Second, true},
	}
	for i, s := range steps {
		if got := l.allow(s.src, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: allow(%v, +%v) = %v, want %v", i, s.src, s.at, got, s.want)
		}
	}
}

type heard struct {
	rec  netmap.EndpointRecord
	from netip.AddrPort
}

// newOffline returns a Service with no sockets, for driving accept
// directly, and the records it passes to OnRecord.
func newOffline(self key.NodePublic, now *time.Time) (*Service, *[]heard) {
	var got []heard
	s := &Service{
		cfg: Config{
			Record:   func() netmap.EndpointRecord { return netmap.EndpointRecord{Node: self} },
			OnRecord: func(r netmap.EndpointRecord, from netip.AddrPort) { got = append(got, heard{r, from}) },
		},
		now:       func() time.Time { return *now },
		links:     make(map[int]*link),
		senders:   newLimiter(senderRate, senderBurst, maxSenders),
		verified:  make(map[key.NodePublic]string),
		lastReply: make(map[replyKey]time.Time),
	}
	s.log = discardLogger()
	return s, &got
}

func TestAccept(t *testing.T) {
	now := time.Unix(1000, 0)
	selfKey := fixedKey(t, 9)
	s, got := newOffline(selfKey.Public(), &now)
	from := netip.MustParseAddrPort("198.18.0.1:5353")
	good := testRecords(t)[1]

	s.accept(good, from)
	if len(*got) != 1 || (*got)[0].from != from || (*got)[0].rec.Seq != good.Seq {
		t.Fatalf("good record: got %+v", *got)
	}

	forged := good
	forged.Seq++
	s.accept(forged, netip.MustParseAddrPort("198.18.0.2:5353"))
	own := netmap.SignEndpoints(selfKey, nil, "", 1)
	s.accept(own, netip.MustParseAddrPort("198.18.0.3:5353"))
	if len(*got) != 1 {
		t.Fatalf("forged or own record passed: %+v", (*got)[1:])
	}

	// The sender's burst runs out (one token went to the first record).
	for range senderBurst + 3 {
		s.accept(good, from)
	}
	if len(*got) != senderBurst {
		t.Errorf("burst from one sender: %d records passed, want %d", len(*got), senderBurst)
	}
	now = now.Add(time.Second)
	s.accept(good, from)
	if len(*got) != senderBurst+1 {
		t.Errorf("a second later: %d records passed, want %d", len(*got), senderBurst+1)
	}
}

func TestVerifyBudget(t *testing.T) {
	now := time.Unix(1000, 0)
	s, got := newOffline(key.NodePublic{}, &now)
	k := fixedKey(t, 3)
	src := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 5353)
	}
	// Distinct records from distinct senders: each needs a check.
	for i := range verifyBurst + 5 {
		s.accept(netmap.SignEndpoints(k, nil, "", uint64(i)), src(i))
	}
	if len(*got) != verifyBurst {
		t.Errorf("%d fresh records passed, want the verify burst %d", len(*got), verifyBurst)
	}
	// A record verified before needs no budget.
	s.accept(netmap.SignEndpoints(k, nil, "", verifyBurst-1), src(1000))
	if len(*got) != verifyBurst+1 {
		t.Errorf("known record refused with the budget spent")
	}
}

func TestUsableInterface(t *testing.T) {
	const ok = net.FlagUp | net.FlagMulticast | net.FlagBroadcast
	tests := []struct {
		ifi  net.Interface
		want bool
	}{
		{net.Interface{Name: "eth0", Flags: ok}, true},
		{net.Interface{Name: "wlan0", Flags: ok &^ net.FlagUp}, false},
		{net.Interface{Name: "eth1", Flags: ok &^ net.FlagMulticast}, false},
		{net.Interface{Name: "lo", Flags: ok | net.FlagLoopback}, false},
		{net.Interface{Name: "tailscale0", Flags: ok | net.FlagPointToPoint}, false},
		{net.Interface{Name: "rayfish0", Flags: ok}, false},
		{net.Interface{Name: "RayFish", Flags: ok}, false},
		{net.Interface{Name: "utun4", Flags: ok}, false},
	}
	for _, tt := range tests {
		if got := usableInterface(tt.ifi); got != tt.want {
			t.Errorf("usableInterface(%s, %v) = %v, want %v", tt.ifi.Name, tt.ifi.Flags, got, tt.want)
		}
	}
}

// TestLifecycle opens Services on a free port with no interfaces, so they
// send nothing, and checks that two share the port, that Announce never
// blocks and that Close is idempotent.
func TestLifecycle(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without callbacks succeeded")
	}
	cfg := Config{
		Record:     func() netmap.EndpointRecord { return testRecords(t)[0] },
		OnRecord:   func(netmap.EndpointRecord, netip.AddrPort) {},
		Interfaces: func() ([]net.Interface, error) { return nil, nil },
		Port:       freePort(t),
		Interval:   time.Millisecond,
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A second one shares the port, as we share it with avahi.
	s2, err := New(cfg)
	if err != nil {
		t.Fatalf("second Service on port %d: %v", cfg.Port, err)
	}
	if s2.conns[0] == nil {
		t.Error("second Service has no IPv4 socket")
	}
	s2.Close()
	for range 100 {
		s.Announce()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Announce() // after Close: must not block
}

func freePort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
