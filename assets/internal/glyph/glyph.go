// Package glyph draws rayfish's icons: a fish whose shape and colour tell
// the connection state apart (solid when connected, outlined while
// connecting, outlined and struck through when disconnected, with a badge
// for errors and for items needing attention). Shapes differ per state so
// the monochrome and template variants still say which state it is.
//
// The drawing is deterministic; assets/gen writes the PNGs that package
// assets embeds, and assets' tests check the committed files against it.
package glyph

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// State names a tray state.
type State string

// Tray states.
const (
	Connected    State = "connected"
	Connecting   State = "connecting"
	Disconnected State = "disconnected"
	Error        State = "error"
	Attention    State = "attention"
)

// States lists every state, in file order.
var States = []State{Connected, Connecting, Disconnected, Error, Attention}

// Variant names a colour scheme.
type Variant string

// Variants: full colour, monochrome for dark panels (white) and light
// panels (black), and the macOS template (black; the OS uses only alpha).
const (
	Color    Variant = "color"
	White    Variant = "white"
	Black    Variant = "black"
	Template Variant = "template"
)

// Variants lists every variant, in file order.
var Variants = []Variant{Color, White, Black, Template}

var (
	green = color.NRGBA{0x2e, 0xa0, 0x43, 0xff}
	amber = color.NRGBA{0xd2, 0x99, 0x22, 0xff}
	grey  = color.NRGBA{0x8b, 0x94, 0x9e, 0xff}
	red   = color.NRGBA{0xda, 0x36, 0x33, 0xff}
	blue  = color.NRGBA{0x1f, 0x6f, 0xeb, 0xff}
	white = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	black = color.NRGBA{0x00, 0x00, 0x00, 0xff}
)

// shape reports whether the point (x, y) in the unit square is inside.
type shape func(x, y float64) bool

