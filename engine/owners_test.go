package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// startNodeWithKey starts a node whose identity is k.
func startNodeWithKey(t *testing.T, name, dir string, k key.NodePrivate) *node {
	t.Helper()
	txt, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node.key"), append(txt, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return startNode(t, name, dir)
}

// TestCrossNetworkAddressClash: the admin of another network gives its
// node the IPv4 and hostname of a member of ours. Traffic to that IPv4
// keeps going to our member, the intruder cannot send with it, its IPv6
// works, and status says what was refused.
func TestCrossNetworkAddressClash(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		vk, mk := enginetest.CollidingKeys(t)
		self := startNode(t, "self", root+"/self")
		victim := startNodeWithKey(t, "nas", root+"/victim", vk)
		intruder := startNodeWithKey(t, "nas", root+"/intruder", mk)
		for _, n := range []*node{self, victim, intruder} {
			t.Cleanup(func() { n.e.Close() })
		}
		if _, err := self.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, self, victim, "home", netmap.InviteSingle)
		if _, err := intruder.e.CreateNetwork("other", true); err != nil {
			t.Fatal(err)
		}
		join(t, intruder, self, "other", netmap.InviteSingle)

		shared := victim.self().IPv4
		if intruder.self().IPv4 != shared {
			t.Fatalf("no clash: %v vs %v", shared, intruder.self().IPv4)
		}
		online := func(n *node, id string) bool {
			for _, p := range n.e.Status().Peers {
				if p.ID == id && p.Online {
					return true
				}
			}
			return false
		}
		// Each side sends on its own connection as soon as it has one.
		enginetest.WaitFor(t, 10*time.Second, "both peers online, both ways", func() bool {
			id := self.self().ID
			return online(self, victim.self().ID) && online(self, intruder.self().ID) &&
				online(victim, id) && online(intruder, id)
		})

		for _, p := range self.e.Status().Peers {
			switch p.ID {
			case victim.self().ID:
				if p.IPv4 != shared || len(p.Refused) != 0 || len(p.Warnings) != 0 {
					t.Errorf("the holder: ipv4 %v refused %v warnings %q", p.IPv4, p.Refused, p.Warnings)
				}
			case intruder.self().ID:
				if p.IPv4.IsValid() || len(p.Refused) != 1 || p.Refused[0] != shared || len(p.Warnings) != 2 {
					t.Errorf("the newcomer: ipv4 %v refused %v warnings %q", p.IPv4, p.Refused, p.Warnings)
				}
			}
		}

		// The bare name is the holder's, as in magic DNS.
		if k, err := self.e.ResolvePeer("nas"); err != nil || k.String() != victim.self().ID {
			t.Errorf("ResolvePeer(nas) = %v, %v; want the holder", k, err)
		}

		// To the shared IPv4: the holder gets it.
		pkt := enginetest.UDPPacket(self.self().IPv4, shared, 1000, 2000, 100)
		self.tun.ToEngine <- pkt
		expectPacket(t, victim.tun, "delivery to the holder", func(p []byte) bool { return bytes.Equal(p, pkt) })

		// From the intruder with the shared IPv4: dropped as spoofed.
		before := self.e.Status().Drops["spoofed_source"]
		intruder.tun.ToEngine <- enginetest.UDPPacket(shared, self.self().IPv4, 1000, 2000, 100)
		enginetest.WaitFor(t, 5*time.Second, "spoofed source dropped", func() bool {
			return self.e.Status().Drops["spoofed_source"] > before
		})
		// Its IPv6 works both ways.
		pkt6 := enginetest.UDPPacket(intruder.self().IPv6, self.self().IPv6, 1000, 2000, 100)
		intruder.tun.ToEngine <- pkt6
		expectPacket(t, self.tun, "IPv6 from the newcomer", func(p []byte) bool { return bytes.Equal(p, pkt6) })
		back := enginetest.UDPPacket(self.self().IPv6, intruder.self().IPv6, 2000, 1000, 100)
		self.tun.ToEngine <- back
		expectPacket(t, intruder.tun, "IPv6 to the newcomer", func(p []byte) bool { return bytes.Equal(p, back) })

		// The decision survives a restart of this node.
		self.e.Close()
		self = startNode(t, "self", root+"/self")
		t.Cleanup(func() { self.e.Close() })
		for _, p := range self.e.Status().Peers {
			if p.ID == intruder.self().ID && len(p.Refused) != 1 {
				t.Errorf("after restart the newcomer's refused addresses are %v", p.Refused)
			}
		}
	})
}
