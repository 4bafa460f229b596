//go:build linux

// Package nstest runs test code inside a fresh, unnamed Linux network
// namespace, so that tests can create TUN devices, addresses and routes
// without touching the host.
package nstest

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// Do runs f on the calling goroutine's OS thread moved into a new network
// namespace, then moves the thread back. The namespace disappears once
// nothing refers to it (f must close what it created in it). Do skips the test
// unless it runs as root with /dev/net/tun present.
//
// Only the calling goroutine is in the namespace: f must not make its
// netlink, socket or /proc/sys calls from other goroutines (t.Run included).
func Do(t testing.TB, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no TUN support: %v", err)
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current network namespace: %v", err)
	}
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Skipf("cannot create a network namespace: %v", err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime discards it when the
			// goroutine exits, so no other goroutine runs in the namespace.
			t.Errorf("restore network namespace: %v", err)
		} else {
			runtime.UnlockOSThread()
		}
		ns.Close()
		orig.Close()
	}()
	f()
}
