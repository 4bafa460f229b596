package dataplane

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn"
	"github.com/rayfish/rayfish/engine/relay"
)

// startTestRelay runs a relay on a loopback port until the test ends and
// returns its URL.
func startTestRelay(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := relay.NewServer(relay.ServerConfig{Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("relay Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// startTestConn starts a magicconn.Conn on a loopback UDP socket that
// uses only the relay at url; onBulk receives its bulk packets.
func startTestConn(t *testing.T, k key.NodePrivate, url string, onBulk func([]byte)) *magicconn.Conn {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := magicconn.New(magicconn.Config{
		Key: k, PacketConn: pc, Relays: []string{url}, OnBulk: onBulk,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestOversizeBulkThroughRelay: end to end through a real relay, a member
// sends a 3 KB bulk packet sealed with the genuine session keys. The
// receiving engine drops and counts it (malformed) and keeps receiving:
// the packet after it arrives.
func TestOversizeBulkThroughRelay(t *testing.T) {
	enginetest.CheckLeaks(t)
	aAddr, bAddr := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	url := startTestRelay(t)
	b, pa := testPlane(t, bAddr, aAddr)
	s, _ := testBulkSession(t, b, pa) // a's sender, b's receiver
	ka, kb := key.NewNode(), key.NewNode()
	mcB := startTestConn(t, kb, url, b.ReceiveBulk)
	mcA := startTestConn(t, ka, url, nil)
	mcA.SetPeer(kb.Public(), nil, url) // no direct endpoints: relay only
	enginetest.WaitFor(t, 10*time.Second, "relay connections up", func() bool {
		return mcA.HomeRelay() != "" && mcB.HomeRelay() != ""
	})
	send := func(size int) {
		t.Helper()
		wire, err := s.Seal(nil, enginetest.UDPPacket(aAddr, bAddr, 1, 2, size-28))
		if err != nil {
			t.Fatal(err)
		}
		if err := mcA.WriteSegments(wire, len(wire), mcA.PeerAddr(kb.Public())); err != nil {
			t.Fatal(err)
		}
	}
	send(3000)
	send(1200) // the relay keeps order: once this one is in, so was the first
	select {
	case buf := <-b.tunq:
		if buf.n != 1200 {
			t.Errorf("delivered a %d-byte packet, want the 1200-byte one", buf.n)
		}
		b.putBuf(buf)
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing delivered; drops %v, relay %v", b.drops.snapshot(), mcB.Stats().Map())
	}
	if got := b.drops.snapshot()["malformed"]; got != 1 {
		t.Errorf("malformed drops %d, want 1 (the 3 KB packet)", got)
	}
	if got := mcB.Stats().RelayRx.Packets; got != 2 {
		t.Errorf("relay received %d packets, want 2", got)
	}
}
