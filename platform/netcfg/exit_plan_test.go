package netcfg

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

func TestValidateExit(t *testing.T) {
	cfg := Config{Name: "rf0", Forward: true, Exit: &Exit{AllowLAN: true,
		Exclude: pfx("198.18.0.7/32", "::ffff:198.18.0.7/128", "2001:db8::1/64", "198.18.0.9/32")}}
	got, err := cfg.validate()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Forward || got.Exit == nil || !got.Exit.AllowLAN ||
		!reflect.DeepEqual(got.Exit.Exclude, pfx("198.18.0.7/32", "2001:db8::/64", "198.18.0.9/32")) {
		t.Errorf("validate() = %+v, exit %+v", got, got.Exit)
	}
	if cfg.Exit.Exclude[2] != netip.MustParsePrefix("2001:db8::1/64") {
		t.Error("validate changed the caller's Exclude")
	}
	if got, _ := (Config{Name: "rf0"}).validate(); got.Exit != nil || got.Forward {
		t.Errorf("validate() of a plain config = %+v", got)
	}
	for _, bad := range [][]netip.Prefix{{{}}, pfx("0.0.0.0/0"), pfx("::/0")} {
		if _, err := (Config{Name: "rf0", Exit: &Exit{Exclude: bad}}).validate(); err == nil {
			t.Errorf("validate() accepted exclusion %v", bad)
		}
	}
}

func ruleStrings(rs []ipRule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

func TestLinuxExitRules(t *testing.T) {
	lan := pfx("192.168.1.0/24", "2001:db8:1::/64")
	tests := []struct {
		name string
		exit *Exit
		v6   bool
		want []string
	}{
		{name: "off", exit: nil, v6: true},
		{
			name: "plain",
			exit: &Exit{},
			v6:   true,
			want: []string{
				"IPv4 5280 fwmark 0x520000/0xff0000 lookup main",
				"IPv4 5281 to 169.254.0.0/16 lookup main",
				"IPv4 5290 lookup 82",
				"IPv6 5280 fwmark 0x520000/0xff0000 lookup main",
				"IPv6 5281 to fe80::/10 lookup main",
				"IPv6 5290 lookup 82",
			},
		},
		{
			name: "LAN and exclusions",
			exit: &Exit{AllowLAN: true, Exclude: pfx("203.0.113.7/32", "2001:db8:9::7/128", "192.168.1.5/32")},
			v6:   true,
			want: []string{
				"IPv4 5280 fwmark 0x520000/0xff0000 lookup main",
				"IPv4 5281 to 169.254.0.0/16 lookup main",
				"IPv4 5281 to 192.168.1.0/24 lookup main",
				"IPv4 5282 to 203.0.113.7/32 lookup main",
				"IPv4 5282 to 192.168.1.5/32 lookup main",
				"IPv4 5290 lookup 82",
				"IPv6 5280 fwmark 0x520000/0xff0000 lookup main",
				"IPv6 5281 to fe80::/10 lookup main",
				"IPv6 5281 to 2001:db8:1::/64 lookup main",
				"IPv6 5282 to 2001:db8:9::7/128 lookup main",
				"IPv6 5290 lookup 82",
			},
		},
		{
			name: "no IPv6, LAN not allowed",
			exit: &Exit{Exclude: pfx("203.0.113.7/32", "2001:db8:9::7/128")},
			want: []string{
				"IPv4 5280 fwmark 0x520000/0xff0000 lookup main",
				"IPv4 5281 to 169.254.0.0/16 lookup main",
				"IPv4 5282 to 203.0.113.7/32 lookup main",
				"IPv4 5290 lookup 82",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ruleStrings(linuxExitRules(tt.exit, lan, tt.v6))
			checkLines(t, "rules", got, tt.want)
		})
	}
}

func TestLanPrefixes(t *testing.T) {
	got := lanPrefixes(pfx("192.168.1.5/24", "127.0.0.1/8", "fe80::1/64", "2001:db8:1::5/64",
		"192.168.1.6/24", "10.1.2.3/32", "::ffff:10.9.9.9/120", "0.0.0.0/0", "::1/128"))
	if want := pfx("192.168.1.0/24", "2001:db8:1::/64", "10.9.9.0/24"); !reflect.DeepEqual(got, want) {
		t.Errorf("lanPrefixes = %v, want %v", got, want)
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"192.168.1.0/24":  "192.168.1.255",
		"10.0.0.0/9":      "10.127.255.255",
		"2001:db8:1::/64": "2001:db8:1:0:ffff:ffff:ffff:ffff",
	} {
		if got := lastAddr(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("lastAddr(%s) = %v, want %s", p, got, want)
		}
	}
}

func bypassStrings(bs []bypassRoute) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.String())
	}
	return out
}

func TestSplitExitPlan(t *testing.T) {
	en0 := netIface{Name: "en0"}
	gws := []gateway{
		{Family: familyV4, NextHop: netip.MustParseAddr("192.168.1.1"), Iface: en0},
		{Family: familyV6, NextHop: netip.MustParseAddr("fe80::1%en0"), Iface: en0},
	}
	lans := []lanNet{
		{Prefix: netip.MustParsePrefix("192.168.1.0/24"), Iface: en0},
		{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Iface: en0},
	}
	excl := pfx("203.0.113.7/32", "2001:db8:9::7/128", "192.168.1.5/32")
	split := []string{"0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"}
	tests := []struct {
		name   string
		exit   *Exit
		gws    []gateway
		tun    []string
		bypass []string
	}{
		{name: "off", exit: nil, gws: gws},
		{
			name:   "LAN allowed: exclusions off the LAN via the gateway",
			exit:   &Exit{AllowLAN: true, Exclude: excl},
			gws:    gws,
			tun:    split,
			bypass: []string{"203.0.113.7/32 via 192.168.1.1 dev en0", "2001:db8:9::7/128 via fe80::1%en0 dev en0"},
		},
		{
			name: "LAN captured in halves; gateway and LAN exclusions on-link",
			exit: &Exit{Exclude: excl},
			gws:  gws,
			tun:  append(split, "192.168.1.0/25", "192.168.1.128/25", "2001:db8:1::/65", "2001:db8:1:0:8000::/65"),
			bypass: []string{
				"192.168.1.1/32 dev en0",
				"203.0.113.7/32 via 192.168.1.1 dev en0",
				"2001:db8:9::7/128 via fe80::1%en0 dev en0",
				"192.168.1.5/32 dev en0",
			},
		},
		{
			name:   "no IPv6 gateway, on-link IPv4 default",
			exit:   &Exit{AllowLAN: true, Exclude: excl},
			gws:    []gateway{{Family: familyV4, Iface: netIface{Name: "ppp0"}}},
			tun:    split,
			bypass: []string{"203.0.113.7/32 dev ppp0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := splitExitPlan(tt.exit, tt.gws, lans)
			if got := fmt.Sprint(plan.Tun); got != fmt.Sprint(pfxOrNil(tt.tun)) {
				t.Errorf("TUN routes = %s, want %v", got, tt.tun)
			}
			checkLines(t, "bypass routes", bypassStrings(plan.Bypass), tt.bypass)
		})
	}
}

func pfxOrNil(ss []string) []netip.Prefix {
	if len(ss) == 0 {
		return nil
	}
	return pfx(ss...)
}
