package enginetest

import (
	"testing"
	"time"
)

// pollEvery is how often WaitFor checks its condition.
const pollEvery = 10 * time.Millisecond

// WaitFor checks cond every 10 ms until it holds, and fails t with what
// it waited for if d passes first. It is the one polling helper of the
// engine's tests: inside a testing/synctest bubble its sleeps are on
// virtual time, so d can be generous without slowing a passing test, and
// a failing one fails at once instead of after d of wall time.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(pollEvery)
	}
}
