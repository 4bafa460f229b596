package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/localapi"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/platform/ipc"
)

// runFakeDaemon serves the local API on a socket with a made-up node of N
// peers whose counters change every second and whose history gains a
// sample every 5 s, as a busy real daemon's would: the load the app sees
// while idle with N peers (the CPU measurement of run.sh). It serves them
// with localapi's own server, so its watch stream follows the daemon's
// rules (a peer's history only when it gained a sample).
func runFakeDaemon(args []string) error {
	fs := flag.NewFlagSet("fakedaemon", flag.ContinueOnError)
	socket := fs.String("socket", "", "local API socket to serve")
	peers := fs.Int("peers", 50, "number of peers")
	every := fs.Duration("every", time.Second, "how often the counters change (0: never, a quiet daemon)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *socket == "" || *peers < 0 || *peers > 1000 {
		return fmt.Errorf("fakedaemon: want --socket and 0 <= --peers <= 1000")
	}
	ln, err := ipc.Listen(*socket)
	if err != nil {
		return err
	}
	b := newFakeBackend(*peers)
	srv := localapi.New(b, nil)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if *every > 0 {
		go b.run(ctx, *every)
	}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Printf("fakedaemon: %d peers on %s\n", *peers, *socket)
	if err := srv.Serve(ln); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// fakeBackend implements the parts of localapi.Backend the app reads; the
// rest panic (the embedded nil interface), which the server turns into a
// 500 for that request.
type fakeBackend struct {
	localapi.Backend

	mu   sync.Mutex
	st   apitype.Status
	subs map[chan struct{}]bool
}

func newFakeBackend(n int) *fakeBackend {
	b := &fakeBackend{subs: map[chan struct{}]bool{}}
	b.st = apitype.Status{
		Version: buildinfo.Version,
		State:   apitype.StateUp,
		Self: apitype.Self{ID: "k7self000000000000000000000000000000000000000000000", Hostname: "laptop",
			IPv4: netip.MustParseAddr("100.64.0.1"), ListenPort: 41641, Endpoints: []string{"198.18.30.1:41641"}},
		Networks: []apitype.Network{{Name: "home", Admin: true, Members: n/2 + 1}, {Name: "work", Members: n - n/2 + 1}},
		Requests: []apitype.JoinRequest{},
		Drops:    map[string]uint64{},
	}
	for i := range n {
		p := apitype.Peer{
			ID:       fmt.Sprintf("k7peer%045d", i),
			Hostname: fmt.Sprintf("host-%02d", i),
			IPv4:     netip.AddrFrom4([4]byte{100, 64, byte(1 + i/250), byte(2 + i%250)}),
			Networks: []string{[]string{"home", "work"}[i%2]},
			Online:   i%5 != 4,
			State:    apitype.PeerOnline,
			Path:     apitype.PathDirect,
			Endpoint: fmt.Sprintf("198.18.31.%d:41641", 1+i%250),
			Carrier:  "bulk",
		}
		if i%7 == 3 {
			p.Path, p.Endpoint, p.RelayReason = apitype.PathRelay, "http://198.18.30.9:8443", "no direct path yet"
		}
		if !p.Online {
			p.State, p.Path, p.Endpoint, p.Carrier = apitype.PeerOffline, apitype.PathNone, "", ""
		} else {
			// A daemon up for 5 minutes has full history rings: the
			// stream's peer events are as large from the start.
			for range 60 {
				p.History = addSample(p.History, 5+20*rand.Float64(), uint64(rand.IntN(100000)), uint64(rand.IntN(25000)))
			}
		}
		b.st.Peers = append(b.st.Peers, p)
	}
	return b
}

// run changes every online peer's counters and round trip each tick (a
// second by default), and adds a history sample every 5 ticks, then wakes
// the watchers: what the real daemon's maintenance tick does.
func (b *fakeBackend) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b.mu.Lock()
		for i := range b.st.Peers {
			p := &b.st.Peers[i]
			if !p.Online {
				continue
			}
			rx, tx := uint64(rand.IntN(20000)), uint64(rand.IntN(5000))
			p.RxBytes += rx
			p.TxBytes += tx
			p.RTTMs = 5 + 20*rand.Float64()
			if n%5 == 0 {
				p.History = addSample(p.History, p.RTTMs, rx, tx)
			}
		}
		for ch := range b.subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		b.mu.Unlock()
	}
}

func addSample(h *apitype.PeerHistory, rtt float64, rx, tx uint64) *apitype.PeerHistory {
	out := &apitype.PeerHistory{IntervalS: 5}
	if h != nil {
		out.RTTMs, out.RxBps, out.TxBps = h.RTTMs, h.RxBps, h.TxBps
	}
	out.RTTMs = append(out.RTTMs[max(0, len(out.RTTMs)-59):len(out.RTTMs):len(out.RTTMs)], rtt)
	out.RxBps = append(out.RxBps[max(0, len(out.RxBps)-59):len(out.RxBps):len(out.RxBps)], rx)
	out.TxBps = append(out.TxBps[max(0, len(out.TxBps)-59):len(out.TxBps):len(out.TxBps)], tx)
	return out
}

func (b *fakeBackend) Status() *apitype.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.st
	st.Peers = append([]apitype.Peer(nil), b.st.Peers...)
	return &st
}

func (b *fakeBackend) Subscribe() (<-chan struct{}, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	b.subs[ch] = true
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, ch)
	}
}

func (b *fakeBackend) Prefs() apitype.Prefs {
	return apitype.Prefs{ConnectOnStart: true, Relays: []string{}}
}
func (b *fakeBackend) Operator() string { return "" }
func (b *fakeBackend) FirewallState() apitype.FirewallState {
	return apitype.FirewallState{DefaultIn: "deny", DefaultOut: "allow", Rules: []apitype.FirewallRule{}, Suggested: []apitype.SuggestedRules{}}
}
