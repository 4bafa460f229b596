package main

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/dhtdisc"
)

// TestDHTBootstrapFlags: the public bootstrap list is used only when
// neither --dht-bootstrap nor --no-dht is given.
func TestDHTBootstrapFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  []string
		noDHT bool
	}{
		{args: nil, want: dhtdisc.DefaultBootstrap},
		{args: []string{"--dht-bootstrap", "198.18.0.10:6881", "--dht-bootstrap", "198.18.0.11:6881"},
			want: []string{"198.18.0.10:6881", "198.18.0.11:6881"}},
		{args: []string{"--no-dht"}, want: nil, noDHT: true},
		{args: []string{"--no-dht", "--dht-bootstrap", "198.18.0.10:6881"}, want: nil, noDHT: true},
	} {
		f, err := parseDaemonFlags(append([]string{"--state-dir", "/tmp/x"}, tc.args...), "/tmp/s.sock")
		if err != nil {
			t.Fatal(err)
		}
		if got := f.dhtBootstrap(); !slices.Equal(got, tc.want) || f.noDHT != tc.noDHT {
			t.Errorf("%v: bootstrap %v, no-dht %v; want %v, %v", tc.args, got, f.noDHT, tc.want, tc.noDHT)
		}
		public := slices.ContainsFunc(f.dhtBootstrap(), func(s string) bool { return slices.Contains(dhtdisc.DefaultBootstrap, s) })
		if public != (len(tc.args) == 0) {
			t.Errorf("%v: public bootstrap nodes used: %v", tc.args, public)
		}
	}
	if _, err := parseDaemonFlags([]string{"--dht-bootstrap", "nohost"}, "/tmp/s.sock"); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Errorf("bad --dht-bootstrap: %v", err)
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1": true,
		"192.168.1.2": false, "10.0.0.1": false, "100.64.1.1": false, "198.18.0.1": false,
		"127.0.0.1": false, "fd00::1": false, "fe80::1": false, "2001:db8::1": false,
	} {
		if got := publicAddr(netipMust(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
