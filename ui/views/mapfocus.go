//go:build gui

package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/ui/state"
)

// Keyboard use of the map. Every node with an action (a peer, a network's
// offline node; see state.FocusOrder) has a mapNode: an invisible
// focusable square over it that the map lays out in focus order, so Tab
// and Shift+Tab walk the nodes like any other widgets and leave the map
// after the last node or before the first. Arrow keys go round the ring
// (Right and Down to the next node, Left and Up to the previous, wrapping;
// Home and End to the first and last); Return, Enter or Space do what a
// click does: open a peer's details, list an offline node's peers. The
// focused node shows a ring in the theme's primary colour.

// mapFocusR is the radius of the focus ring round a node.
const mapFocusR = 12

// mapNode is the focus target of one map node.
type mapNode struct {
	widget.BaseWidget
	v       *mapView
	key     string // state.MapNode.FocusKey
	focused bool
}

func newMapNode(v *mapView, key string) *mapNode {
	n := &mapNode{v: v, key: key}
	n.ExtendBaseWidget(n)
	return n
}

// FocusGained shows the ring.
func (n *mapNode) FocusGained() {
	n.focused, n.v.focus = true, n.key
	n.Refresh()
}

// FocusLost hides the ring.
func (n *mapNode) FocusLost() {
	n.focused = false
	if n.v.focus == n.key {
		n.v.focus = ""
	}
	n.Refresh()
}

// TypedRune does nothing: nodes take keys, not text.
func (n *mapNode) TypedRune(rune) {}

// TypedKey opens the node or moves the focus round the map.
func (n *mapNode) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeySpace:
		n.v.activate(n.key)
	case fyne.KeyRight, fyne.KeyDown:
		n.v.focusNode(n.v.layout.FocusStep(n.key, 1))
	case fyne.KeyLeft, fyne.KeyUp:
		n.v.focusNode(n.v.layout.FocusStep(n.key, -1))
	case fyne.KeyHome:
		n.v.focusNode(n.v.layout.FocusStep("", 1))
	case fyne.KeyEnd:
		n.v.focusNode(n.v.layout.FocusStep("", -1))
	}
}

// Tapped does what Return does.
func (n *mapNode) Tapped(*fyne.PointEvent) { n.v.activate(n.key) }

// Cursor shows that the node can be clicked.
func (n *mapNode) Cursor() desktop.Cursor { return desktop.PointerCursor }

func (n *mapNode) CreateRenderer() fyne.WidgetRenderer {
	r := &mapNodeRenderer{n: n, ring: canvas.NewCircle(nil)}
	r.Refresh()
	return r
}

type mapNodeRenderer struct {
	n    *mapNode
	ring *canvas.Circle
}

func (r *mapNodeRenderer) Destroy()                     {}
func (r *mapNodeRenderer) MinSize() fyne.Size           { return fyne.NewSize(2*mapTapR, 2*mapTapR) }
func (r *mapNodeRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.ring} }

func (r *mapNodeRenderer) Layout(size fyne.Size) {
	r.ring.Resize(fyne.NewSize(2*mapFocusR, 2*mapFocusR))
	r.ring.Move(fyne.NewPos(size.Width/2-mapFocusR, size.Height/2-mapFocusR))
}

// Refresh draws the ring in the current theme's colours (light or dark).
func (r *mapNodeRenderer) Refresh() {
	r.ring.FillColor = theme.Color(theme.ColorNameFocus)
	r.ring.StrokeColor = theme.Color(theme.ColorNamePrimary)
	r.ring.StrokeWidth = 3
	r.ring.Hidden = !r.n.focused
	r.Layout(r.n.Size())
	r.ring.Refresh()
}

// syncNodes gives every node of the layout that takes the focus its
// mapNode, in focus order, keeping the ones of nodes still there (so a
// focused node stays focused).
func (v *mapView) syncNodes() {
	keys := v.layout.FocusKeys()
	nodes := make(map[string]*mapNode, len(keys))
	order := make([]*mapNode, 0, len(keys))
	for _, k := range keys {
		n := v.nodes[k]
		if n == nil {
			n = newMapNode(v, k)
		}
		nodes[k] = n
		order = append(order, n)
	}
	v.nodes, v.order = nodes, order
}

// keepFocus moves the focus to a neighbour when the node that had it is
// no longer in the layout (old was the layout before); with no node left
// it clears the focus, so Tab starts again from the top of the window.
func (v *mapView) keepFocus(old state.MapLayout) {
	c := fyne.CurrentApp().Driver().CanvasForObject(v)
	if c == nil {
		return
	}
	key := v.focus
	gone, ok := c.Focused().(*mapNode)
	if key == "" && ok && gone.v == v {
		// The window lost the focus (the node too) but its focus
		// manager still holds the node.
		key = gone.key
	}
	if key == "" || v.nodes[key] != nil {
		return
	}
	if next := v.layout.Refocus(old, key); next != "" {
		v.focusNode(next)
		return
	}
	v.focus = ""
	if ok && gone.v == v && c.Overlays().Top() == nil {
		c.Unfocus()
	}
}

// focusNode gives the focus to the node with the given key.
func (v *mapView) focusNode(key string) {
	n := v.nodes[key]
	if n == nil {
		return
	}
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil {
		c.Focus(n)
	}
}

// activate does what a click on the node with the given key does.
func (v *mapView) activate(key string) {
	i := v.layout.FocusIndex(key)
	if i < 0 {
		return
	}
	switch n := v.layout.Nodes[i]; n.Kind {
	case state.MapPeer:
		if v.onTap != nil {
			v.onTap(n.ID)
		}
	case state.MapOffline:
		v.showMembers(n)
	}
}

// showMembers lists the peers of an offline node in a menu at the node,
// with the first one highlighted (arrows, Return, Escape work in it);
// choosing one opens its details.
func (v *mapView) showMembers(n state.MapNode) {
	c := fyne.CurrentApp().Driver().CanvasForObject(v)
	if c == nil || len(n.Members) == 0 {
		return
	}
	items := make([]*fyne.MenuItem, len(n.Members))
	for i, m := range n.Members {
		items[i] = fyne.NewMenuItem(m.Label, func() {
			if v.onTap != nil {
				v.onTap(m.ID)
			}
		})
	}
	v.menu = widget.NewPopUpMenu(fyne.NewMenu(n.Label, items...), c)
	v.menu.ShowAtRelativePosition(nodePos(n, v.Size()), v)
	v.menu.ActivateNext()
}
