package magicconn

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/enginetest"
)

// sendData sends a 1000-byte datagram from ca every 20 ms (data, for the
// heartbeat: a transfer) and drains them at cb, noting when the last one
// arrived, until the returned function is called.
func sendData(ca, cb *quic.Conn) (last func() time.Time, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var at time.Time
	wg.Add(2)
	go func() {
		defer wg.Done()
		payload := make([]byte, 1000)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				ca.SendDatagram(payload) // lost while the path is cut
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			if _, err := cb.ReceiveDatagram(ctx); err != nil {
				return
			}
			mu.Lock()
			at = time.Now()
			mu.Unlock()
		}
	}()
	last = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	return last, func() { cancel(); wg.Wait() }
}

// TestBusyFailover: with the production timers, a direct path that
// carries data and is then blackholed is left for the relay on both sides
// within the hot trust window and one hot heartbeat (issue 16: relay
// within 3 s, test/netns TestPathChanges), however long the path was
// calm before the data began, and data beginning on a calm, backed-off
// path does not make it flap. A path cut just as data begins is left as
// fast by the sender; the receiver, which got no data, leaves it when
// the sender's first packet arrives through the relay.
func TestBusyFailover(t *testing.T) {
	tm := defaultTiming()
	bound := tm.hotTrust + tm.hotHeartbeat
	tests := []struct {
		name string
		calm time.Duration // the path is quiet this long before data begins
		lead time.Duration // data flows this long before the cut
	}{
		{"calm path, cut just after data began", 2 * time.Minute, 300 * time.Millisecond},
		{"calm path, cut as data begins", 2 * time.Minute, 0},
		{"calm path, cut during a transfer", 2 * time.Minute, 20 * time.Second},
		{"new path, cut just after data began", 0, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t)
				a := w.newNode("a", easy, nodeOpts{timing: &tm})
				b := w.newNode("b", portRestricted, nodeOpts{timing: &tm})
				meet(t, a, b)
				ca, cb := connect(t, a, b)
				waitPaths(t, a, b, PathDirect)
				time.Sleep(tt.calm)
				if tt.calm > 0 {
					a.mc.mu.RLock()
					p := a.mc.peers[b.pub]
					backedOff := a.mc.quietInterval(p, a.mc.now()) > mono(tm.quietHeartbeat)
					busy := a.mc.busy(p, a.mc.now())
					a.mc.mu.RUnlock()
					if !backedOff || busy {
						t.Fatalf("after %v the path is not calm: backed off %v, busy %v", tt.calm, backedOff, busy)
					}
				}

				lastData, stop := sendData(ca, cb)
				defer stop()
				for end := time.Now().Add(tt.lead); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
					for _, pair := range [][2]*node{{a, b}, {b, a}} {
						if p := pair[0].mc.Path(pair[1].pub); p.Kind != PathDirect {
							t.Fatalf("%s -> %s left the direct path %v after data began: %+v",
								pair[0].name, pair[1].name, tt.lead-time.Until(end), p)
						}
					}
				}

				unblock := w.net.Block(a.nat.Public(), b.nat.Public())
				defer unblock()
				cut := time.Now()
				relayed := b.mc.Stats().RelayRx.Packets
				var aRelay, bRelay, bRelayed time.Duration // since the cut; 0: not yet
				for (aRelay == 0 || bRelay == 0) && time.Since(cut) < 10*time.Second {
					time.Sleep(10 * time.Millisecond)
					if aRelay == 0 && a.mc.Path(b.pub).Kind == PathRelay {
						aRelay = time.Since(cut)
					}
					if bRelay == 0 && b.mc.Path(a.pub).Kind == PathRelay {
						bRelay = time.Since(cut)
					}
					if bRelayed == 0 && b.mc.Stats().RelayRx.Packets > relayed {
						bRelayed = time.Since(cut)
					}
				}
				t.Logf("on the relay after the cut: a %v, b %v (first packet from a through the relay at b after %v; 0: none yet)", aRelay, bRelay, bRelayed)
				if aRelay == 0 || aRelay > bound {
					t.Errorf("a went to the relay after %v (0: not within 10 s); want within %v (hot trust %v + hot heartbeat %v)",
						aRelay, bound, tm.hotTrust, tm.hotHeartbeat)
				}
				switch {
				case tt.lead > 0 && (bRelay == 0 || bRelay > bound):
					t.Errorf("b went to the relay after %v (0: not within 10 s); want within %v", bRelay, bound)
				case tt.lead == 0 && (bRelay == 0 || bRelayed == 0 || bRelay > bRelayed+tm.tick):
					// No data reached b before the cut: its path is not
					// busy, and a's data through the relay (QUIC's next
					// probe) is its first sign.
					t.Errorf("b went to the relay after %v, its first packet from a through the relay came after %v; want within a tick of it", bRelay, bRelayed)
				}
				// QUIC's retransmit timer backed off while the path was
				// cut: its next probe restarts the flow.
				onRelay := time.Now()
				enginetest.WaitFor(t, 10*time.Second, "data through the relay", func() bool { return lastData().After(onRelay) })
				t.Logf("data through the relay %v after both sides were on it", lastData().Sub(onRelay))
				if st := a.mc.Stats(); st.RelayTx.Packets == 0 {
					t.Errorf("nothing sent through the relay: %+v", st)
				}
				alive(t, ca, cb)
			})
		})
	}
}

// TestTrustUntil: when data begins on a path, its trust lasts at least a
// trust window from that moment if the path was trusted then, and no
// longer than a window after the first pong under data; data the peer
// relays to us gives no such grace.
func TestTrustUntil(t *testing.T) {
	tm := defaultTiming()
	hot := mono(tm.hotTrust)
	now := mono(time.Hour)
	s := mono(time.Second)
	tests := []struct {
		name      string
		lastPong  mono // before now
		busyFor   mono // data began this long ago (maintenance saw it); 0: no data
		unseen    bool // data began after the last maintenance
		relayedAt mono // the peer relayed data to us this long ago; 0: never
		want      mono // trustUntil - now
	}{
		{"calm path, pong 15 s ago", 15 * s, 0, false, 0, mono(tm.quietTrust) + 2*(mono(tm.quietMax)-mono(tm.quietHeartbeat)) - 15*s},
		{"data began 0.5 s ago on it", 15 * s, s / 2, false, 0, hot - s/2},
		{"data began since the last tick", 15 * s, 0, true, 0, hot},
		{"data began 0.5 s ago, relayed by the peer", 15 * s, s / 2, false, s / 4, -13 * s},
		{"relayed long before the data began", 15 * s, s / 2, false, 10 * s, hot - s/2},
		{"data began 2.5 s ago, no pong since", 15 * s, 5 * s / 2, false, 0, -s / 2},
		{"first pong under data", s / 4, s / 2, false, 0, hot - s/4},
		{"path untrusted when data began", 90 * s, s / 2, false, 0, hot - 90*s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{t: tm}
			cd := &candidate{lastPong: now - tt.lastPong}
			p := &peer{best: cd, pathSince: now - 10*mono(time.Minute)}
			p.lastRecv.Store(int64(now - s))
			if tt.busyFor > 0 || tt.unseen {
				p.lastData.Store(int64(now))
				p.wasBusy, p.busySince = !tt.unseen, now-tt.busyFor
			}
			if tt.relayedAt > 0 {
				p.lastRelayData.Store(int64(now - tt.relayedAt))
			}
			if got := c.trustUntil(p, cd, now) - now; got != tt.want {
				t.Errorf("trusted until now%+v, want now%+v", time.Duration(got), time.Duration(tt.want))
			}
		})
	}
}
