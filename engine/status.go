package engine

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/localapi/apiconv"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Status reports the node's state in the local API's terms. Secrets never
// appear in it.
func (e *Engine) Status() *apitype.Status {
	dns := e.dnsHealth() // outside e.mu: it may read a file
	pm := e.portMapStatus()
	mr := e.memberRelayStatus(pm)
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &apitype.Status{
		Version:   buildinfo.Version,
		State:     apitype.StateDown,
		Networks:  []apitype.Network{},
		Peers:     []apitype.Peer{},
		Requests:  []apitype.JoinRequest{},
		Drops:     e.dp.Drops(),
		Reordered: e.dp.Reordered(),
		TUNError:  e.tunError(),
		SaveError: e.saveError(),

		FirewallInLastMinute: e.dp.FirewallInLastMinute(),
		DNS:                  dns,
	}
	if j := e.joinWaits.list(); len(j) > 0 {
		st.Joining = j
	}
	if n := e.ctrlDrops.Load(); n > 0 {
		st.Drops["control_queue"] = n // control messages, not packets
	}
	if e.dp.Up() {
		st.State = apitype.StateUp
	}
	st.Self = apitype.Self{
		ID:         e.self.String(),
		Hostname:   e.hostname,
		IPv4:       e.self.IPv4(0),
		IPv6:       e.self.IPv6(),
		ListenPort: e.ListenPort(),

		PortMapping: &pm,
		MemberRelay: mr,
	}
	for _, a := range e.myRecord.Addrs {
		st.Self.Endpoints = append(st.Self.Endpoints, a.String())
	}
	for _, r := range e.state.Removed {
		st.Removed = append(st.Removed, apitype.RemovedNetwork{Name: r.Name, ID: r.ID.String(), Time: r.Time, Deleted: r.Deleted})
	}
	first := true
	now := time.Now()
	for _, n := range e.state.Networks {
		an := apiconv.Network(n)
		if m, ok := n.Roster.Member(e.self); ok {
			an.Hostname = m.Hostname
			if first {
				st.Self.Hostname, st.Self.IPv4 = m.Hostname, m.IPv4
				first = false
			}
		}
		st.Networks = append(st.Networks, an)
		st.Requests = append(st.Requests, apiconv.JoinRequests(n, now)...)
	}
	for _, p := range e.peers {
		tx, rx := p.dp.Bytes()
		ap := apitype.Peer{
			ID:       p.key.String(),
			Hostname: p.info.hostname,
			IPv4:     firstAddr(p.info.ipv4),
			IPv6:     p.info.ipv6,
			Networks: slices.Clone(p.info.networks),
			Path:     apitype.PathNone,
			TxBytes:  tx,
			RxBytes:  rx,
			LastSeen: p.lastSeen,
		}
		ap.Refused, ap.Warnings = p.info.warnings(e.nameOfLocked)
		if pc := p.cur.Load(); pc != nil {
			ap.Online = true
			ap.Path, ap.Endpoint, ap.RelayReason = pc.Path()
			if ap.Path != apitype.PathRelay {
				ap.RelayReason = ""
			}
			ap.RTTMs = float64(pc.qc.ConnectionStats().SmoothedRTT.Microseconds()) / 1000
			ap.Carrier = "datagram"
			if pc.bulk != nil && pc.bulk.Sending() {
				ap.Carrier = "bulk"
			}
			ap.LastSeen = now.Truncate(time.Second)
		}
		ap.State = apiconv.PeerState(ap.Online, e.standby.has(p.key))
		ap.DiscoveredVia = e.dht.viaOf(p.key, ap.Path == apitype.PathRelay)
		ap.OS, ap.Version = p.software.os, p.software.version
		ap.Candidates = candidates(e.state.Endpoints[p.key])
		ap.DNSName = dnsName(e.dns, ap.IPv4, ap.IPv6)
		if r := e.hist[p.key]; r != nil {
			ap.History = r.Export()
		}
		st.Peers = append(st.Peers, ap)
	}
	slices.SortFunc(st.Peers, func(a, b apitype.Peer) int {
		if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	e.routesStatusLocked(st)
	return st
}

// Requests lists pending join requests of the named network ("" = all).
func (e *Engine) Requests(name string) ([]apitype.JoinRequest, error) {
	st := e.Status()
	if name == "" {
		return st.Requests, nil
	}
	e.mu.Lock()
	n, err := e.networkLocked(name)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := []apitype.JoinRequest{}
	for _, r := range st.Requests {
		if r.Network == n.Name {
			out = append(out, r)
		}
	}
	return out, nil
}

// watchers fans change notifications out to local API watchers. A
// notification is a wake-up, not data: each watcher re-reads Status.
type watchers struct {
	mu       sync.Mutex
	subs     map[chan struct{}]bool
	stopping bool
}

// Subscribe returns a channel that receives a value after every change
// (coalesced), and a cancel func. The channel is closed when the engine
// stops.
func (e *Engine) Subscribe() (<-chan struct{}, func()) {
	return e.watchers.subscribe()
}

func (w *watchers) subscribe() (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan struct{}, 1)
	if w.stopping {
		close(ch)
		return ch, func() {}
	}
	if w.subs == nil {
		w.subs = map[chan struct{}]bool{}
	}
	w.subs[ch] = true
	ch <- struct{}{}
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.subs[ch] {
			delete(w.subs, ch)
			close(ch)
		}
	}
}

func (w *watchers) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (w *watchers) broadcastStopping() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopping = true
	for ch := range w.subs {
		close(ch)
		delete(w.subs, ch)
	}
}
