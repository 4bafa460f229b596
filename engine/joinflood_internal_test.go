package engine

import (
	"context"
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/netmap"
)

// TestJoinConnectionFlood: a stranger opens 1,000 join connections to an
// admin, each announcing the largest request and sending nothing. The
// admin serves a few at a time, closes the rest at once, and its heap
// grows by less than 20 MiB.
func TestJoinConnectionFlood(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		const conns = 1000
		admin := startTestEngine(t, "admin")
		if _, err := admin.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		stranger := startTestEngine(t, "stranger")
		admin.mu.Lock()
		rec := admin.myRecord
		admin.mu.Unlock()
		stranger.mu.Lock()
		stranger.tellInviterLocked(netmap.Invite{Inviter: admin.self, Addrs: rec.Addrs})
		stranger.mu.Unlock()

		heap := func() uint64 {
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapAlloc
		}
		base := heap()

		var mu sync.Mutex
		var open []*quic.Conn
		var refused, served int
		var wg sync.WaitGroup
		work := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					qc, err := stranger.dial(context.Background(), admin.self, alpnJoin)
					if err != nil {
						mu.Lock()
						refused++
						mu.Unlock()
						continue
					}
					if st, err := qc.OpenStream(); err == nil {
						var hdr [4]byte
						binary.BigEndian.PutUint32(hdr[:], maxJoinMsg) // announce the most, send none
						st.Write(hdr[:])
					}
					// Keep what the admin keeps open; the stranger's own
					// closed connections would count in this process's heap.
					mu.Lock()
					open = slices.DeleteFunc(open, func(qc *quic.Conn) bool { return qc.Context().Err() != nil })
					open = append(open, qc)
					mu.Unlock()
				}
			}()
		}
		start := time.Now()
		for range conns {
			work <- struct{}{}
		}
		close(work)
		wg.Wait()
		time.Sleep(200 * time.Millisecond) // the admin reads what arrived
		open = slices.DeleteFunc(open, func(qc *quic.Conn) bool { return qc.Context().Err() != nil })
		served = len(open)
		grown := int64(heap()) - int64(base)
		t.Logf("%d join connections in %v: %d handshakes failed, %d still open; heap grew %.1f MiB",
			conns, time.Since(start).Round(time.Millisecond), refused, served, float64(grown)/(1<<20))
		if grown > 20<<20 {
			t.Errorf("heap grew %.1f MiB (limit 20 MiB)", float64(grown)/(1<<20))
		}
		if served > maxJoinConnsPerSource {
			t.Errorf("%d join connections from one source served, limit %d", served, maxJoinConnsPerSource)
		}
		for _, qc := range open {
			qc.CloseWithError(0, "")
		}
	})
}
