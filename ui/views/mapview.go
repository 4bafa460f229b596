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
// on a peer calls onTap with its id, a click on a network's offline node
// lists its peers. It redraws only when the layout or the size changes.
// The keyboard reaches every node too (mapfocus.go).
type mapView struct {
	widget.BaseWidget
	layout state.MapLayout
	onTap  func(id string)

	// nodes are the focus targets of the nodes that take the focus, by
	// focus key; order has them in focus order.
	nodes map[string]*mapNode
	order []*mapNode
	// focus is the key of the node with the keyboard focus, or "".
	focus string
	// menu lists an offline node's peers (the last one shown).
	menu *widget.PopUpMenu
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
	old := v.layout
	v.layout = l
	v.syncNodes()
	v.Refresh()
	v.keepFocus(old)
	return true
}

func (v *mapView) CreateRenderer() fyne.WidgetRenderer { return &mapRenderer{v: v} }

// Tapped opens the node nearest to the click (a peer's details, the list
// of an offline node), if it is close enough.
func (v *mapView) Tapped(ev *fyne.PointEvent) {
	size := v.Size()
	best, bestD := "", float32(mapTapR)
	for _, n := range v.layout.Nodes {
		if n.FocusKey() == "" {
			continue
		}
		p := nodePos(n, size)
		if d := float32(math.Hypot(float64(p.X-ev.Position.X), float64(p.Y-ev.Position.Y))); d <= bestD {
			best, bestD = n.FocusKey(), d
		}
	}
	v.activate(best)
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
	// The focus targets last, over the drawing, in focus order.
	for i, n := range l.FocusOrder() {
		if i >= len(r.v.order) {
			break
		}
		t, p := r.v.order[i], nodePos(l.Nodes[n], size)
		t.Resize(fyne.NewSize(2*mapTapR, 2*mapTapR))
		t.Move(fyne.NewPos(p.X-mapTapR, p.Y-mapTapR))
		objs = append(objs, t)
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
