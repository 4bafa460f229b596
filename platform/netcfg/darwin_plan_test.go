package netcfg

import (
	"net/netip"
	"reflect"
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
			got := cmdStrings(darwinApplyPlan(cfg, tt.have, tt.prev))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestDarwinTeardownPlan(t *testing.T) {
	got := cmdStrings(darwinTeardownPlan("utun7",
		pfx("100.64.1.2/10", "fe80::1/64", "fd72:6179:6669::5/48"),
		pfx("100.64.0.0/10")))
	want := []string{
		"route -q -n delete -inet 100.64.0.0/10 -interface utun7 [missing ok]",
		"ifconfig utun7 inet 100.64.1.2 -alias",
		"ifconfig utun7 inet6 fd72:6179:6669::5 -alias",
		"ifconfig utun7 down",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
