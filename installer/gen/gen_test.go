package main

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const fyneApp = `Website = "https://github.com/rayfish/rayfish"

[Details]
  Icon = "assets/icon.png"
  Name = "rayfish"
  ID = "dev.rayfish.app"
  Version = "0.1.0"
  Build = 3

[LinuxAndBSD]
  GenericName = "Mesh VPN"
  Categories = ["Network"]
  Comment = "Peer-to-peer mesh VPN; tray app"
  Keywords = ["vpn", "mesh;net"]
`

func TestParseAppMeta(t *testing.T) {
	m, err := parseAppMeta(fyneApp)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "0.1.0" || m.Details.ID != "dev.rayfish.app" || m.Details.Build != 3 {
		t.Errorf("meta = %+v", m)
	}
	bad := []struct{ name, from, to string }{
		{"version", `Version = "0.1.0"`, `Version = "0.1"`},
		{"version text", `Version = "0.1.0"`, `Version = "1.0.0-beta"`},
		{"id", `ID = "dev.rayfish.app"`, `ID = "rayfish"`},
		{"name", `Name = "rayfish"`, `Name = "ray/fish"`},
		{"toml", `[Details]`, `[Details`},
	}
	for _, b := range bad {
		if _, err := parseAppMeta(strings.Replace(fyneApp, b.from, b.to, 1)); err == nil {
			t.Errorf("%s: bad FyneApp.toml accepted", b.name)
		}
	}
}

func TestRepoFyneApp(t *testing.T) {
	m, err := loadAppMeta("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Details.ID != "dev.rayfish.app" || m.Details.Name != "rayfish" {
		t.Errorf("FyneApp.toml: %+v", m.Details)
	}
}

func TestInfoPlist(t *testing.T) {
	m, err := parseAppMeta(strings.Replace(fyneApp, `Name = "rayfish"`, `Name = "R&D <fish>"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	text := m.InfoPlist()
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	vals := map[string]string{}
	var key, elem string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Info.plist is not well-formed: %v\n%s", err, text)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			elem = tk.Name.Local
			if elem == "true" {
				vals[key] = "true"
			}
		case xml.CharData:
			if elem == "key" {
				key = string(tk)
			} else if elem == "string" && vals[key] == "" {
				vals[key] = string(tk)
			}
		case xml.EndElement:
			elem = ""
		}
	}
	want := map[string]string{
		"CFBundleIdentifier":         "dev.rayfish.app",
		"CFBundleExecutable":         "R&D <fish>",
		"CFBundleIconFile":           "R&D <fish>.icns",
		"CFBundleShortVersionString": "0.1.0",
		"CFBundleVersion":            "3",
		"CFBundlePackageType":        "APPL",
		"LSUIElement":                "true",
		"CFBundleSupportedPlatforms": "MacOSX",
	}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("%s = %q, want %q", k, vals[k], v)
		}
	}
}

func TestDesktopEntry(t *testing.T) {
	m, err := parseAppMeta(fyneApp)
	if err != nil {
		t.Fatal(err)
	}
	got := m.DesktopEntry()
	want := `[Desktop Entry]
Type=Application
Name=rayfish
GenericName=Mesh VPN
Comment=Peer-to-peer mesh VPN; tray app
Exec=rayfish
Icon=rayfish
Terminal=false
Categories=Network;
Keywords=vpn;mesh\;net;
StartupWMClass=rayfish
`
	if got != want {
		t.Errorf("desktop entry:\n%s\nwant:\n%s", got, want)
	}
	if e := desktopEscape("a\\b\nc"); e != `a\\b\nc` {
		t.Errorf("desktopEscape = %q", e)
	}
}

func testImage(size int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	return img
}

func TestICO(t *testing.T) {
	b, err := ICO(testImage(256))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint16(b[0:]) != 0 || le.Uint16(b[2:]) != 1 || int(le.Uint16(b[4:])) != len(icoSizes) {
		t.Fatalf("bad ICONDIR % x", b[:6])
	}
	end := 6 + 16*len(icoSizes)
	for i, s := range icoSizes {
		e := b[6+16*i:]
		w := int(e[0])
		if w == 0 {
			w = 256
		}
		size, off := int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
		if off != end || off+size > len(b) {
			t.Fatalf("entry %d: offset %d size %d, file %d", i, off, size, len(b))
		}
		end = off + size
		cfg, err := png.DecodeConfig(bytes.NewReader(b[off : off+size]))
		if err != nil || cfg.Width != s || cfg.Height != s || w != s {
			t.Errorf("entry %d: header %d, png %dx%d %v, want %d", i, w, cfg.Width, cfg.Height, err, s)
		}
	}
	if end != len(b) {
		t.Errorf("%d trailing bytes", len(b)-end)
	}
	if _, err := ICO(testImage(64)); err == nil {
		t.Error("ICO of a 64x64 image succeeded")
	}
}

func TestICNS(t *testing.T) {
	b, err := ICNS(testImage(256))
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	if string(b[:4]) != "icns" || int(be.Uint32(b[4:])) != len(b) {
		t.Fatalf("bad header % x (len %d)", b[:8], len(b))
	}
	rest := b[8:]
	for _, want := range icnsTypes {
		typ, n := string(rest[:4]), int(be.Uint32(rest[4:]))
		if typ != want.typ {
			t.Fatalf("element %q, want %q", typ, want.typ)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(rest[8:n]))
		if err != nil || cfg.Width != want.size {
			t.Errorf("%s: %dx%d %v, want %d", typ, cfg.Width, cfg.Height, err, want.size)
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		t.Errorf("%d trailing bytes", len(rest))
	}
	if _, err := ICNS(image.NewNRGBA(image.Rect(0, 0, 256, 128))); err == nil {
		t.Error("ICNS of a non-square image succeeded")
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "FyneApp.toml")
	os.WriteFile(app, []byte(fyneApp), 0o644)
	icon := filepath.Join(dir, "icon.png")
	var pb bytes.Buffer
	png.Encode(&pb, testImage(256))
	os.WriteFile(icon, pb.Bytes(), 0o644)

	tests := []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"systemd-unit", "-exe", "/usr/bin/ray"}, "ExecStart=/usr/bin/ray service-run --state-dir /var/lib/rayfish --socket /run/rayfish/rayfish.sock\n"},
		{[]string{"launchd-plist", "-exe", "/usr/local/bin/ray"}, "<string>/Library/Application Support/rayfish</string>"},
		{[]string{"info-plist", "-app", app}, "<string>dev.rayfish.app</string>"},
		{[]string{"desktop", "-app", app}, "Exec=rayfish\n"},
		{[]string{"version", "-app", app}, "0.1.0\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := run(tt.args, &out); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("%v: output lacks %q:\n%s", tt.args, tt.want, out.String())
		}
	}
	for _, kind := range []string{"ico", "icns"} {
		out := filepath.Join(dir, "x."+kind)
		if err := run([]string{kind, "-in", icon, "-out", out}, io.Discard); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v %v", kind, fi, err)
		}
	}
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"systemd-unit"},                         // no -exe
		{"systemd-unit", "-exe", "relative/ray"}, // not absolute
		{"ico", "-in", icon},                     // no -out
		{"icns", "-in", app, "-out", filepath.Join(dir, "y")}, // not a PNG
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("gen %v succeeded", args)
		}
	}
}

// parseAppMeta is loadAppMeta for FyneApp.toml text.
func parseAppMeta(text string) (*appMeta, error) {
	var m appMeta
	if _, err := toml.Decode(text, &m); err != nil {
		return nil, err
	}
	return &m, m.check("FyneApp.toml")
}
