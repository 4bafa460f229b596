//go:build gui

package views

import (
	"image/color"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

// Sparkline size in pixels.
const (
	sparkW = 240
	sparkH = 28
)

// sparkView draws one sparkline: the points (0..1, oldest first) as a
// line over a baseline, spread over the ring's full width so that a
// young history grows from the left. It redraws only when the points or
// the size change.
type sparkView struct {
	widget.BaseWidget
	points []float32
	colour color.Color
}

func newSparkView(c color.Color) *sparkView {
	v := &sparkView{colour: c}
	v.ExtendBaseWidget(v)
	return v
}

// set shows pts; it reports whether anything changed.
func (v *sparkView) set(pts []float32) bool {
	if slices.Equal(pts, v.points) {
		return false
	}
	v.points = slices.Clone(pts)
	v.Refresh()
	return true
}

func (v *sparkView) CreateRenderer() fyne.WidgetRenderer { return &sparkRenderer{v: v} }

type sparkRenderer struct {
	v     *sparkView
	objs  []fyne.CanvasObject
	size  fyne.Size
	shown []float32
}

func (r *sparkRenderer) Destroy()                     {}
func (r *sparkRenderer) MinSize() fyne.Size           { return fyne.NewSize(sparkW, sparkH) }
func (r *sparkRenderer) Objects() []fyne.CanvasObject { return r.objs }

func (r *sparkRenderer) Layout(size fyne.Size) {
	if size == r.size && slices.Equal(r.shown, r.v.points) && r.objs != nil {
		return
	}
	r.size, r.shown = size, r.v.points
	r.objs = r.draw(size)
}

func (r *sparkRenderer) Refresh() {
	r.Layout(r.v.Size())
	canvas.Refresh(r.v)
}

func (r *sparkRenderer) draw(size fyne.Size) []fyne.CanvasObject {
	base := mapLine(fyne.NewPos(0, size.Height-1), fyne.NewPos(size.Width, size.Height-1),
		theme.Color(theme.ColorNameSeparator), 1)
	objs := []fyne.CanvasObject{base}
	pts := r.v.points
	step := size.Width / float32(apitype.HistorySamples-1)
	at := func(i int) fyne.Position {
		return fyne.NewPos(float32(i)*step, (size.Height-2)*(1-pts[i])+1)
	}
	for i := 1; i < len(pts); i++ {
		objs = append(objs, mapLine(at(i-1), at(i), r.v.colour, 1.5))
	}
	if len(pts) == 1 { // the first sample: a tick, not nothing
		p := at(0)
		objs = append(objs, mapLine(p, fyne.NewPos(p.X+step, p.Y), r.v.colour, 1.5))
	}
	return objs
}

// sparksView is the three sparklines of peer details with their captions.
type sparksView struct {
	content  *fyne.Container
	empty    *widget.Label
	lines    [3]*sparkView
	captions [3]*widget.Label
	labels   [3]*widget.Label
}

func newSparksView() *sparksView {
	s := &sparksView{empty: wrapLabel()}
	s.empty.SetText("Round trip and traffic appear here after a few seconds (one sample every 5 s, for 5 minutes).")
	// Labels in one column, so the three lines share one time axis.
	grid := container.New(layout.NewFormLayout())
	for i, c := range []color.Color{mapBlue, mapGreen, mapOrange} {
		s.lines[i] = newSparkView(c)
		s.labels[i] = widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		s.captions[i] = widget.NewLabel("")
		s.captions[i].SizeName = theme.SizeNameCaptionText
		grid.Add(s.labels[i])
		grid.Add(s.lines[i])
		grid.Add(layout.NewSpacer())
		grid.Add(s.captions[i])
	}
	s.content = container.NewVBox(s.empty, grid)
	grid.Hide()
	return s
}

// set shows sparks (nil: none yet).
func (s *sparksView) set(sparks []state.Spark) {
	grid := s.content.Objects[1]
	if len(sparks) != len(s.lines) {
		s.empty.Show()
		grid.Hide()
		return
	}
	s.empty.Hide()
	grid.Show()
	for i, sp := range sparks {
		if s.labels[i].Text != sp.Label {
			s.labels[i].SetText(sp.Label)
		}
		if s.captions[i].Text != sp.Caption {
			s.captions[i].SetText(sp.Caption)
		}
		s.lines[i].set(sp.Points)
	}
}
