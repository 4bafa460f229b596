package engine_test

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/platform/tun"
)

// TestTUNCreatedLate: a node whose TUN cannot be created at first runs on
// (joins its network, reports why in Status.TUNError and wakes watchers),
// and once the factory succeeds the error clears and packets flow through
// the new device, the way `ray daemon` uses tun.Deferred.
func TestTUNCreatedLate(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		fake := enginetest.NewTUN()
		var attempts atomic.Int32
		dev := tun.NewDeferred("rayfish", 1360, func() (tun.Device, error) {
			if attempts.Add(1) == 1 {
				return nil, errors.New("wintun.dll could not be loaded: Bad EXE format")
			}
			return fake, nil
		})
		a := startNodeTUN(t, "alpha", root+"/a", fake, dev)
		b := startNode(t, "beta", root+"/b")
		defer a.e.Close()
		defer b.e.Close()

		const why = "create TUN \"rayfish\": no driver"
		a.e.SetTUNError(why)
		if got := a.e.Status().TUNError; got != why {
			t.Fatalf("TUNError = %q, want %q", got, why)
		}
		changes, cancel := a.e.Subscribe()
		defer cancel()
		<-changes // the subscription's first wake-up

		if _, err := a.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, a, b, "home", netmap.InviteSingle)

		var reports atomic.Int32
		dev.Start(func(_ tun.Device, err error) {
			reports.Add(1)
			if err != nil {
				a.e.SetTUNError(err.Error())
			} else {
				a.e.SetTUNError("")
			}
		})
		enginetest.WaitFor(t, 10*time.Second, "the TUN error to clear", func() bool { return a.e.Status().TUNError == "" })
		if n := attempts.Load(); n != 2 {
			t.Errorf("%d attempts, want 2 (one failure, then the device)", n)
		}
		select {
		case <-changes:
		case <-time.After(5 * time.Second):
			t.Error("watchers were not told about the TUN error changing")
		}

		enginetest.WaitFor(t, 10*time.Second, "beta online", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
		for _, pair := range [][2]*node{{a, b}, {b, a}} {
			pkt := enginetest.UDPPacket(pair[0].self().IPv4, pair[1].self().IPv4, 1000, 2000, 600)
			pair[0].tun.ToEngine <- pkt
			expectPacket(t, pair[1].tun, "delivery "+pair[0].name+"->"+pair[1].name, func(p []byte) bool {
				return bytes.Equal(p, pkt)
			})
		}
	})
}
