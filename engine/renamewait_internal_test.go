package engine

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAwaitHostnameTimesOut: on virtual time, a rename no admin signs
// fails after exactly renameWait with an error naming the wait; one the
// roster already carries returns at once.
func TestAwaitHostnameTimesOut(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		e := startTestEngine(t, "alpha")
		if _, err := e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		n, _ := home(e)
		start := time.Now()
		if err := e.awaitHostname(context.Background(), n.ID, "home", "alpha"); err != nil {
			t.Fatalf("awaiting the name the roster has: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("awaiting the name the roster has took %v", d)
		}
		err := e.awaitHostname(context.Background(), n.ID, "home", "omega")
		if err == nil || !strings.Contains(err.Error(), "within "+renameWait.String()) {
			t.Fatalf("unsigned rename: %v", err)
		}
		if d := time.Since(start); d != renameWait {
			t.Errorf("unsigned rename failed after %v, want %v", d, renameWait)
		}
	})
}
