package netcfg

import (
	"net/netip"
	"strings"
	"testing"
)

func cmdStrings(cmds []command) []string {
	var out []string
	for _, c := range cmds {
		s := strings.Join(c.Args, " ")
		if c.OKIfExists {
			s += " [exists ok]"
		}
		if c.OKIfMissing {
			s += " [missing ok]"
		}
		out = append(out, s)
	}
	return out
}

func TestDarwinApplyPlan(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		have, prev []netip.Prefix
		want       []string
	}{
		{
			name: "fresh",
			cfg: Config{Name: "utun7", MTU: 1280,
				Addrs:  pfx("100.64.1.2/10", "fd72:6179:6669:0:1:2:3:4/48"),
				Routes: pfx("198.18.0.0/15")},
			have: pfx("fe80::1/64"),
			want: []string{
				"ifconfig utun7 mtu 1280",
				"ifconfig utun7 inet 100.64.1.2/10 100.64.1.2 alias",
				"ifconfig utun7 inet6 fd72:6179:6669:0:1:2:3:4/48 alias",
				"ifconfig utun7 up",
				"route -q -n add -inet 100.64.0.0/10 -interface utun7 [exists ok]",
				"route -q -n add -inet6 fd72:6179:6669::/48 -interface utun7 [exists ok]",
				"route -q -n add -inet 198.18.0.0/15 -interface utun7 [exists ok]",
			},
		},
		{
			name: "again changes nothing but re-asserts routes",
			cfg: Config{Name: "utun7",
				Addrs: pfx("100.64.1.2/10")},
			have: pfx("100.64.1.2/10", "fe80::1/64"),
			prev: pfx("100.64.0.0/10"),
			want: []string{
				"ifconfig utun7 up",
				"route -q -n add -inet 100.64.0.0/10 -interface utun7 [exists ok]",
			},
		},
		{
			name: "replaces address and drops stale route",
			cfg: Config{Name: "utun3",
				Addrs: pfx("100.64.1.3/10", "fd72:6179:6669::5/48")},
			have: pfx("100.64.1.2/10", "fd72:6179:6669::5/48"),
			prev: pfx("100.64.0.0/10", "fd72:6179:6669::/48", "2001:db8::/32"),
			want: []string{
				"ifconfig utun3 inet 100.64.1.2 -alias",
				"ifconfig utun3 inet 100.64.1.3/10 100.64.1.3 alias",
				"ifconfig utun3 up",
				"route -q -n delete -inet6 2001:db8::/32 -interface utun3 [missing ok]",
				"route -q -n add -inet 100.64.0.0/10 -interface utun3 [exists ok]",
				"route -q -n add -inet6 fd72:6179:6669::/48 -interface utun3 [exists ok]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.cfg.validate()
			if err != nil {
				t.Fatal(err)
			}
			got := cmdStrings(darwinApplyPlan(cfg, tt.have, darwinRoutes{Tun: tt.prev}, exitRoutes{}))
			checkLines(t, "plan", got, tt.want)
		})
	}
}

func TestDarwinTeardownPlan(t *testing.T) {
	got := cmdStrings(darwinTeardownPlan("utun7",
		pfx("100.64.1.2/10", "fe80::1/64", "fd72:6179:6669::5/48"),
		darwinRoutes{Tun: pfx("100.64.0.0/10"), Bypass: []bypassRoute{
			{Dst: netip.MustParsePrefix("203.0.113.7/32"), NextHop: netip.MustParseAddr("192.168.1.1")}}}))
	want := []string{
		"route -q -n delete -inet 100.64.0.0/10 -interface utun7 [missing ok]",
		"route -q -n delete -inet 203.0.113.7/32 [missing ok]",
		"ifconfig utun7 inet 100.64.1.2 -alias",
		"ifconfig utun7 inet6 fd72:6179:6669::5 -alias",
		"ifconfig utun7 down",
	}
	checkLines(t, "plan", got, want)
}

