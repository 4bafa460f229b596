package engine_test

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/enginetest"
)

// TestPeerDetailsInStatus: status tells each peer's platform and version
// (from its hello), its magic DNS name and the endpoints its signed
// record advertises, for the app's peer details.
func TestPeerDetailsInStatus(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		nodes := meshOfThree(t, t.TempDir())
		a, b := nodes[0], nodes[1]
		enginetest.WaitFor(t, 10*time.Second, "alpha knows beta's software", func() bool {
			p, ok := a.peer("beta")
			return ok && p.Online && p.Version != ""
		})
		p, _ := a.peer("beta")
		if want := runtime.GOOS + "/" + runtime.GOARCH; p.OS != want || p.Version != buildinfo.Version {
			t.Errorf("beta runs %q %q, want %q %q", p.OS, p.Version, want, buildinfo.Version)
		}
		if p.DNSName != "beta.ray" {
			t.Errorf("beta's DNS name %q", p.DNSName)
		}
		t.Logf("beta: os %q version %q dns %q candidates %v", p.OS, p.Version, p.DNSName, p.Candidates)
		want := b.self().Endpoints
		if len(p.Candidates) == 0 || !slices.Equal(p.Candidates[:min(len(want), len(p.Candidates))], want) {
			t.Errorf("candidates %v, beta advertises %v", p.Candidates, want)
		}
	})
}
