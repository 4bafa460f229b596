//go:build gui

package views

import (
	"fmt"
	"image/color"
	"maps"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// peersTab lists peers with a search box and an online-only filter.
type peersTab struct {
	app fyne.App
	ctl *ui.Controller
	win fyne.Window

	search    *tabEntry
	online    *widget.Check
	count     *widget.Label
	countSize fyne.Size // the count's size when the top row was last laid out
	list      *keyList
	result    *widget.Label
	hint      *widget.Label // own join requests, removals, firewall drops
	steps     *firstSteps
	details   *peerDetails
	top       *fyne.Container
	filters   *fyne.Container // search, online only and the count
	content   fyne.CanvasObject

	model   *state.Model
	visible []apitype.Peer
	// rows are the row widgets the list bound last, by index; a row since
	// bound to another index is dropped here (its bound field says where
	// it is). A stream update redraws the rows whose peer changed through
	// them; a list refresh (rebinding every row, building a template row
	// to measure) is kept for rows that come, go or move.
	rows map[widget.ListItemID]*peerRow
	// counters redraws the rows whose only change is their round trip
	// and traffic, at most every countersEvery; the latest numbers land
	// at most countersEvery late, never stay stale.
	counters *ui.Throttle
}

// countersEvery is how often a peer row's round trip and traffic redraw
// while nothing else in it changes: the daemon's counters move every
// second, but each redraw repaints the whole window (about 25 ms of CPU
// with Xvfb's software GL), so the list follows them at the pace of the
// history sparklines' samples. Peer details show them live.
const countersEvery = 5 * time.Second

func newPeersTab(a fyne.App, ctl *ui.Controller, win fyne.Window, onInvite func(network string)) *peersTab {
	t := &peersTab{app: a, ctl: ctl, win: win, model: ctl.Model(), rows: map[widget.ListItemID]*peerRow{}}
	t.counters = ui.NewThrottle(countersEvery, fyne.Do, func() { t.redraw(true) })
	t.details = newPeerDetails(a, ctl, win)
	t.steps = newFirstSteps(ctl, onInvite)
	t.search = newEntry()
	t.search.SetPlaceHolder("Search by name or address")
	t.search.OnChanged = func(string) { t.refilter() }
	t.online = widget.NewCheck("Online only", func(bool) { t.refilter() })
	t.count = widget.NewLabel("")
	t.result = widget.NewLabel("")
	t.result.Wrapping = fyne.TextWrapWord
	t.hint = widget.NewLabel("")
	t.hint.Wrapping = fyne.TextWrapWord
	t.hint.Importance = widget.WarningImportance
	t.hint.Hide()
	t.list = newKeyList(
		func() int { return len(t.visible) },
		func() fyne.CanvasObject { return newPeerRow(t) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			r := o.(*peerRow)
			r.bound, t.rows[id] = id, r
			if id < len(t.visible) {
				r.set(t.visible[id])
			}
		},
	)
	t.list.OnSelected = func(id widget.ListItemID) {
		if id < len(t.visible) {
			t.details.open(t.visible[id])
		}
		t.list.UnselectAll()
	}
	t.filters = container.NewBorder(nil, nil, nil, container.NewHBox(t.online, t.count), t.search)
	t.top = container.NewVBox(t.steps.content, t.filters)
	t.content = container.NewBorder(t.top, container.NewVBox(t.hint, t.result), nil, nil, t.list)
	return t
}

// update shows m: the details dialog, hints and first steps always, the
// list only while it is on screen (list; refilter catches up).
func (t *peersTab) update(m *state.Model, list bool) {
	t.model = m
	t.details.update(m) // the dialog may be open over any tab
	lines := m.JoinWaits()
	for _, r := range m.Removed() {
		lines = append(lines, state.RemovedText(r)+"; dismiss it on the Networks tab")
	}
	if h := m.FirewallHint(); h != "" {
		lines = append(lines, h)
	}
	setText(t.hint, strings.Join(lines, "\n"))
	if len(lines) == 0 {
		t.hint.Hide()
	} else {
		t.hint.Show()
	}
	if t.steps.update(m) {
		// In no network there is nothing to search: only the first steps.
		t.filters.Hidden = t.steps.step == state.OnboardJoinOrCreate
		t.content.Refresh()
	}
	if list {
		t.refilter()
	}
}

func (t *peersTab) refilter() {
	visible := t.model.FilterPeers(t.search.Text, t.online.Checked)
	same := slices.EqualFunc(visible, t.visible, func(a, b apitype.Peer) bool { return a.ID == b.ID })
	t.visible = visible
	all := t.model.Peers()
	switch {
	case !t.model.DaemonReachable():
		setText(t.count, "")
	case len(t.visible) == len(all):
		setText(t.count, fmt.Sprintf("%s, %d online", plural(len(all), "peer"), t.model.OnlinePeers()))
	default:
		setText(t.count, fmt.Sprintf("%d of %s", len(t.visible), plural(len(all), "peer")))
	}
	if t.count.MinSize() != t.countSize {
		t.countSize = t.count.MinSize()
		t.top.Refresh()
	}
	if !same {
		maps.DeleteFunc(t.rows, func(id widget.ListItemID, _ *peerRow) bool { return id >= len(visible) })
		t.list.Refresh()
		return
	}
	t.redraw(false)
}

// redraw shows each bound row's peer as it is now. Unless counters is
// set, a row whose only change is its round trip and traffic is left for
// the counters throttle.
func (t *peersTab) redraw(counters bool) {
	held := false
	for id, r := range t.rows {
		switch {
		case r.bound != id:
			delete(t.rows, id)
		case id < len(t.visible) && !r.update(t.visible[id], counters):
			held = true
		}
	}
	if held {
		t.counters.Kick()
	}
}

// ping pings p and shows the replies below the list.
func (t *peersTab) ping(p apitype.Peer) { runPing(t.ctl, p, t.result) }

// runPing pings p and shows the replies in out.
func runPing(ctl *ui.Controller, p apitype.Peer, out *widget.Label) {
	name := p.Hostname
	if name == "" {
		name = state.ShortID(p.ID)
	}
	var lines []string
	var rtts []float64
	out.SetText(fmt.Sprintf("Pinging %s…", name))
	ctl.Ping(p.ID, func(r apitype.PingReply) {
		if r.Error != "" {
			lines = append(lines, fmt.Sprintf("#%d: %s", r.Seq, r.Error))
		} else {
			rtts = append(rtts, r.RTTMs)
			lines = append(lines, fmt.Sprintf("#%d: %s via %s", r.Seq, state.FormatRTT(r.RTTMs), r.Path))
		}
		out.SetText(fmt.Sprintf("Pinging %s… %s", name, strings.Join(lines, ", ")))
	}, func(err error) {
		if err != nil {
			out.SetText(fmt.Sprintf("Ping %s failed: %v", name, err))
			return
		}
		summary := fmt.Sprintf("Ping %s: %d of %d replies", name, len(rtts), ui.PingCount)
		if len(rtts) > 0 {
			var sum float64
			for _, r := range rtts {
				sum += r
			}
			summary += ", average " + state.FormatRTT(sum/float64(len(rtts)))
		}
		out.SetText(summary + " (" + strings.Join(lines, ", ") + ")")
	})
}

// peerRow is one peer in the list: name, path badge, RTT and traffic on
// the first line; addresses, id and networks on the second; why it is
// relayed or offline, and addresses or names refused to it, on the third.
type peerRow struct {
	widget.BaseWidget
	tab   *peersTab
	p     apitype.Peer
	bound widget.ListItemID // the index the list bound the row to last

	dot      *canvas.Circle
	name     *widget.Label
	badge    *widget.Label
	rtt      *canvas.Text // the counters: plain text in slots that only
	traffic  *canvas.Text // grow, so new numbers redraw two texts, not the row
	counters *fyne.Container
	pingBtn  *widget.Button
	more     *widget.Button // the admin menu, for networks this device administers
	addrs    *widget.Label
	id       *widget.Label
	copyID   *widget.Button
	networks *widget.Label
	reason   *widget.Label

	shown peerRowText // what the row shows; set skips a peer that looks the same
	drawn bool
}

// peerRowText is everything a peer row shows.
type peerRowText struct {
	online, admin                                            bool
	name, badge, rtt, traffic, addrs, id, networks, reasonTx string
}

func newPeerRow(t *peersTab) *peerRow {
	r := &peerRow{tab: t}
	r.dot = canvas.NewCircle(color.Transparent)
	r.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.badge = widget.NewLabel("")
	r.rtt = canvas.NewText("", theme.Color(theme.ColorNameForeground))
	r.traffic = canvas.NewText("", theme.Color(theme.ColorNameForeground))
	r.rtt.Alignment, r.traffic.Alignment = fyne.TextAlignTrailing, fyne.TextAlignTrailing
	r.counters = container.NewHBox(container.New(&counterSlot{}, r.rtt), container.New(&counterSlot{}, r.traffic))
	r.pingBtn = widget.NewButton("Ping", func() { t.ping(r.p) })
	r.more = widget.NewButtonWithIcon("", theme.MoreHorizontalIcon(), r.showAdminMenu)
	r.more.Hide()
	r.addrs = widget.NewLabel("")
	r.id = widget.NewLabel("")
	r.copyID = widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() { Copy(t.app, r.p.Hostname+"'s node id", r.p.ID) })
	r.networks = widget.NewLabel("")
	r.reason = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	r.ExtendBaseWidget(r)
	return r
}

