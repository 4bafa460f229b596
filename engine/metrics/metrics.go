// Package metrics exposes the engine's counters in the Prometheus text
// format (`ray daemon --metrics 127.0.0.1:PORT`).
//
// Nothing on the data path calls into this package: the engine keeps its
// own atomic counters and implements Source, and a custom collector reads
// one Snapshot per scrape. Metrics are served on loopback addresses only
// (Listen refuses anything else) and requests whose Host header names
// anything but a loopback address or "localhost" are refused, so a web
// page cannot read them through DNS rebinding.
package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Snapshot is the engine's state at one instant, as the collector reads
// it. Counters are totals since the daemon started.
type Snapshot struct {
	// Up is true while the data plane is on.
	Up bool
	// Packets and bytes through the tunnel: In from peers to the TUN,
	// Out from the TUN to peers.
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
	// Drops counts dropped packets by reason.
	Drops map[string]uint64
	// Peers lists every known peer once (duplicate IDs are ignored).
	Peers []Peer
	// Relays maps each relay URL to whether this node is connected to it.
	Relays map[string]bool
	// Firewall counts firewall events by name (firewall.Stats), and
	// FirewallFlows is the number of tracked connections.
	Firewall      map[string]uint64
	FirewallFlows int
	// DNS counts magic DNS queries by outcome (magicdns.Resolver.Stats).
	DNS map[string]uint64
	// Transport holds the socket layer's counters by name (QUIC packets
	// per path, drops by reason, disco messages: magicconn.Stats.Map).
	Transport map[string]uint64
}

// Peer is one peer's share of a Snapshot.
type Peer struct {
	ID       string // node id
	Hostname string
	Online   bool
	// Path is apitype.PathDirect, PathRelay or PathNone.
	Path string
	// RTT is the latest round-trip time; zero when unknown.
	RTT              time.Duration
	TxBytes, RxBytes uint64
}

// Source is implemented by the engine. MetricsSnapshot is called once per
// scrape and must be safe for concurrent use.
type Source interface {
	MetricsSnapshot() Snapshot
}

// paths are the values of the path label, in output order.
var paths = []string{apitype.PathDirect, apitype.PathRelay, apitype.PathNone}

var (
	peerLabels = []string{"peer", "hostname"}

	descUp         = prometheus.NewDesc("rayfish_up", "Whether the data plane is on (1) or in standby (0).", nil, nil)
	descPackets    = prometheus.NewDesc("rayfish_packets_total", "Packets through the tunnel; in is from peers, out is to peers.", []string{"direction"}, nil)
	descBytes      = prometheus.NewDesc("rayfish_bytes_total", "IP bytes through the tunnel; in is from peers, out is to peers.", []string{"direction"}, nil)
	descDrops      = prometheus.NewDesc("rayfish_drops_total", "Dropped packets by reason.", []string{"reason"}, nil)
	descPeers      = prometheus.NewDesc("rayfish_peers", "Known peers.", nil, nil)
	descPeerOnline = prometheus.NewDesc("rayfish_peer_online", "Whether the peer is connected (1) or not (0).", peerLabels, nil)
	descPeerRTT    = prometheus.NewDesc("rayfish_peer_rtt_seconds", "Latest round-trip time to the peer; absent when unknown.", peerLabels, nil)
	descPeerTx     = prometheus.NewDesc("rayfish_peer_tx_bytes_total", "Bytes sent to the peer.", peerLabels, nil)
	descPeerRx     = prometheus.NewDesc("rayfish_peer_rx_bytes_total", "Bytes received from the peer.", peerLabels, nil)
	descPeerPath   = prometheus.NewDesc("rayfish_peer_path", "The peer's current path: 1 for the path in use, 0 for the others.", append(peerLabels, "path"), nil)
	descRelay      = prometheus.NewDesc("rayfish_relay_connected", "Whether this node is connected to the relay (1) or not (0).", []string{"url"}, nil)
	descFirewall   = prometheus.NewDesc("rayfish_firewall_events_total", "Firewall events (denied packets, evicted flows…) by name.", []string{"event"}, nil)
	descFlows      = prometheus.NewDesc("rayfish_firewall_flows", "Connections tracked by the firewall.", nil, nil)
	descDNS        = prometheus.NewDesc("rayfish_dns_queries_total", "Magic DNS queries by outcome.", []string{"result"}, nil)
	descTransport  = prometheus.NewDesc("rayfish_transport_total", "Socket layer counters: packets and bytes per path, drops by reason, disco messages.", []string{"counter"}, nil)

	allDescs = []*prometheus.Desc{
		descUp, descPackets, descBytes, descDrops, descPeers, descPeerOnline, descPeerRTT,
		descPeerTx, descPeerRx, descPeerPath, descRelay, descFirewall, descFlows, descDNS, descTransport,
	}
)

