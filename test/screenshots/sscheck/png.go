package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	_ "image/png" // screenshots are PNGs
	"os"
)

// onlineGreen is the fill of the "connected" and "peer online" dots in the
// main window (ui/views).
var onlineGreen = color.NRGBA{0x2e, 0xa0, 0x43, 0xff}

// relayOrange is the map's relay box and relayed lines (ui/views).
var relayOrange = color.NRGBA{0xd2, 0x7a, 0x12, 0xff}

func runPNG(args []string) error {
	fs := flag.NewFlagSet("png", flag.ContinueOnError)
	file := fs.String("file", "", "PNG to check")
	qr := fs.Bool("qr", false, "require a whole QR code")
	green := fs.Int("green", 0, "require at least this many pixels of the online-dot green")
	maxGreen := fs.Int("max-green", -1, "require at most this many pixels of the online-dot green")
	orange := fs.Int("orange", 0, "require at least this many pixels of the map's relay orange")
	minW := fs.Int("min-width", 400, "require at least this width and height/2")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("decode %s: %w", *file, err)
	}
	failed := false
	check := func(ok bool, format string, a ...any) {
		verdict := "PASS"
		if !ok {
			verdict, failed = "FAIL", true
		}
		fmt.Printf("%s png %s: %s\n", verdict, *file, fmt.Sprintf(format, a...))
	}
	b := img.Bounds()
	check(b.Dx() >= *minW && b.Dy() >= *minW/2, "size %dx%d", b.Dx(), b.Dy())
	if *qr {
		box, err := qrBox(img, 100)
		if err != nil {
			check(false, "a whole QR code: %v", err)
		} else {
			check(true, "a whole QR code at %v", box)
		}
	}
	if *green > 0 {
		n := countColor(img, onlineGreen)
		check(n >= *green, "%d pixels of online green (want >= %d)", n, *green)
	}
	if *orange > 0 {
		n := countColor(img, relayOrange)
		check(n >= *orange, "%d pixels of relay orange (want >= %d)", n, *orange)
	}
	if *maxGreen >= 0 {
		n := countColor(img, onlineGreen)
		check(n <= *maxGreen, "%d pixels of online green (want <= %d)", n, *maxGreen)
	}
	if failed {
		return errors.New("screenshot check failed")
	}
	return nil
}

// countColor counts the pixels of exactly c.
func countColor(img image.Image, c color.NRGBA) int {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) == c {
				n++
			}
		}
	}
	return n
}

// qrBox finds the QR code: the bounding box of the pure black pixels
// (the QR image is drawn unsmoothed in pure black and white; antialiased
// text and icons are not pure black). It is a QR code when the box is a
// square of at least minSide pixels holding only pure black and white, 30
// to 70 % black, with black corners at the three finder patterns. A QR code
// cut off by the window edge is not square and fails.
func qrBox(img image.Image, minSide int) (image.Rectangle, error) {
	black := color.NRGBA{0, 0, 0, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	at := func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) }
	b := img.Bounds()
	box := image.Rectangle{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if at(x, y) == black {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	w, h := box.Dx(), box.Dy()
	switch {
	case box.Empty():
		return box, errors.New("no pure black pixels")
	case w < minSide || h < minSide:
		return box, fmt.Errorf("black area %v is smaller than %d px", box, minSide)
	case abs(w-h) > 2:
		return box, fmt.Errorf("black area %v is not square (cut off?)", box)
	}
	blacks := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			switch at(x, y) {
			case black:
				blacks++
			case white:
			default:
				return box, fmt.Errorf("black area %v has a pixel that is neither black nor white at %d,%d", box, x, y)
			}
		}
	}
	if f := float64(blacks) / float64(w*h); f < 0.3 || f > 0.7 {
		return box, fmt.Errorf("black area %v is %.0f %% black", box, 100*f)
	}
	for _, c := range []image.Point{
		{box.Min.X + 1, box.Min.Y + 1},
		{box.Max.X - 2, box.Min.Y + 1},
		{box.Min.X + 1, box.Max.Y - 2},
	} {
		if at(c.X, c.Y) != black {
			return box, fmt.Errorf("no finder pattern at %v", c)
		}
	}
	return box, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