func (r *peerRow) CreateRenderer() fyne.WidgetRenderer {
	dot := container.NewCenter(container.NewGridWrap(fyne.NewSize(10, 10), r.dot))
	line1 := container.NewHBox(dot, r.name, r.badge, layout.NewSpacer(), r.counters, r.pingBtn, r.more)
	line2 := container.NewHBox(r.addrs, r.id, r.copyID, layout.NewSpacer(), r.networks)
	return widget.NewSimpleRenderer(container.NewVBox(line1, line2, r.reason))
}

// set shows p; a peer that looks as the row already shows it (only
// counters behind the rounding changed) costs no redraw.
func (r *peerRow) set(p apitype.Peer) { r.update(p, true) }

// update shows p, but when only its round trip and traffic differ from
// what the row shows and counters is false, it leaves the row as it is
// and reports false.
func (r *peerRow) update(p apitype.Peer, counters bool) bool {
	r.p = p
	v := rowText(p, len(adminNetworks(r.tab.model, p)) > 0)
	if r.drawn && v == r.shown {
		return true
	}
	if r.drawn && sameButCounters(r.shown, v) {
		if counters {
			r.countersOnly(v)
		}
		return counters
	}
	r.draw(p, v)
	return true
}

// draw shows v, the text of p, laying the row out again.
func (r *peerRow) draw(p apitype.Peer, v peerRowText) {
	r.shown, r.drawn = v, true
	if p.Online {
		r.dot.FillColor = color.NRGBA{0x2e, 0xa0, 0x43, 0xff}
	} else {
		r.dot.FillColor = color.NRGBA{0x8b, 0x94, 0x9e, 0xff}
	}
	r.dot.Refresh()
	r.name.SetText(v.name)
	switch v.badge {
	case "direct":
		r.badge.Importance = widget.SuccessImportance
	case "relay":
		r.badge.Importance = widget.WarningImportance
	default:
		r.badge.Importance = widget.LowImportance
	}
	r.badge.SetText(v.badge)
	r.setCounters(v)
	setEnabled(r.pingBtn, v.online)
	if v.admin {
		r.more.Show()
	} else {
		r.more.Hide()
	}
	r.addrs.SetText(v.addrs)
	r.id.SetText(v.id)
	r.networks.SetText(v.networks)
	r.reason.SetText(v.reasonTx)
	r.Refresh() // lay the lines out again for the new text widths
}

