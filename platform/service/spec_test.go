package service

import (
	"encoding/xml"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/platform/paths"
)

func noEnv(string) string  { return "" }
func hasRun(p string) bool { return p == "/run" }

func specFor(goos, exe string) Spec {
	return SpecFor(goos, exe, paths.For(goos, noEnv, hasRun))
}

func TestConfigPerOS(t *testing.T) {
	tests := []struct {
		goos     string
		exe      string
		wantName string
		wantArgs []string
		check    func(t *testing.T, opt map[string]any)
	}{
		{
			goos: "linux", exe: "/usr/bin/ray", wantName: "rayfish",
			wantArgs: []string{"service-run", "--state-dir", "/var/lib/rayfish", "--socket", "/run/rayfish/rayfish.sock"},
			check: func(t *testing.T, opt map[string]any) {
				unit, _ := opt["SystemdScript"].(string)
				for _, line := range []string{
					"ExecStart=/usr/bin/ray service-run --state-dir /var/lib/rayfish --socket /run/rayfish/rayfish.sock",
					"Restart=always",
					"RestartSec=2",
					"StartLimitIntervalSec=0",
					"WantedBy=multi-user.target",
				} {
					if !hasLine(unit, line) {
						t.Errorf("SystemdScript lacks line %q:\n%s", line, unit)
					}
				}
				if opt["Restart"] != "always" {
					t.Errorf("Restart option = %v", opt["Restart"])
				}
			},
		},
		{
			goos: "darwin", exe: "/usr/local/bin/ray", wantName: "dev.rayfish.daemon",
			wantArgs: []string{"service-run", "--state-dir", "/Library/Application Support/rayfish", "--socket", "/var/run/rayfish.sock"},
			check: func(t *testing.T, opt map[string]any) {
				if opt["KeepAlive"] != true || opt["RunAtLoad"] != true {
					t.Errorf("KeepAlive/RunAtLoad = %v/%v, want true/true", opt["KeepAlive"], opt["RunAtLoad"])
				}
				if opt["LogDirectory"] != "/Library/Logs/rayfish" {
					t.Errorf("LogDirectory = %v", opt["LogDirectory"])
				}
				p := parsePlist(t, opt["LaunchdConfig"].(string))
				if p.Label != "dev.rayfish.daemon" {
					t.Errorf("plist Label = %q", p.Label)
				}
			},
		},
		{
			goos: "windows", exe: `C:\Program Files\rayfish\ray.exe`, wantName: "rayfish",
			wantArgs: []string{"service-run", "--state-dir", `C:\ProgramData\rayfish`, "--socket", `\\.\pipe\rayfish`},
			check: func(t *testing.T, opt map[string]any) {
				want := map[string]any{
					"StartType":              "automatic",
					"OnFailure":              "restart",
					"OnFailureDelayDuration": "2s",
					"OnFailureResetPeriod":   86400,
				}
				if !reflect.DeepEqual(opt, want) {
					t.Errorf("options = %#v, want %#v", opt, want)
				}
				if d, err := time.ParseDuration(opt["OnFailureDelayDuration"].(string)); err != nil || d != 2*time.Second {
					t.Errorf("OnFailureDelayDuration does not parse to 2s: %v %v", d, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			c, err := specFor(tt.goos, tt.exe).Config()
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tt.wantName || c.DisplayName != "rayfish mesh VPN" || c.Executable != tt.exe {
				t.Errorf("Name/DisplayName/Executable = %q/%q/%q", c.Name, c.DisplayName, c.Executable)
			}
			if c.Description == "" {
				t.Error("empty Description")
			}
			if !reflect.DeepEqual(c.Arguments, tt.wantArgs) {
				t.Errorf("Arguments = %q, want %q", c.Arguments, tt.wantArgs)
			}
			if c.UserName != "" {
				t.Errorf("UserName = %q, want the system account", c.UserName)
			}
			tt.check(t, c.Option)
		})
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

type plist struct {
	Label string
	Args  []string
	Bools map[string]bool
	Strs  map[string]string
	Ints  map[string]string
}

// parsePlist decodes the flat launchd dict that LaunchdPlist writes.
func parsePlist(t *testing.T, text string) plist {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(text))
	p := plist{Bools: map[string]bool{}, Strs: map[string]string{}, Ints: map[string]string{}}
	var key, elem string
	inArray := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, text)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			elem = tk.Name.Local
			switch elem {
			case "array":
				inArray = true
			case "true", "false":
				p.Bools[key] = elem == "true"
			}
		case xml.EndElement:
			if tk.Name.Local == "array" {
				inArray = false
			}
			elem = ""
		case xml.CharData:
			s := string(tk)
			switch {
			case elem == "key":
				key = s
			case elem == "string" && inArray:
				p.Args = append(p.Args, s)
			case elem == "string" && key == "Label":
				p.Label = s
			case elem == "string":
				p.Strs[key] = s
			case elem == "integer":
				p.Ints[key] = s
			}
		}
	}
	return p
}

