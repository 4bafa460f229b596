package magicconn

import (
	"net/netip"
	"testing"
)

func TestSourcePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"198.18.0.7", "198.18.0.7/32"},
		{"::ffff:198.18.0.7", "198.18.0.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
	}
	for _, tc := range tests {
		if got := SourcePrefix(netip.MustParseAddr(tc.in)).String(); got != tc.want {
			t.Errorf("SourcePrefix(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
