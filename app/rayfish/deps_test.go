//go:build gui

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the tray app a pure client: of the engine it may import
// only the local API's wire types and client (and no platform code).
func TestDeps(t *testing.T) {
	// go test puts the go command that runs it first in PATH.
	out, err := exec.Command("go", "list", "-deps", "-tags", "gui", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/rayfish/rayfish/engine/localapi/apitype": true,
		"github.com/rayfish/rayfish/engine/localapi/client":  true,
	}
	var sawClient bool
	for _, pkg := range strings.Fields(string(out)) {
		if allowed[pkg] {
			sawClient = true
			continue
		}
		if strings.HasPrefix(pkg, "github.com/rayfish/rayfish/engine/") || strings.HasPrefix(pkg, "github.com/rayfish/rayfish/platform/") {
			t.Errorf("rayfish imports %s", pkg)
		}
	}
	if !sawClient {
		t.Error("go list output lacks the local API client; is the check still looking at the right package?")
	}
}
