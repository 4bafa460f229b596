package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestXDG(t *testing.T) {
	x := XDG{ConfigHome: t.TempDir(), Exec: "/opt/ray fish/rayfish", Args: []string{"--hidden"}}
	steps := []struct {
		name    string
		do      func() error
		enabled bool
	}{
		{"initially off", nil, false},
		{"enable", func() error { return x.SetEnabled(true) }, true},
		{"enable twice", func() error { return x.SetEnabled(true) }, true},
		{"disable", func() error { return x.SetEnabled(false) }, false},
		{"disable twice", func() error { return x.SetEnabled(false) }, false},
		{"disabled by the desktop", func() error {
			if err := x.SetEnabled(true); err != nil {
				return err
			}
			b, _ := os.ReadFile(x.Path())
			return os.WriteFile(x.Path(), []byte(strings.Replace(string(b), "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1)), 0o644)
		}, false},
		{"hidden", func() error {
			return os.WriteFile(x.Path(), []byte("[Desktop Entry]\nHidden=true\n"), 0o644)
		}, false},
		{"re-enable rewrites", func() error { return x.SetEnabled(true) }, true},
	}
	for _, s := range steps {
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		got, err := x.Enabled()
		if err != nil || got != s.enabled {
			t.Fatalf("%s: Enabled = %v, %v; want %v", s.name, got, err, s.enabled)
		}
	}
	b, err := os.ReadFile(filepath.Join(x.ConfigHome, "autostart", "dev.rayfish.app.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n", `Exec="/opt/ray fish/rayfish" --hidden` + "\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("entry lacks %q:\n%s", want, b)
		}
	}
}

func TestQuoteExec(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/bin/rayfish", "/usr/bin/rayfish"},
		{"/opt/my apps/rayfish", `"/opt/my apps/rayfish"`},
		{`/opt/a"b/rayfish`, `"/opt/a\\"b/rayfish"`},
		{`/opt/$x/rayfish`, `"/opt/\\$x/rayfish"`},
	}
	for _, tt := range tests {
		if got := quoteExec(tt.in); got != tt.want {
			t.Errorf("quoteExec(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestXDGNoExec(t *testing.T) {
	x := XDG{ConfigHome: t.TempDir()}
	if err := x.SetEnabled(true); err == nil {
		t.Error("enabled without a command")
	}
}

func TestLaunchAgent(t *testing.T) {
	l := LaunchAgent{Home: t.TempDir(), Exec: "/Applications/rayfish.app/Contents/MacOS/rayfish & co", Args: []string{"--hidden"}}
	if on, err := l.Enabled(); on || err != nil {
		t.Fatalf("initially %v, %v", on, err)
	}
	if err := l.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	if on, err := l.Enabled(); !on || err != nil {
		t.Fatalf("after enable %v, %v", on, err)
	}
	b, _ := os.ReadFile(l.Path())
	if !strings.Contains(string(b), "\t\t<string>/Applications/rayfish.app/Contents/MacOS/rayfish &amp; co</string>\n\t\t<string>--hidden</string>\n\t</array>") {
		t.Errorf("plist:\n%s", b)
	}
	if err := l.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := l.Enabled(); on {
		t.Error("still enabled")
	}
}

func TestUnsupported(t *testing.T) {
	var m Manager = unsupported{}
	if err := m.SetEnabled(true); err != ErrUnsupported {
		t.Errorf("err = %v", err)
	}
}

// TestOptOut: on by default, off writes the marker, on removes it; an app
// started at login exits only when the user turned it off.
func TestOptOut(t *testing.T) {
	o := OptOut{Marker: filepath.Join(t.TempDir(), "rayfish", "no-autostart")}
	steps := []struct {
		name                      string
		set                       *bool
		enabled, suppressed, file bool
	}{
		{"default on", nil, true, false, false},
		{"off", ptr(false), false, true, true},
		{"off twice", ptr(false), false, true, true},
		{"on", ptr(true), true, false, false},
		{"on twice", ptr(true), true, false, false},
	}
	for _, s := range steps {
		if s.set != nil {
			if err := o.SetEnabled(*s.set); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		on, err := o.Enabled()
		if err != nil || on != s.enabled {
			t.Errorf("%s: Enabled = %v, %v; want %v", s.name, on, err, s.enabled)
		}
		if got := Suppressed(o, true); got != s.suppressed {
			t.Errorf("%s: Suppressed(at login) = %v, want %v", s.name, got, s.suppressed)
		}
		if Suppressed(o, false) {
			t.Errorf("%s: a launch by hand was suppressed", s.name)
		}
		if _, err := os.Stat(o.Marker); (err == nil) != s.file {
			t.Errorf("%s: marker exists = %v, want %v", s.name, err == nil, s.file)
		}
	}
}

func ptr[T any](v T) *T { return &v }
