package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// fakeWin records winIface calls and can fail them.
type fakeWin struct {
	calls []string
	noV6  bool   // the interface has no IPv6
	fail  string // a call prefix that fails
}

func (w *fakeWin) do(call string, f family) error {
	w.calls = append(w.calls, call)
	if w.noV6 && f == familyV6 {
		return errNoFamily
	}
	if w.fail != "" && strings.HasPrefix(call, w.fail) {
		return errors.New("boom")
	}
	return nil
}

func (w *fakeWin) SetInterface(f family, mtu int) error {
	return w.do(fmt.Sprintf("interface %v mtu %d", f, mtu), f)
}

func (w *fakeWin) SetRoutes(f family, routes []netip.Prefix) error {
	return w.do(fmt.Sprintf("routes %v %v", f, routes), f)
}

func (w *fakeWin) SetAddresses(f family, addrs []netip.Prefix) error {
	return w.do(fmt.Sprintf("addresses %v %v", f, addrs), f)
}

func (w *fakeWin) Flush(f family) error {
	return w.do(fmt.Sprintf("flush %v", f), f)
}

func (w *fakeWin) SetBypass(routes []bypassRoute) error {
	return w.do(fmt.Sprintf("bypass %v", routes), familyV4)
}

func TestApplyWindows(t *testing.T) {
	full := Config{Name: "rayfish", MTU: 1280,
		Addrs:  pfx("100.64.1.2/10", "fd72:6179:6669::5/48"),
		Routes: pfx("100.64.0.0/10", "198.18.0.0/15", "2001:db8::/32")}
	tests := []struct {
		name    string
		cfg     Config
		exit    exitRoutes
		fake    fakeWin
		want    []string
		wantErr error // nil: success; errAny: some error
	}{
		{
			name: "both families",
			cfg:  full,
			want: []string{
				"interface IPv4 mtu 1280",
				"routes IPv4 [198.18.0.0/15]",
				"addresses IPv4 [100.64.1.2/10]",
				"interface IPv6 mtu 1280",
				"routes IPv6 [2001:db8::/32]",
				"addresses IPv6 [fd72:6179:6669::5/48]",
				"bypass []",
			},
		},
		{
			name: "exit node: bypass first, split defaults on the TUN",
			cfg:  full,
			exit: exitRoutes{
				Tun:    pfx("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"),
				Bypass: []bypassRoute{{Dst: netip.MustParsePrefix("203.0.113.7/32"), NextHop: netip.MustParseAddr("192.168.1.1"), Iface: netIface{LUID: 9}}},
			},
			want: []string{
				"bypass [203.0.113.7/32 via 192.168.1.1 dev luid:9]",
				"interface IPv4 mtu 1280",
				"routes IPv4 [198.18.0.0/15 0.0.0.0/1 128.0.0.0/1]",
				"addresses IPv4 [100.64.1.2/10]",
				"interface IPv6 mtu 1280",
				"routes IPv6 [2001:db8::/32 ::/1 8000::/1]",
				"addresses IPv6 [fd72:6179:6669::5/48]",
			},
		},
		{
			name: "exit node without IPv6 on the host",
			cfg:  Config{Name: "rayfish", Addrs: pfx("100.64.1.2/10")},
			exit: exitRoutes{Tun: pfx("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1")},
			fake: fakeWin{noV6: true},
			want: []string{
				"interface IPv4 mtu 0",
				"routes IPv4 [0.0.0.0/1 128.0.0.0/1]",
				"addresses IPv4 [100.64.1.2/10]",
				"interface IPv6 mtu 0",
				"bypass []",
			},
			wantErr: ErrNoIPv6,
		},
		{
			name: "forwarding is not supported, the rest is applied",
			cfg:  Config{Name: "rayfish", Addrs: pfx("100.64.1.2/10"), Forward: true},
			want: []string{
				"interface IPv4 mtu 0",
				"routes IPv4 []",
				"addresses IPv4 [100.64.1.2/10]",
				"flush IPv6",
				"bypass []",
			},
			wantErr: ErrNoForward,
		},
		{
			name: "bypass fails: the TUN is left alone",
			cfg:  full,
			exit: exitRoutes{Tun: pfx("0.0.0.0/1"), Bypass: []bypassRoute{{Dst: netip.MustParsePrefix("203.0.113.7/32")}}},
			fake: fakeWin{fail: "bypass"},
			want: []string{
				"bypass [203.0.113.7/32 dev luid:0]",
			},
			wantErr: errAny,
		},
		{
			name: "v4 only clears v6",
			cfg:  Config{Name: "rayfish", Addrs: pfx("100.64.1.2/10")},
			want: []string{
				"interface IPv4 mtu 0",
				"routes IPv4 []",
				"addresses IPv4 [100.64.1.2/10]",
				"flush IPv6",
				"bypass []",
			},
		},
		{
			name: "v4 only on a host without IPv6",
			cfg:  Config{Name: "rayfish", Addrs: pfx("100.64.1.2/10")},
			fake: fakeWin{noV6: true},
			want: []string{
				"interface IPv4 mtu 0",
				"routes IPv4 []",
				"addresses IPv4 [100.64.1.2/10]",
				"flush IPv6",
				"bypass []",
			},
		},
		{
			name: "v6 wanted on a host without IPv6",
			cfg:  full,
			fake: fakeWin{noV6: true},
			want: []string{
				"interface IPv4 mtu 1280",
				"routes IPv4 [198.18.0.0/15]",
				"addresses IPv4 [100.64.1.2/10]",
				"interface IPv6 mtu 1280",
				"bypass []",
			},
			wantErr: ErrNoIPv6,
		},
		{
			name: "routes fail",
			cfg:  full,
			fake: fakeWin{fail: "routes IPv4"},
			want: []string{
				"interface IPv4 mtu 1280",
				"routes IPv4 [198.18.0.0/15]",
			},
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.cfg.validate()
			if err != nil {
				t.Fatal(err)
			}
			w := tt.fake
			err = applyWindows(&w, cfg, tt.exit)
			checkErr(t, err, tt.wantErr)
			checkLines(t, "calls", w.calls, tt.want)
		})
	}
}

var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("error = %v, want nil", err)
	case want == errAny && err == nil:
		t.Error("error = nil, want one")
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Errorf("error = %v, want %v", err, want)
	}
}

func TestTeardownWindows(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fake    fakeWin
		wantErr error
	}{
		{name: "both"},
		{name: "no IPv6", fake: fakeWin{noV6: true}},
		{name: "failure", fake: fakeWin{fail: "flush IPv4"}, wantErr: errAny},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.fake
			checkErr(t, teardownWindows(&w), tt.wantErr)
			if want := []string{"flush IPv4", "flush IPv6", "bypass []"}; !reflect.DeepEqual(w.calls, want) {
				t.Errorf("calls = %q, want %q", w.calls, want)
			}
		})
	}
}