// collector turns a Snapshot into metrics at scrape time.
type collector struct{ src Source }

// NewCollector returns a prometheus.Collector that reads src once per
// collection.
func NewCollector(src Source) prometheus.Collector { return collector{src} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.MetricsSnapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counters := func(d *prometheus.Desc, m map[string]uint64) {
		for k, v := range m {
			counter(d, v, label(k))
		}
	}

	gauge(descUp, boolFloat(s.Up))
	counter(descPackets, s.PacketsIn, "in")
	counter(descPackets, s.PacketsOut, "out")
	counter(descBytes, s.BytesIn, "in")
	counter(descBytes, s.BytesOut, "out")
	counters(descDrops, s.Drops)
	counters(descFirewall, s.Firewall)
	gauge(descFlows, float64(s.FirewallFlows))
	counters(descDNS, s.DNS)
	counters(descTransport, s.Transport)
	for u, ok := range s.Relays {
		gauge(descRelay, boolFloat(ok), label(redactURL(u)))
	}

	seen := make(map[string]bool, len(s.Peers))
	for _, p := range s.Peers {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		id, host := label(p.ID), label(p.Hostname)
		gauge(descPeerOnline, boolFloat(p.Online), id, host)
		if p.RTT > 0 {
			gauge(descPeerRTT, p.RTT.Seconds(), id, host)
		}
		counter(descPeerTx, p.TxBytes, id, host)
		counter(descPeerRx, p.RxBytes, id, host)
		path := p.Path
		if path == "" {
			path = apitype.PathNone
		}
		for _, q := range paths {
			gauge(descPeerPath, boolFloat(q == path), id, host, q)
		}
	}
	gauge(descPeers, float64(len(seen)))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// label makes s a valid label value (Prometheus rejects invalid UTF-8).
func label(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// redactURL drops any user information from a relay URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// NewRegistry returns a registry holding the engine collector and the Go
// runtime and process collectors.
func NewRegistry(src Source) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves the metrics of src on /metrics (and 404 elsewhere).
func Handler(src Source) http.Handler {
	return HandlerFor(NewRegistry(src))
}

// HandlerFor serves the metrics gathered by g on /metrics. A collector's
// error does not fail the whole scrape.
func HandlerFor(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return loopbackHostOnly(mux)
}

// Text renders everything g gathers in the Prometheus text format, for
// `ray report`. It returns what it could gather along with any error.
func Text(g prometheus.Gatherer) ([]byte, error) {
	mfs, gerr := g.Gather()
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return buf.Bytes(), fmt.Errorf("metrics: render: %w", err)
		}
	}
	if gerr != nil {
		return buf.Bytes(), fmt.Errorf("metrics: gather: %w", gerr)
	}
	return buf.Bytes(), nil
}

// loopbackHostOnly refuses requests whose Host is not a loopback address
// or "localhost" (a DNS-rebinding guard).
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "metrics: Host must be a loopback address", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ErrNotLoopback is returned for a listen address that is not loopback.
var ErrNotLoopback = errors.New("metrics listen only on 127.0.0.1 or ::1")

// CheckAddr reports whether addr ("127.0.0.1:9100", "[::1]:9100") may be
// listened on: the host must be a loopback IP address (names, including
// "localhost", and wildcards are refused) and the port a number.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics: listen address %q: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() || ip.Zone() != "" {
		return fmt.Errorf("metrics: listen address %q: %w", addr, ErrNotLoopback)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("metrics: listen address %q: bad port", addr)
	}
	return nil
}

// Listen opens a TCP listener on addr after CheckAddr approves it.
func Listen(addr string) (net.Listener, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return ln, nil
}

// ServeListener serves h on ln until ctx is done, then shuts down
// (waiting up to 5 s for scrapes in flight) and returns nil. It closes ln.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // http.ErrServerClosed
	if err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}