func TestDarwinApplyPlanExit(t *testing.T) {
	cfg := Config{Name: "utun7", Addrs: pfx("100.64.1.2/10")}
	gw := func(nh string) bypassRoute {
		return bypassRoute{Dst: netip.MustParsePrefix("203.0.113.7/32"), NextHop: netip.MustParseAddr(nh), Iface: netIface{Name: "en0"}}
	}
	onLink := bypassRoute{Dst: netip.MustParsePrefix("192.168.1.5/32"), Iface: netIface{Name: "en0"}}
	exit := exitRoutes{Tun: pfx("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"), Bypass: []bypassRoute{gw("192.168.1.1"), onLink}}
	have := pfx("100.64.1.2/10")
	base := darwinRoutes{Tun: pfx("100.64.0.0/10")}
	tests := []struct {
		name string
		prev darwinRoutes
		exit exitRoutes
		want []string
	}{
		{
			name: "exit on: bypass routes first",
			prev: base,
			exit: exit,
			want: []string{
				"ifconfig utun7 up",
				"route -q -n add -inet 203.0.113.7/32 192.168.1.1 [exists ok]",
				"route -q -n add -inet 192.168.1.5/32 -interface en0 [exists ok]",
				"route -q -n add -inet 100.64.0.0/10 -interface utun7 [exists ok]",
				"route -q -n add -inet 0.0.0.0/1 -interface utun7 [exists ok]",
				"route -q -n add -inet 128.0.0.0/1 -interface utun7 [exists ok]",
				"route -q -n add -inet6 ::/1 -interface utun7 [exists ok]",
				"route -q -n add -inet6 8000::/1 -interface utun7 [exists ok]",
			},
		},
		{
			name: "gateway changed, LAN host no longer excluded",
			prev: darwinWant(cfg, exit),
			exit: exitRoutes{Tun: exit.Tun, Bypass: []bypassRoute{gw("10.0.0.1")}},
			want: []string{
				"ifconfig utun7 up",
				"route -q -n delete -inet 203.0.113.7/32 [missing ok]",
				"route -q -n add -inet 203.0.113.7/32 10.0.0.1 [exists ok]",
				"route -q -n add -inet 100.64.0.0/10 -interface utun7 [exists ok]",
				"route -q -n add -inet 0.0.0.0/1 -interface utun7 [exists ok]",
				"route -q -n add -inet 128.0.0.0/1 -interface utun7 [exists ok]",
				"route -q -n add -inet6 ::/1 -interface utun7 [exists ok]",
				"route -q -n add -inet6 8000::/1 -interface utun7 [exists ok]",
				"route -q -n delete -inet 192.168.1.5/32 [missing ok]",
			},
		},
		{
			name: "exit off: split routes go before the bypass routes",
			prev: darwinWant(cfg, exit),
			want: []string{
				"ifconfig utun7 up",
				"route -q -n delete -inet 0.0.0.0/1 -interface utun7 [missing ok]",
				"route -q -n delete -inet 128.0.0.0/1 -interface utun7 [missing ok]",
				"route -q -n delete -inet6 ::/1 -interface utun7 [missing ok]",
				"route -q -n delete -inet6 8000::/1 -interface utun7 [missing ok]",
				"route -q -n add -inet 100.64.0.0/10 -interface utun7 [exists ok]",
				"route -q -n delete -inet 203.0.113.7/32 [missing ok]",
				"route -q -n delete -inet 192.168.1.5/32 [missing ok]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cmdStrings(darwinApplyPlan(cfg, have, tt.prev, tt.exit))
			checkLines(t, "plan", got, tt.want)
		})
	}
}

func TestParseNetstatDefault(t *testing.T) {
	inet := `Routing tables

Internet:
Destination        Gateway            Flags               Netif Expire
default            link#22            UCSg                utun7
default            10.9.0.1           UGScIg                en1
default            192.168.1.1        UGScg                 en0
127                127.0.0.1          UCS                   lo0
192.168.1          link#4             UCS                   en0      !
`
	inet6 := `Routing tables

Internet6:
Destination                             Gateway                                 Flags               Netif Expire
default                                 fe80::%utun0                            UGcIg               utun0
default                                 fe80::1%en0                             UGcg                  en0
::1                                     ::1                                     UHL                   lo0
`
	ppp := "Destination Gateway Flags Netif Expire\ndefault link#9 UCS ppp0\n"
	tests := []struct {
		name string
		out  string
		f    family
		want gateway
		ok   bool
	}{
		{"skips the TUN and scoped routes", inet, familyV4, gateway{Family: familyV4, NextHop: netip.MustParseAddr("192.168.1.1"), Iface: netIface{Name: "en0"}}, true},
		{"IPv6 link-local gateway keeps its zone", inet6, familyV6, gateway{Family: familyV6, NextHop: netip.MustParseAddr("fe80::1%en0"), Iface: netIface{Name: "en0"}}, true},
		{"on-link default", ppp, familyV4, gateway{Family: familyV4, Iface: netIface{Name: "ppp0"}}, true},
		{"family mismatch", inet, familyV6, gateway{}, false},
		{"no header", "default 192.168.1.1 UGS en0\n", familyV4, gateway{}, false},
		{"empty", "", familyV4, gateway{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseNetstatDefault([]byte(tt.out), tt.f, "utun7")
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseNetstatDefault = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
