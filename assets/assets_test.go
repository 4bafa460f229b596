package assets

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/rayfish/rayfish/assets/internal/glyph"
)

// TestGenerated checks that the committed PNGs are what the generator
// draws now: run `go generate ./assets` after changing the glyphs.
func TestGenerated(t *testing.T) {
	for _, st := range glyph.States {
		for _, v := range glyph.Variants {
			want, err := glyph.EncodePNG(glyph.Tray(st, v, glyph.TraySize))
			if err != nil {
				t.Fatal(err)
			}
			if got := TrayIcon(State(st), Variant(v)); !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run go generate ./assets", TrayName(State(st), Variant(v)))
			}
		}
	}
	want, err := glyph.EncodePNG(glyph.App(glyph.AppSize))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(AppIcon(), want) {
		t.Error("icon.png is stale: run go generate ./assets")
	}
}

func TestIcons(t *testing.T) {
	states := []State{Connected, Connecting, Disconnected, Error, Attention}
	variants := []Variant{Color, White, Black, Template}
	seen := make(map[string]string)
	for _, s := range states {
		for _, v := range variants {
			b := TrayIcon(s, v)
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", TrayName(s, v), err)
			}
			if sz := img.Bounds().Size(); sz.X != glyph.TraySize || sz.Y != glyph.TraySize {
				t.Errorf("%s: size %v", TrayName(s, v), sz)
			}
			if v == Template {
				continue // same pixels as Black by design
			}
			// Every state looks different within a variant.
			if other, dup := seen[string(b)]; dup {
				t.Errorf("%s looks the same as %s", TrayName(s, v), other)
			}
			seen[string(b)] = TrayName(s, v)
		}
	}
	if !bytes.Equal(TrayIcon("bogus", Color), TrayIcon(Disconnected, Color)) {
		t.Error("unknown state does not fall back to disconnected")
	}
	img, err := png.Decode(bytes.NewReader(AppIcon()))
	if err != nil || img.Bounds().Dx() != 256 {
		t.Errorf("app icon: %v %v", err, img.Bounds())
	}
}
