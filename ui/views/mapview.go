//go:build gui

package views

import (
	"image/color"
	"math"
	"reflect"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/ui/state"
)

// Map colours.
var (
	mapGreen  = color.NRGBA{0x2e, 0xa0, 0x43, 0xff}
	mapOrange = color.NRGBA{0xd2, 0x7a, 0x12, 0xff}
	mapGrey   = color.NRGBA{0x8b, 0x94, 0x9e, 0xff}
	mapBlue   = color.NRGBA{0x1f, 0x6f, 0xeb, 0xff}
)

// Map sizes in pixels.
const (
	mapSelfR  = 14 // this device's circle
	mapPeerR  = 7  // a peer's circle
	mapDash   = 7  // dash and gap of a relayed line
	mapTapR   = 16 // how far from a peer a click still opens it
	mapLabelH = 16
)

// mapView draws a state.MapLayout: solid lines for direct paths, dashed
// through the relay box for relayed ones, grey for offline peers; a click
// on a peer calls onTap with its id. It redraws only when the layout or
// the size changes.
type mapView struct {
	widget.BaseWidget
	layout state.MapLayout
	onTap  func(id string)
}

func newMapView(onTap func(id string)) *mapView {
	v := &mapView{onTap: onTap}
	v.ExtendBaseWidget(v)
	return v
}

// set shows l; it reports whether anything changed.
func (v *mapView) set(l state.MapLayout) bool {
	if reflect.DeepEqual(l, v.layout) {
		return false
	}
	v.layout = l
	v.Refresh()
	return true
}

func (v *mapView) CreateRenderer() fyne.WidgetRenderer { return &mapRenderer{v: v} }

// Tapped opens the peer nearest to the click, if it is close enough.
func (v *mapView) Tapped(ev *fyne.PointEvent) {
	size := v.Size()
	best, bestD := "", float32(mapTapR)
	for _, n := range v.layout.Nodes {
		if n.Kind != state.MapPeer {
			continue
		}
		p := nodePos(n, size)
		if d := float32(math.Hypot(float64(p.X-ev.Position.X), float64(p.Y-ev.Position.Y))); d <= bestD {
			best, bestD = n.ID, d
		}
	}
	if best != "" && v.onTap != nil {
		v.onTap(best)
	}
}

func nodePos(n state.MapNode, size fyne.Size) fyne.Position {
	return fyne.NewPos(n.X*size.Width, n.Y*size.Height)
}

type mapRenderer struct {
	v     *mapView
	objs  []fyne.CanvasObject
	size  fyne.Size
	shown state.MapLayout
}

func (r *mapRenderer) Destroy()                     {}
func (r *mapRenderer) MinSize() fyne.Size           { return fyne.NewSize(320, 320) }
func (r *mapRenderer) Objects() []fyne.CanvasObject { return r.objs }

func (r *mapRenderer) Layout(size fyne.Size) {
	if size == r.size && reflect.DeepEqual(r.shown, r.v.layout) {
		return
	}
	r.size, r.shown = size, r.v.layout
	r.objs = r.draw(size)
}

func (r *mapRenderer) Refresh() {
	r.Layout(r.v.Size())
	canvas.Refresh(r.v)
}

func (r *mapRenderer) draw(size fyne.Size) []fyne.CanvasObject {
	l := r.v.layout
	var objs []fyne.CanvasObject
	for _, e := range l.Edges {
		a, b := nodePos(l.Nodes[e.From], size), nodePos(l.Nodes[e.To], size)
		switch e.Style {
		case state.EdgeDirect:
			objs = append(objs, mapLine(a, b, mapGreen, e.Weight))
		case state.EdgeRelayed:
			objs = append(objs, dashes(a, b, mapOrange, e.Weight)...)
		default:
			objs = append(objs, mapLine(a, b, mapGrey, 1))
		}
	}
	fg := theme.Color(theme.ColorNameForeground)
	for _, n := range l.Nodes {
		p := nodePos(n, size)
		switch n.Kind {
		case state.MapSelf:
			objs = append(objs, dot(p, mapSelfR, mapBlue))
			// Beside the node: lines leave it downwards too.
			t := label(n.Label, p, mapSelfR, fg, true)
			t.Alignment = fyne.TextAlignLeading
			t.Move(fyne.NewPos(p.X+mapSelfR+4, p.Y-mapLabelH/2))
			objs = append(objs, t)
		case state.MapRelay:
			box := canvas.NewRectangle(theme.Color(theme.ColorNameBackground))
			box.StrokeColor, box.StrokeWidth, box.CornerRadius = mapOrange, 2, 4
			box.Resize(fyne.NewSize(64, 24))
			box.Move(fyne.NewPos(p.X-32, p.Y-12))
			t := canvas.NewText("relay", mapOrange)
			t.TextStyle.Bold = true
			t.Alignment = fyne.TextAlignCenter
			t.Resize(fyne.NewSize(64, 24))
			t.Move(box.Position())
			objs = append(objs, box, t)
		case state.MapPeer:
			objs = append(objs, dot(p, mapPeerR, mapGreen), label(n.Label, p, mapPeerR, fg, false))
		case state.MapOffline:
			objs = append(objs, dot(p, mapPeerR, mapGrey), label(n.Label+" ("+n.Network+")", p, mapPeerR, mapGrey, false))
		}
	}
	return objs
}

func mapLine(a, b fyne.Position, c color.Color, w float32) *canvas.Line {
	l := canvas.NewLine(c)
	l.StrokeWidth = w
	l.Position1, l.Position2 = a, b
	return l
}

// dashes draws a dashed line as short segments (Fyne lines are solid).
func dashes(a, b fyne.Position, c color.Color, w float32) []fyne.CanvasObject {
	dx, dy := b.X-a.X, b.Y-a.Y
	length := float32(math.Hypot(float64(dx), float64(dy)))
	if length == 0 {
		return nil
	}
	ux, uy := dx/length, dy/length
	var out []fyne.CanvasObject
	for s := float32(0); s < length; s += 2 * mapDash {
		e := min(s+mapDash, length)
		out = append(out, mapLine(fyne.NewPos(a.X+ux*s, a.Y+uy*s), fyne.NewPos(a.X+ux*e, a.Y+uy*e), c, w))
	}
	return out
}

func dot(p fyne.Position, r float32, c color.Color) *canvas.Circle {
	d := canvas.NewCircle(c)
	d.Resize(fyne.NewSize(2*r, 2*r))
	d.Move(fyne.NewPos(p.X-r, p.Y-r))
	return d
}

// label centres text under a node of radius r.
func label(text string, p fyne.Position, r float32, c color.Color, bold bool) *canvas.Text {
	t := canvas.NewText(text, c)
	t.TextSize = theme.CaptionTextSize()
	t.TextStyle.Bold = bold
	t.Alignment = fyne.TextAlignCenter
	t.Resize(fyne.NewSize(120, mapLabelH))
	t.Move(fyne.NewPos(p.X-60, p.Y+r+1))
	return t
}
