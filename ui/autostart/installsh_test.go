package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMacInstallScriptLoginItem checks that the login item
// installer/macos/install.sh writes for the console user is the plist
// LaunchAgent writes, so the app's "Start at login" setting shows it on and
// can turn it off.
func TestMacInstallScriptLoginItem(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "installer", "macos", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	const open = `tee "$agent" >/dev/null <<EOF` + "\n"
	i := strings.Index(script, open)
	if i < 0 {
		t.Fatalf("install.sh does not write the login item with %q", open)
	}
	body, _, ok := strings.Cut(script[i+len(open):], "\nEOF\n")
	if !ok {
		t.Fatal("install.sh: login item here-document not terminated")
	}
	if !strings.Contains(script, `agent="$home/Library/LaunchAgents/`+AppID+`.plist"`) {
		t.Errorf("install.sh writes the login item somewhere other than ~/Library/LaunchAgents/%s.plist", AppID)
	}

	la := LaunchAgent{Home: t.TempDir(), Exec: "/Applications/Rayfish.app/Contents/MacOS/rayfish", Args: []string{"--hidden"}}
	if err := la.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(la.Path())
	if err != nil {
		t.Fatal(err)
	}
	if body+"\n" != string(want) {
		t.Errorf("install.sh's login item:\n%s\nLaunchAgent writes:\n%s", body, want)
	}
}
