package tun

import (
	"errors"
	"testing"

	"github.com/rayfish/rayfish/platform/internal/nstest"
	"github.com/vishvananda/netlink"
)

func TestCreateLinux(t *testing.T) {
	nstest.Do(t, func() {
		dev, err := Create("", 1400)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		if name, err := dev.Name(); err != nil || name != "rayfish0" {
			t.Errorf("Name() = %q, %v; want rayfish0", name, err)
		}
		if mtu, err := dev.MTU(); err != nil || mtu != 1400 {
			t.Errorf("MTU() = %d, %v; want 1400", mtu, err)
		}
		if n := dev.BatchSize(); n < 1 {
			t.Errorf("BatchSize() = %d", n)
		}
		link, err := netlink.LinkByName("rayfish0")
		if err != nil {
			t.Fatal(err)
		}
		if link.Type() != "tuntap" || link.Attrs().MTU != 1400 {
			t.Errorf("link type %q MTU %d, want tuntap 1400", link.Type(), link.Attrs().MTU)
		}
		if _, err := Create("rayfish0", 1400); err == nil {
			t.Error("second Create of the same name succeeded")
		}

		if err := dev.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := dev.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		var nf netlink.LinkNotFoundError
		if _, err := netlink.LinkByName("rayfish0"); !errors.As(err, &nf) {
			t.Errorf("after Close, LinkByName = %v, want not found", err)
		}
	})
}
