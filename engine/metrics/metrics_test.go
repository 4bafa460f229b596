package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func testSnapshot() Snapshot {
	return Snapshot{
		Up:         true,
		PacketsIn:  10,
		PacketsOut: 20,
		BytesIn:    1000,
		BytesOut:   2000,
		Drops:      map[string]uint64{"no_peer": 3, "spoofed_source": 1},
		Peers: []Peer{
			{ID: "peeraaaa", Hostname: "laptop", Online: true, Path: apitype.PathDirect, RTT: 12500 * time.Microsecond, TxBytes: 500, RxBytes: 700},
			{ID: "peerbbbb", Hostname: "nas", Online: true, Path: apitype.PathRelay, TxBytes: 1},
			{ID: "peerbbbb", Hostname: "duplicate", Path: apitype.PathDirect}, // ignored
			{ID: "peercccc", Hostname: "bad\xffname"},                         // no path: none
		},
		Relays:        map[string]bool{"https://relay.example:443": true, "https://user:pw@relay2.example": false},
		Firewall:      map[string]uint64{"firewall_in": 7},
		FirewallFlows: 42,
		DNS:           map[string]uint64{"local": 5, "forwarded": 6},
		Transport:     map[string]uint64{"direct_tx_packets": 9, "drop_no_path": 4},
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	return string(body)
}

func TestScrape(t *testing.T) {
	var calls atomic.Int32
	body := scrape(t, Handler(SourceFunc(func() Snapshot {
		calls.Add(1)
		return testSnapshot()
	})))
	if calls.Load() != 1 {
		t.Errorf("source read %d times for one scrape, want 1", calls.Load())
	}
	wantLines := []string{
		`rayfish_up 1`,
		`rayfish_packets_total{direction="in"} 10`,
		`rayfish_packets_total{direction="out"} 20`,
		`rayfish_bytes_total{direction="in"} 1000`,
		`rayfish_bytes_total{direction="out"} 2000`,
		`rayfish_drops_total{reason="no_peer"} 3`,
		`rayfish_drops_total{reason="spoofed_source"} 1`,
		`rayfish_peers 3`,
		`rayfish_peer_online{hostname="laptop",peer="peeraaaa"} 1`,
		`rayfish_peer_rtt_seconds{hostname="laptop",peer="peeraaaa"} 0.0125`,
		`rayfish_peer_tx_bytes_total{hostname="laptop",peer="peeraaaa"} 500`,
		`rayfish_peer_rx_bytes_total{hostname="laptop",peer="peeraaaa"} 700`,
		`rayfish_peer_path{hostname="laptop",path="direct",peer="peeraaaa"} 1`,
		`rayfish_peer_path{hostname="laptop",path="relay",peer="peeraaaa"} 0`,
		`rayfish_peer_path{hostname="laptop",path="none",peer="peeraaaa"} 0`,
		`rayfish_peer_path{hostname="nas",path="relay",peer="peerbbbb"} 1`,
		`rayfish_peer_path{hostname="bad` + "\uFFFD" + `name",path="none",peer="peercccc"} 1`,
		`rayfish_relay_connected{url="https://relay.example:443"} 1`,
		`rayfish_relay_connected{url="https://relay2.example"} 0`,
		`rayfish_firewall_events_total{event="firewall_in"} 7`,
		`rayfish_firewall_flows 42`,
		`rayfish_dns_queries_total{result="local"} 5`,
		`rayfish_dns_queries_total{result="forwarded"} 6`,
		`rayfish_transport_total{counter="direct_tx_packets"} 9`,
		`rayfish_transport_total{counter="drop_no_path"} 4`,
		`# TYPE rayfish_packets_total counter`,
		`# TYPE rayfish_peer_rtt_seconds gauge`,
		`# TYPE go_goroutines gauge`,
	}
	lines := make(map[string]bool)
	for l := range strings.Lines(body) {
		lines[strings.TrimSuffix(l, "\n")] = true
	}
	for _, w := range wantLines {
		if !lines[w] {
			t.Errorf("missing line %q", w)
		}
	}
	for _, bad := range []string{"duplicate", "pw@", `rtt_seconds{hostname="nas"`} {
		if strings.Contains(body, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
}

func TestEmptySnapshot(t *testing.T) {
	body := scrape(t, Handler(SourceFunc(func() Snapshot { return Snapshot{} })))
	for _, w := range []string{"rayfish_up 0", "rayfish_peers 0", `rayfish_packets_total{direction="in"} 0`} {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("missing %q", w)
		}
	}
}

func TestHostGuard(t *testing.T) {
	h := Handler(SourceFunc(func() Snapshot { return Snapshot{} }))
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:9100", http.StatusOK},
		{"[::1]:9100", http.StatusOK},
		{"localhost:9100", http.StatusOK},
		{"LOCALHOST", http.StatusOK},
		{"evil.example:9100", http.StatusForbidden},
		{"198.18.0.1:9100", http.StatusForbidden},
		{"", http.StatusForbidden},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("Host %q: status %d, want %d", tt.host, rec.Code, tt.want)
		}
	}
	req := httptest.NewRequest("GET", "/other", nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("/other: status %d, want 404", rec.Code)
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr     string
		loopback bool // want success
	}{
		{"127.0.0.1:9100", true},
		{"127.0.0.2:9100", true},
		{"[::1]:9100", true},
		{"127.0.0.1:0", true},
		{"0.0.0.0:9100", false},
		{"[::]:9100", false},
		{":9100", false},
		{"localhost:9100", false},
		{"198.18.0.1:9100", false},
		{"[fe80::1%lo]:9100", false},
		{"127.0.0.1", false},
		{"127.0.0.1:http", false},
		{"127.0.0.1:70000", false},
	}
	for _, tt := range tests {
		err := CheckAddr(tt.addr)
		if (err == nil) != tt.loopback {
			t.Errorf("CheckAddr(%q) = %v, want ok=%v", tt.addr, err, tt.loopback)
		}
	}
	err := CheckAddr("0.0.0.0:9100")
	if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), "metrics listen only on 127.0.0.1 or ::1") {
		t.Errorf("CheckAddr(0.0.0.0:9100) = %v, want the loopback-only error", err)
	}
	if ln, err := Listen("0.0.0.0:9100"); !errors.Is(err, ErrNotLoopback) {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("Listen(0.0.0.0:9100) = %v, want ErrNotLoopback", err)
	}
}

func TestServeListenerStopsOnCancel(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- ServeListener(ctx, ln, Handler(SourceFunc(func() Snapshot { return testSnapshot() })))
	}()

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `rayfish_peers 3`) {
		t.Errorf("live scrape lacks rayfish_peers: %.200s", body)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("ServeListener = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/metrics"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestText(t *testing.T) {
	reg := NewRegistry(SourceFunc(testSnapshot))
	text, err := Text(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), `rayfish_firewall_flows 42`+"\n") {
		t.Errorf("Text lacks rayfish_firewall_flows: %.300s", text)
	}
}

func BenchmarkScrape(b *testing.B) {
	snap := testSnapshot()
	for i := range 200 {
		snap.Peers = append(snap.Peers, Peer{ID: "p" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Hostname: "h", Online: true, Path: apitype.PathDirect})
	}
	reg := NewRegistry(SourceFunc(func() Snapshot { return snap }))
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// SourceFunc adapts a function to Source.
type SourceFunc func() Snapshot

// MetricsSnapshot calls f.
func (f SourceFunc) MetricsSnapshot() Snapshot { return f() }
