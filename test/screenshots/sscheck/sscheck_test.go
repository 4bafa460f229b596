package main

import (
	"image"
	"image/color"
	"image/draw"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/rayfish/rayfish/assets"
)

// window draws a 600×500 white "window" with some grey antialiased-like
// text pixels, and a QR code at (300,100) cut to maxY when maxY > 0.
func window(t *testing.T, withQR bool, maxY int) image.Image {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 600, 500))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	// "Text": dark grey, never pure black.
	draw.Draw(img, image.Rect(20, 20, 200, 30), image.NewUniform(color.NRGBA{0x1f, 0x1f, 0x1f, 0xff}), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(20, 40, 30, 50), image.NewUniform(onlineGreen), image.Point{}, draw.Src)
	if withQR {
		q, err := qrcode.New("rayfish1-"+strings.Repeat("abcdefgh", 16), qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		q.DisableBorder = true
		code := q.Image(200)
		r := image.Rect(300, 100, 300+code.Bounds().Dx(), 100+code.Bounds().Dy())
		if maxY > 0 {
			r.Max.Y = maxY
		}
		draw.Draw(img, r, code, code.Bounds().Min, draw.Src)
	}
	return img
}

func TestQRBox(t *testing.T) {
	tests := []struct {
		name    string
		img     image.Image
		wantErr string
	}{
		{"whole", window(t, true, 0), ""},
		{"cut off", window(t, true, 200), "not square"},
		{"none", window(t, false, 0), "no pure black"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			box, err := qrBox(tt.img, 100)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("qrBox: %v", err)
			case tt.wantErr == "" && (box.Min != image.Pt(300, 100) || box.Dx() < 190):
				t.Fatalf("qrBox = %v, want a ~200 px square at 300,100", box)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("qrBox error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestQRBoxRejectsGreyInside(t *testing.T) {
	img := window(t, true, 0).(*image.NRGBA)
	img.Set(350, 150, color.NRGBA{0x80, 0x80, 0x80, 0xff})
	if _, err := qrBox(img, 100); err == nil || !strings.Contains(err.Error(), "neither black nor white") {
		t.Fatalf("qrBox error = %v, want the grey pixel reported", err)
	}
}

func TestCountColor(t *testing.T) {
	if n := countColor(window(t, false, 0), onlineGreen); n != 100 {
		t.Fatalf("countColor = %d, want 100", n)
	}
}

func TestItemKey(t *testing.T) {
	tests := []struct {
		sender, service, want string
	}{
		{":1.5", "/StatusNotifierItem", ":1.5/StatusNotifierItem"},
		{":1.5", "", ":1.5/StatusNotifierItem"},
		{":1.5", "org.kde.StatusNotifierItem-42-1", "org.kde.StatusNotifierItem-42-1/StatusNotifierItem"},
	}
	for _, tt := range tests {
		got := itemKey(tt.sender, tt.service)
		if got != tt.want {
			t.Errorf("itemKey(%q, %q) = %q, want %q", tt.sender, tt.service, got, tt.want)
		}
		bus, path, err := splitItem(got)
		if err != nil || bus+string(path) != got {
			t.Errorf("splitItem(%q) = %q, %q, %v", got, bus, path, err)
		}
	}
	for _, bad := range []string{"", "/x", ":1.5", ":1.5/a//b"} {
		if _, _, err := splitItem(bad); err == nil {
			t.Errorf("splitItem(%q) succeeded", bad)
		}
	}
}

func TestMatchStar(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"[Connect]", "[Connect]", true},
		{"Connect", "[Connect]", false},
		{"Connect", "Connected", false},
		{"● nas (100.*) — direct", "● nas (100.1.2.3) — direct", true},
		{"● nas (100.*) — direct", "● nas (100.1.2.3) — relay", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "ac", false},
		{"ab*ba", "aba", false},
		{"*", "", true},
	}
	for _, tt := range tests {
		if got := matchStar(tt.pattern, tt.s); got != tt.want {
			t.Errorf("matchStar(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// menuNode builds a dbusmenu layout node as godbus decodes it.
func menuNode(id int32, props map[string]any, children ...any) []any {
	p := map[string]dbus.Variant{}
	for k, v := range props {
		p[k] = dbus.MakeVariant(v)
	}
	var cs []dbus.Variant
	for _, c := range children {
		cs = append(cs, dbus.MakeVariant(c))
	}
	return []any{id, p, cs}
}

func TestDumpMenu(t *testing.T) {
	root := menuNode(0, nil,
		menuNode(1, map[string]any{"label": "Connected", "enabled": false}),
		menuNode(2, map[string]any{"label": "Disconnect", "enabled": true}),
		menuNode(3, map[string]any{"type": "separator"}),
		menuNode(4, map[string]any{"label": "Peers (1 of 1 online)"},
			menuNode(5, map[string]any{"label": "● nas (100.64.0.2) — direct"})),
		menuNode(6, map[string]any{"label": "Hidden", "visible": false}),
	)
	var b strings.Builder
	dumpMenu(&b, root, -1)
	want := "[Connected]\nDisconnect\n---\nPeers (1 of 1 online)\n  ● nas (100.64.0.2) — direct\n"
	if b.String() != want {
		t.Fatalf("dumpMenu =\n%s\nwant\n%s", b.String(), want)
	}
	if !menuHasLine(b.String(), "● nas (100.*) — direct") || menuHasLine(b.String(), "Hidden") {
		t.Fatal("menuHasLine disagrees with the dump")
	}
}

func TestIdentifyIcon(t *testing.T) {
	w, h, argb, err := argbPixels(assets.TrayIcon(assets.Disconnected, assets.Black))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pix  []pixmap
		want string
	}{
		{"asset", []pixmap{{int32(w), int32(h), argb}}, "disconnected/black"},
		{"none", nil, "none"},
		{"other", []pixmap{{1, 1, []byte{0xff, 1, 2, 3}}}, "unknown 1x1 pixmap"},
	}
	for _, tt := range tests {
		if got := identifyIcon(tt.pix); got != tt.want {
			t.Errorf("%s: identifyIcon = %q, want %q", tt.name, got, tt.want)
		}
	}
}
