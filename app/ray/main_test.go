package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args      []string
		code      int
		out, errw string // substrings expected on stdout, stderr
		noOut     bool
	}{
		{args: []string{"--help"}, code: 0, out: "usage: ray"},
		{args: []string{"relay", "--help"}, code: 0, out: "usage: ray relay --listen ADDR"},
		{args: []string{"relay", "-h"}, code: 0, out: "-stun-port int"},
		{args: []string{"daemon", "--help"}, code: 0, out: "-state-dir string"},
		{args: []string{"status", "--help"}, code: 0, out: "usage: ray status [--json]"},
		{args: []string{"status", "--bogus"}, code: 2, errw: "flag provided but not defined: -bogus\nusage: ray status", noOut: true},
		{args: []string{"join"}, code: 2, errw: "usage: ray join", noOut: true},
		{args: []string{"frobnicate"}, code: 2, errw: `unknown command "frobnicate"`, noOut: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errw bytes.Buffer
			args := append([]string{"--socket", t.TempDir() + "/none.sock"}, tt.args...)
			code := run(args, &out, &errw)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errw.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.out)
			}
			if !strings.Contains(errw.String(), tt.errw) {
				t.Errorf("stderr %q lacks %q", errw.String(), tt.errw)
			}
			if tt.noOut && out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestParseDaemonFlags(t *testing.T) {
	f, err := parseDaemonFlags([]string{"--state-dir", "/tmp/x", "--no-bulk", "--no-dns", "--no-portmap", "--relay", "http://a:1", "--relay", "http://b:2"}, "/tmp/s.sock")
	if err != nil {
		t.Fatal(err)
	}
	if !f.noBulk || !f.noDNS || !f.noPortmap || f.stateDir != "/tmp/x" || f.socket != "/tmp/s.sock" || len(f.relays) != 2 {
		t.Errorf("parsed %+v", f)
	}
	if _, err := parseDaemonFlags([]string{"--listen-port", "70000"}, "/tmp/s.sock"); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("--listen-port 70000: %v, want out of range", err)
	}
}
