package engine

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/metrics"
	"github.com/rayfish/rayfish/engine/report"
)

// MetricsSnapshot implements metrics.Source: read at scrape time, never
// per packet.
func (e *Engine) MetricsSnapshot() metrics.Snapshot {
	st := e.Status()
	in, out := e.dp.Packets()
	snap := metrics.Snapshot{
		Up:            st.State == "up",
		PacketsIn:     in,
		PacketsOut:    out,
		Drops:         st.Drops,
		Firewall:      e.fw.Stats(),
		FirewallFlows: e.fw.Flows(),
		DNS:           e.dns.Stats(),
		Relays:        e.relayStates(),
	}
	if e.mc != nil {
		snap.Transport = e.mc.Stats().Map()
	}
	for _, p := range st.Peers {
		snap.BytesIn += p.RxBytes
		snap.BytesOut += p.TxBytes
		snap.Peers = append(snap.Peers, metrics.Peer{ID: p.ID, Hostname: p.Hostname, Online: p.Online, Path: p.Path,
			RTT: time.Duration(p.RTTMs * float64(time.Millisecond)), TxBytes: p.TxBytes, RxBytes: p.RxBytes})
	}
	return snap
}

// relayStates reports relay connections by URL (none until relays are
// configured).
func (e *Engine) relayStates() map[string]bool {
	if e.relays == nil {
		return map[string]bool{}
	}
	return e.relays()
}

// auditf records an audit event; it never blocks and never carries secrets.
func (e *Engine) auditf(event string, peer key.NodePublic, hostname, network, detail string) {
	ev := audit.Event{Event: event, Hostname: hostname, Network: network, Detail: detail}
	if !peer.IsZero() {
		ev.Peer = peer.String()
	}
	e.cfg.Audit.Log(ev) // a nil log is a no-op
}

// Report writes a sanitized support bundle (.tar.gz) to w.
func (e *Engine) Report(w io.Writer) error {
	var logs []string
	if e.cfg.LogLines != nil {
		logs = e.cfg.LogLines()
	}
	reg := metrics.NewRegistry(e)
	mtext, err := metrics.Text(reg)
	if err != nil {
		mtext = []byte(fmt.Sprintf("metrics unavailable: %v\n", err))
	}
	var auditLines []string
	if e.cfg.Audit != nil {
		auditLines, _ = audit.Tail(e.cfg.Audit.Path(), 200)
	}
	var dns strings.Builder
	if e.cfg.DNSInfo != nil {
		dns.WriteString(e.cfg.DNSInfo())
		dns.WriteString("\n")
	}
	for k, v := range e.dns.Stats() {
		fmt.Fprintf(&dns, "%s %d\n", k, v)
	}
	fw := e.fw.String()
	for k, v := range e.fw.Stats() {
		fw += fmt.Sprintf("\n%s %d", k, v)
	}
	return report.Build(w, report.Input{
		Now:      time.Now(),
		Version:  buildinfo.Version,
		Status:   e.Status(),
		Logs:     logs,
		Metrics:  mtext,
		Firewall: fw,
		DNS:      dns.String(),
		Audit:    auditLines,
	})
}
