package magicconn

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestRouteKeepsTrust: whenever maintenance trusts a peer's direct path,
// so does the data path. The route's deadline is set at a pong with the
// trust window of that moment; when the window grows later (data ends
// and the short busy window gives way to the quiet one), a route left
// as it was ran out while the path stayed chosen, and with no relay the
// data path dropped every packet (drop_no_path) until the next pong:
// the first pings of make bench-scale that failed.
func TestRouteKeepsTrust(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newQuietSim(t)
		s.run(5 * time.Minute)
		s.busy = true
		s.run(time.Minute)
		s.busy = false
		for range int(3 * time.Minute / s.c.t.tick) {
			s.run(s.c.t.tick)
			if s.p.best != nil && !s.trustedNow() {
				t.Fatalf("%v after data: maintenance trusts the path, the data path does not (until %v, now %v)",
					time.Since(s.start)-6*time.Minute, s.p.route.Load().trustUntil, s.c.now())
			}
		}
		if s.lostT != 0 {
			t.Errorf("path lost at %v", s.lostT)
		}
	})
}
