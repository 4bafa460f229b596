package netmap

import (
	"net/netip"
	"testing"
)

// FuzzParseOffer feeds arbitrary bytes to ParseOffer (the offer part of
// an endpoint record as mDNS carries it): it must never panic, and an
// offer it accepts must encode back to the same bytes.
func FuzzParseOffer(f *testing.F) {
	f.Add([]byte{})
	f.Add(AppendOffer(nil, Offer{ExitNode: true}))
	f.Add(AppendOffer(nil, Offer{Routes: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("2001:db8::/32")}}))
	f.Add([]byte{1, 1, 4, 10, 0, 0, 0, 33})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOffer(b)
		if err != nil {
			return
		}
		if len(o.Routes) > MaxOfferRoutes {
			t.Fatalf("%d routes accepted", len(o.Routes))
		}
		if back := AppendOffer(nil, o); string(back) != string(b) {
			t.Fatalf("round trip: %x became %x", b, back)
		}
	})
}
