package netcfg

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// checkLines reports got and want, one item a line, unless they are equal.
func checkLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
		want    Config
	}{
		{
			name: "normalizes",
			cfg: Config{
				Name: "rf0", MTU: 1280,
				Addrs:  pfx("100.64.1.2/10", "100.64.1.2/10", "::ffff:100.64.1.3/106"),
				Routes: pfx("10.1.2.3/8", "10.0.0.0/8", "fd00::1/64"),
			},
			want: Config{
				Name: "rf0", MTU: 1280,
				Addrs:  pfx("100.64.1.2/10", "100.64.1.3/10"),
				Routes: pfx("10.0.0.0/8", "fd00::/64"),
			},
		},
		{name: "MTU 0 keeps", cfg: Config{Name: "rf0"}, want: Config{Name: "rf0"}},
		{name: "LUID kept", cfg: Config{Name: "rf0", LUID: 7}, want: Config{Name: "rf0", LUID: 7}},
		{name: "no name", cfg: Config{MTU: 1280}, wantErr: true},
		{name: "MTU too small", cfg: Config{Name: "rf0", MTU: 100}, wantErr: true},
		{name: "MTU too large", cfg: Config{Name: "rf0", MTU: 70000}, wantErr: true},
		{name: "invalid address", cfg: Config{Name: "rf0", Addrs: []netip.Prefix{{}}}, wantErr: true},
		{name: "invalid route", cfg: Config{Name: "rf0", Routes: []netip.Prefix{{}}}, wantErr: true},
		{name: "short mapped", cfg: Config{Name: "rf0", Addrs: pfx("::ffff:100.64.1.3/64")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("validate() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Name != tt.want.Name || got.MTU != tt.want.MTU || got.LUID != tt.want.LUID ||
				!slices.Equal(got.Addrs, tt.want.Addrs) || !slices.Equal(got.Routes, tt.want.Routes) {
				t.Errorf("validate() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	cfg := Config{
		Name:   "rf0",
		Addrs:  pfx("100.64.1.2/10", "fd72:6179:6669:0:1:2:3:4/48", "100.64.1.3/10"),
		Routes: pfx("100.64.0.0/10", "198.18.0.0/15", "2001:db8::/32"),
	}
	if got, want := cfg.extraRoutes(), pfx("198.18.0.0/15", "2001:db8::/32"); !slices.Equal(got, want) {
		t.Errorf("extraRoutes() = %v, want %v", got, want)
	}
	want := pfx("100.64.0.0/10", "fd72:6179:6669::/48", "198.18.0.0/15", "2001:db8::/32")
	if got := cfg.allRoutes(); !slices.Equal(got, want) {
		t.Errorf("allRoutes() = %v, want %v", got, want)
	}
}

func TestDiffPrefixes(t *testing.T) {
	have := pfx("100.64.1.2/10", "100.64.1.3/10", "fe80::1/64", "fd72:6179:6669::1/48", "100.64.1.4/16")
	want := pfx("100.64.1.2/10", "100.64.1.4/10")
	got := diffPrefixes(have, want)
	if exp := pfx("100.64.1.3/10", "fd72:6179:6669::1/48", "100.64.1.4/16"); !slices.Equal(got, exp) {
		t.Errorf("diffPrefixes = %v, want %v", got, exp)
	}
}

func TestSplitFamily(t *testing.T) {
	v4, v6 := splitFamily(pfx("100.64.1.2/10", "fd00::/8", "10.0.0.0/8"))
	if !slices.Equal(v4, pfx("100.64.1.2/10", "10.0.0.0/8")) || !slices.Equal(v6, pfx("fd00::/8")) {
		t.Errorf("splitFamily = %v, %v", v4, v6)
	}
}
