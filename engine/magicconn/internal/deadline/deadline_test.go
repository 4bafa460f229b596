package deadline

import (
	"testing"
	"time"
)

func expired(d *Deadline) bool {
	select {
	case <-d.Wait():
		return true
	default:
		return false
	}
}

func TestDeadline(t *testing.T) {
	d := New()
	if expired(d) {
		t.Fatal("new deadline expired")
	}
	d.Set(time.Now().Add(-time.Second))
	if !expired(d) {
		t.Fatal("past deadline not expired")
	}
	d.Set(time.Time{})
	if expired(d) {
		t.Fatal("cleared deadline still expired")
	}
	d.Set(time.Now().Add(20 * time.Millisecond))
	if expired(d) {
		t.Fatal("future deadline expired early")
	}
	select {
	case <-d.Wait():
	case <-time.After(5 * time.Second):
		t.Fatal("future deadline never expired")
	}
	d.Set(time.Now().Add(time.Hour))
	if expired(d) {
		t.Fatal("deadline moved to the future is still expired")
	}
	d.Set(time.Time{})
}
