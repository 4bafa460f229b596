// Command gen draws rayfish's icons into the assets directory:
// tray/<state>_<variant>.png and icon.png. Run it from the repository root
// with `go run ./assets/gen` (or `go generate ./assets`) after changing
// assets/internal/glyph; assets' tests fail while the files are stale.
package main

import (
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"

	"github.com/rayfish/rayfish/assets/internal/glyph"
)

func main() {
	out := flag.String("out", "assets", "assets directory to write into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "tray"), 0o755); err != nil {
		return fmt.Errorf("create tray dir: %w", err)
	}
	for _, st := range glyph.States {
		for _, v := range glyph.Variants {
			name := filepath.Join(dir, "tray", string(st)+"_"+string(v)+".png")
			if err := write(name, glyph.Tray(st, v, glyph.TraySize)); err != nil {
				return err
			}
		}
	}
	return write(filepath.Join(dir, "icon.png"), glyph.App(glyph.AppSize))
}

func write(name string, img image.Image) error {
	b, err := glyph.EncodePNG(img)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return fmt.Errorf("write icon: %w", err)
	}
	return nil
}