// sameButCounters reports whether a and b differ at most in the round
// trip and traffic.
func sameButCounters(a, b peerRowText) bool {
	a.rtt, a.traffic = b.rtt, b.traffic
	return a == b
}

// countersOnly shows v, which differs from what the row shows only in its
// round trip and traffic: the two texts redraw, and the row is laid out
// again only when their slots had to grow.
func (r *peerRow) countersOnly(v peerRowText) {
	before := r.counters.MinSize()
	r.setCounters(v)
	r.shown = v
	if r.counters.MinSize() != before {
		r.Refresh()
	}
}

// setCounters shows v's round trip and traffic.
func (r *peerRow) setCounters(v peerRowText) {
	fg := theme.Color(theme.ColorNameForeground)
	for _, c := range []struct {
		t *canvas.Text
		s string
	}{{r.rtt, v.rtt}, {r.traffic, v.traffic}} {
		if c.t.Text != c.s || c.t.Color != fg {
			c.t.Text, c.t.Color = c.s, fg
			c.t.Refresh()
		}
	}
}

// counterSlot lays one text out as a label would (inner padding around
// it) in a width that only grows: a number that gets narrower keeps its
// slot, so the row around it is not laid out again.
type counterSlot struct{ width float32 }

func (s *counterSlot) MinSize(objs []fyne.CanvasObject) fyne.Size {
	pad := theme.InnerPadding()
	m := objs[0].MinSize()
	s.width = max(s.width, m.Width+2*pad)
	return fyne.NewSize(s.width, m.Height+2*pad)
}

func (s *counterSlot) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	pad := theme.InnerPadding()
	objs[0].Move(fyne.NewPos(pad, pad))
	objs[0].Resize(fyne.NewSize(size.Width-2*pad, size.Height-2*pad))
}

// rowText is what a row shows of p.
func rowText(p apitype.Peer, admin bool) peerRowText {
	name := p.Hostname
	if name == "" {
		name = state.ShortID(p.ID)
	}
	badge, reason := state.PeerBadge(p)
	var addrs []string
	if p.IPv4.IsValid() {
		addrs = append(addrs, p.IPv4.String())
	}
	if p.IPv6.IsValid() {
		addrs = append(addrs, p.IPv6.String())
	}
	var notes []string
	if reason != "" {
		notes = append(notes, badge+": "+reason)
	}
	if w := state.PeerWarning(p); w != "" {
		notes = append(notes, w)
	}
	return peerRowText{
		online: p.Online, admin: admin,
		name: name, badge: badge,
		rtt:      "RTT " + state.FormatRTT(p.RTTMs),
		traffic:  "in " + state.FormatBytes(p.RxBytes) + " · out " + state.FormatBytes(p.TxBytes),
		addrs:    strings.Join(addrs, "  "),
		id:       "id " + state.ShortID(p.ID),
		networks: strings.Join(p.Networks, ", "),
		reasonTx: strings.Join(notes, " · "),
	}
}

// plural formats a count with its noun: "1 peer", "2 peers".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
