package main

import (
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestPrintStatusTUNError: `ray status` says why there is no tunnel device,
// and says nothing about it once there is one.
func TestPrintStatusTUNError(t *testing.T) {
	st := &apitype.Status{State: apitype.StateUp, TUNError: `create TUN "rayfish": wintun.dll could not be loaded`}
	var b strings.Builder
	printStatus(&b, st)
	if want := "no tunnel device (retrying): create TUN \"rayfish\": wintun.dll could not be loaded\n"; !strings.Contains(b.String(), want) {
		t.Errorf("status output lacks %q:\n%s", want, b.String())
	}
	st.TUNError = ""
	b.Reset()
	printStatus(&b, st)
	if strings.Contains(b.String(), "tunnel device") {
		t.Errorf("status mentions the tunnel device without an error:\n%s", b.String())
	}
}
