package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneGC: the daemon collects at daemonGCPercent, unless GOGC names
// another target (the runtime read it at start; tuneGC leaves it).
func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	for _, tc := range []struct {
		name string
		gogc string // "" for unset
		want int
	}{
		{"unset", "", daemonGCPercent},
		{"GOGC=80", "80", 100},
		{"GOGC=off", "off", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			t.Setenv("GOGC", tc.gogc) // restored after the test
			if tc.gogc == "" {
				os.Unsetenv("GOGC")
			}
			tuneGC()
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent %d, want %d", got, tc.want)
			}
		})
	}
}