func ellipse(cx, cy, rx, ry float64) shape {
	return func(x, y float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
}

func circle(cx, cy, r float64) shape { return ellipse(cx, cy, r, r) }

func triangle(ax, ay, bx, by, cx, cy float64) shape {
	side := func(px, py, x1, y1, x2, y2 float64) float64 {
		return (px-x2)*(y1-y2) - (x1-x2)*(py-y2)
	}
	return func(x, y float64) bool {
		d1 := side(x, y, ax, ay, bx, by)
		d2 := side(x, y, bx, by, cx, cy)
		d3 := side(x, y, cx, cy, ax, ay)
		neg := d1 < 0 || d2 < 0 || d3 < 0
		pos := d1 > 0 || d2 > 0 || d3 > 0
		return !(neg && pos)
	}
}

// segment is a thick line from (ax, ay) to (bx, by) with half-width w.
func segment(ax, ay, bx, by, w float64) shape {
	return func(x, y float64) bool {
		vx, vy := bx-ax, by-ay
		t := ((x-ax)*vx + (y-ay)*vy) / (vx*vx + vy*vy)
		t = math.Max(0, math.Min(1, t))
		dx, dy := x-(ax+t*vx), y-(ay+t*vy)
		return dx*dx+dy*dy <= w*w
	}
}

func rect(x0, y0, x1, y1 float64) shape {
	return func(x, y float64) bool { return x >= x0 && x <= x1 && y >= y0 && y <= y1 }
}

func union(ss ...shape) shape {
	return func(x, y float64) bool {
		for _, s := range ss {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

func minus(a, b shape) shape { return func(x, y float64) bool { return a(x, y) && !b(x, y) } }

// fish is the body and tail, facing left, with the eye cut out. With
// inset > 0 it is the fish shrunk by inset on every side (the eye grown by
// it), so fish(0) minus fish(w) is an outline of width w.
func fish(inset float64) shape {
	body := ellipse(0.42, 0.52, 0.33-inset, 0.23-inset)
	tail := shrink(0.66, 0.52, 0.95, 0.27, 0.95, 0.77, inset)
	return minus(union(body, tail), circle(0.26, 0.46, 0.045+inset))
}

// shrink is the triangle abc moved inward by d on every side (a scaling
// about its incenter).
func shrink(ax, ay, bx, by, cx, cy, d float64) shape {
	la, lb, lc := math.Hypot(bx-cx, by-cy), math.Hypot(ax-cx, ay-cy), math.Hypot(ax-bx, ay-by)
	p := la + lb + lc
	ix, iy := (la*ax+lb*bx+lc*cx)/p, (la*ay+lb*by+lc*cy)/p
	area := math.Abs((bx-ax)*(cy-ay)-(cx-ax)*(by-ay)) / 2
	k := 1 - d/(2*area/p)
	sc := func(x, y float64) (float64, float64) { return ix + k*(x-ix), iy + k*(y-iy) }
	ax, ay = sc(ax, ay)
	bx, by = sc(bx, by)
	cx, cy = sc(cx, cy)
	return triangle(ax, ay, bx, by, cx, cy)
}

func outlineFish(w float64) shape { return minus(fish(0), fish(w)) }

// layer is a shape painted in a colour; later layers paint over earlier
// ones, and a nil colour clears (cuts a gap).
type layer struct {
	s shape
	c *color.NRGBA
}

func trayLayers(st State, fg, accent color.NRGBA) []layer {
	f := fish(0)
	badge := circle(0.80, 0.22, 0.17)
	gap := circle(0.80, 0.22, 0.24)
	switch st {
	case Connecting:
		return []layer{{outlineFish(0.075), &fg}}
	case Disconnected:
		slash := segment(0.12, 0.90, 0.88, 0.12, 0.045)
		slashGap := segment(0.12, 0.90, 0.88, 0.12, 0.10)
		return []layer{{outlineFish(0.075), &fg}, {slashGap, nil}, {slash, &fg}}
	case Error:
		bang := union(rect(0.775, 0.10, 0.825, 0.25), circle(0.80, 0.31, 0.03))
		return []layer{{f, &fg}, {gap, nil}, {minus(badge, bang), &accent}}
	case Attention:
		return []layer{{f, &fg}, {gap, nil}, {badge, &accent}}
	default: // Connected
		return []layer{{f, &fg}}
	}
}

// Tray draws the tray icon for st in variant v, size×size pixels.
func Tray(st State, v Variant, size int) *image.NRGBA {
	var fg, accent color.NRGBA
	switch v {
	case White:
		fg, accent = white, white
	case Black, Template:
		fg, accent = black, black
	default:
		switch st {
		case Connected:
			fg = green
		case Connecting:
			fg = amber
		case Disconnected:
			fg = grey
		case Error:
			fg = red
		case Attention:
			fg = green
		}
		accent = amber
		if st == Error {
			accent = red
		}
	}
	return render(size, trayLayers(st, fg, accent))
}

// App draws the application icon: a white fish on a blue rounded square.
func App(size int) *image.NRGBA {
	const r = 0.2
	bg := union(rect(r, 0, 1-r, 1), rect(0, r, 1, 1-r),
		circle(r, r, r), circle(1-r, r, r), circle(r, 1-r, r), circle(1-r, 1-r, r))
	f := fish(0)
	inner := func(x, y float64) bool { return f((x-0.15)/0.7, (y-0.15)/0.7) }
	return render(size, []layer{{bg, &blue}, {inner, &white}})
}

// render rasterises layers with 4×4 supersampling.
func render(size int, layers []layer) *image.NRGBA {
	const ss = 4
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := range size {
		for px := range size {
			var r, g, b, a float64
			for sy := range ss {
				for sx := range ss {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					var c *color.NRGBA
					for _, l := range layers {
						if l.s(x, y) {
							c = l.c
						}
					}
					if c != nil {
						r += float64(c.R)
						g += float64(c.G)
						b += float64(c.B)
						a++
					}
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(r/a + 0.5),
				G: uint8(g/a + 0.5),
				B: uint8(b/a + 0.5),
				A: uint8(a*255/(ss*ss) + 0.5),
			})
		}
	}
	return img
}

// Sizes of the generated icons in pixels.
const (
	TraySize = 64
	AppSize  = 256
)

// EncodePNG encodes img as a compact PNG; the output depends only on img.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
