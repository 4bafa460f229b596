package enginetest

import (
	"runtime"
	"testing"
	"time"
)

// CheckLeaks fails the test if, once its cleanups have run, more
// goroutines are left than when it started. Call it first in a test, so
// that its cleanup runs last. Tests using it must not be parallel.
// Inside a testing/synctest bubble, do not call it: its wait would pass
// on virtual time while goroutines outside the bubble end on real time,
// and synctest.Test itself fails when a goroutine of the bubble is left.
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