func TestLaunchdPlist(t *testing.T) {
	s := specFor("darwin", "/Applications/R&D <tools>/ray")
	text, err := LaunchdPlist(s)
	if err != nil {
		t.Fatal(err)
	}
	p := parsePlist(t, text)
	wantArgs := []string{"/Applications/R&D <tools>/ray", "service-run",
		"--state-dir", "/Library/Application Support/rayfish", "--socket", "/var/run/rayfish.sock"}
	if !reflect.DeepEqual(p.Args, wantArgs) {
		t.Errorf("ProgramArguments = %q, want %q", p.Args, wantArgs)
	}
	if p.Label != LaunchdLabel {
		t.Errorf("Label = %q", p.Label)
	}
	if !p.Bools["RunAtLoad"] || !p.Bools["KeepAlive"] {
		t.Errorf("RunAtLoad/KeepAlive = %v", p.Bools)
	}
	if p.Ints["ThrottleInterval"] != "2" {
		t.Errorf("ThrottleInterval = %q", p.Ints["ThrottleInterval"])
	}
	for _, k := range []string{"StandardOutPath", "StandardErrorPath"} {
		if p.Strs[k] != "/Library/Logs/rayfish/rayfish.log" {
			t.Errorf("%s = %q", k, p.Strs[k])
		}
	}
	if strings.Contains(text, "{{") {
		t.Error("plist contains template actions")
	}
	if _, err := LaunchdPlist(specFor("linux", "/usr/bin/ray")); err == nil {
		t.Error("LaunchdPlist for linux succeeded")
	}
}

func TestSystemdUnitQuoting(t *testing.T) {
	s := specFor("linux", "/opt/my ray/ray%1")
	s.StateDir = "/var/lib/ray$fish"
	unit, err := SystemdUnit(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `ExecStart="/opt/my ray/ray%%1" service-run --state-dir /var/lib/ray$$fish --socket /run/rayfish/rayfish.sock`
	if !hasLine(unit, want) {
		t.Errorf("unit lacks %q:\n%s", want, unit)
	}
	if _, err := SystemdUnit(specFor("windows", `C:\ray.exe`)); err == nil {
		t.Error("SystemdUnit for windows succeeded")
	}
}

func TestSystemdQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/bin/ray", "/usr/bin/ray"},
		{"", `""`},
		{"a b", `"a b"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"100%", "100%%"},
		{"$HOME", "$$HOME"},
		{"a;b", `"a;b"`},
		{"tab\there", `"tab\there"`},
	}
	for _, tt := range tests {
		if got := systemdQuote(tt.in); got != tt.want {
			t.Errorf("systemdQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := specFor("linux", "/usr/bin/ray")
	tests := []struct {
		name   string
		mutate func(*Spec)
		ok     bool
	}{
		{"default linux", func(*Spec) {}, true},
		{"default windows", func(s *Spec) { *s = specFor("windows", `C:\Program Files\rayfish\ray.exe`) }, true},
		{"default darwin", func(s *Spec) { *s = specFor("darwin", "/usr/local/bin/ray") }, true},
		{"unsupported OS", func(s *Spec) { s.GOOS = "plan9" }, false},
		{"relative executable", func(s *Spec) { s.Executable = "ray" }, false},
		{"empty state dir", func(s *Spec) { s.StateDir = "" }, false},
		{"template braces", func(s *Spec) { s.StateDir = "/var/{{Name}}" }, false},
		{"newline", func(s *Spec) { s.Socket = "/run/x\nExecStartPre=/bin/sh" }, false},
		{"windows relative", func(s *Spec) { *s = specFor("windows", `ray.exe`) }, false},
		{"windows forward slash drive", func(s *Spec) { *s = specFor("windows", `D:/bin/ray.exe`) }, true},
		{"windows posix path", func(s *Spec) { *s = specFor("windows", `/usr/bin/ray`) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.mutate(&s)
			err := s.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if _, cerr := s.Config(); (cerr == nil) != tt.ok {
				t.Fatalf("Config() error = %v, want ok=%v", cerr, tt.ok)
			}
		})
	}
}

func TestLogFile(t *testing.T) {
	tests := []struct{ goos, want string }{
		{"linux", ""},
		{"darwin", "/Library/Logs/rayfish/rayfish.log"},
		{"windows", `C:\ProgramData\rayfish\logs\rayfish.log`},
	}
	for _, tt := range tests {
		if got := specFor(tt.goos, "/x").LogFile(); got != tt.want {
			t.Errorf("LogFile(%s) = %q, want %q", tt.goos, got, tt.want)
		}
	}
}

func TestWindowsRecovery(t *testing.T) {
	actions, reset := WindowsRecovery()
	if len(actions) != 3 {
		t.Fatalf("%d actions, want 3 (Windows keeps repeating the last)", len(actions))
	}
	for i, a := range actions {
		if a.Delay != 2*time.Second {
			t.Errorf("action %d delay = %v", i, a.Delay)
		}
	}
	if reset != 24*time.Hour {
		t.Errorf("reset period = %v", reset)
	}
}

func TestIsNotInstalled(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ErrNotInstalled, true},
		{io.EOF, false},
		{errString("service rayfish is not installed"), true},
		{errString("The specified service does not exist as an installed service."), true},
	}
	for _, tt := range tests {
		if got := IsNotInstalled(tt.err); got != tt.want {
			t.Errorf("IsNotInstalled(%v) = %v", tt.err, got)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
