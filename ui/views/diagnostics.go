//go:build gui

package views

import (
	"fmt"
	"io"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// diagnosticsTab answers "why is this slow, why can't I reach it": this
// device's endpoints and drop counters (from the watch stream), a
// netcheck on demand, and the support bundle.
type diagnosticsTab struct {
	app fyne.App
	ctl *ui.Controller
	win fyne.Window

	self  *rowsView
	pmap  *rowsView // the router's port mappings and the member relay
	dns   *widget.Label
	drops *rowsView
	noDrp *widget.Label

	checkBtn *widget.Button
	checkMsg *widget.Label
	check    *rowsView
	checked  bool // a netcheck ran (or runs) since the daemon appeared

	saveBtn *widget.Button
	saveMsg *widget.Label
	saveDlg *dialog.FileDialog // the last save dialog, open while savePop is on top
	savePop fyne.CanvasObject

	content fyne.CanvasObject
}

func newDiagnosticsTab(a fyne.App, ctl *ui.Controller, win fyne.Window) *diagnosticsTab {
	t := &diagnosticsTab{app: a, ctl: ctl, win: win}
	t.self = newRowsView(a)
	t.pmap = newRowsView(a)
	t.dns = wrapLabel()
	t.drops = newRowsView(a)
	t.noDrp = widget.NewLabel("No packets dropped.")
	t.check = newRowsView(a)
	t.checkBtn = widget.NewButtonWithIcon("Check again", theme.ViewRefreshIcon(), t.runCheck)
	t.checkMsg = wrapLabel()
	t.saveBtn = widget.NewButtonWithIcon("Save support bundle…", theme.DocumentSaveIcon(), t.askSave)
	t.saveMsg = wrapLabel()
	bundle := wrapLabel()
	bundle.SetText("A .tar.gz for whoever helps you: versions, system, sanitized status, logs, metrics, firewall, DNS and audit log. Keys and invite secrets are left out.")
	t.content = container.NewVScroll(container.NewVBox(
		widget.NewCard("DNS", "Is the system's resolver pointing at rayfish (for names like nas.ray)?", t.dns),
		widget.NewCard("Network check", "UDP, public addresses, NAT type and relay latency",
			container.NewVBox(container.NewHBox(t.checkBtn), t.checkMsg, t.check.content)),
		widget.NewCard("This device", "", t.self.content),
		widget.NewCard("Port mapping", "What the router forwards to this device (PCP, NAT-PMP or UPnP), and whether it relays for members who cannot meet directly",
			t.pmap.content),
		widget.NewCard("Dropped packets", "Since the daemon started, by reason", container.NewVBox(t.noDrp, t.drops.content)),
		widget.NewCard("Support bundle", "", container.NewVBox(bundle, container.NewHBox(t.saveBtn), t.saveMsg)),
	))
	return t
}

func (t *diagnosticsTab) update(m *state.Model) {
	reachable := m.DaemonReachable()
	setEnabled(t.checkBtn, reachable)
	setEnabled(t.saveBtn, reachable)
	if !reachable {
		t.checked = false
	}
	t.self.set(m.SelfRows())
	t.pmap.set(m.PortMapRows())
	t.showDNS(m)
	drops := m.DropRows()
	if len(drops) == 0 {
		t.noDrp.Show()
	} else {
		t.noDrp.Hide()
	}
	t.drops.set(drops)
}

// showDNS shows the DNS health the stream carries, coloured by state.
func (t *diagnosticsTab) showDNS(m *state.Model) {
	row, ok := m.DNSRow()
	imp := widget.MediumImportance
	switch h, _ := m.DNS(); {
	case !ok:
		row.Value = "Unknown: the daemon does not report it (an older daemon?), or it is not running."
	case h.State == apitype.DNSOK:
		imp = widget.SuccessImportance
	case h.State == apitype.DNSNotApplied:
		imp = widget.DangerImportance
	}
	if t.dns.Text != row.Value || t.dns.Importance != imp {
		t.dns.Importance = imp
		t.dns.SetText(row.Value)
	}
}

// shown runs the first netcheck when the tab is opened.
func (t *diagnosticsTab) shown() {
	if !t.checked && t.ctl.Model().DaemonReachable() {
		t.runCheck()
	}
}

func (t *diagnosticsTab) runCheck() {
	t.checked = true
	t.checkBtn.Disable()
	t.checkMsg.SetText("Checking… (a few seconds)")
	t.ctl.Netcheck(func(r apitype.Netcheck, err error) {
		t.checkBtn.Enable()
		if err != nil {
			t.checkMsg.SetText("Network check failed: " + err.Error())
			t.check.set(nil)
			return
		}
		t.checkMsg.SetText("Checked at " + time.Now().Format("15:04:05"))
		t.check.set(state.NetcheckRows(r))
	})
}

func (t *diagnosticsTab) askSave() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			t.saveMsg.SetText("Save the support bundle: " + err.Error())
			return
		}
		if w != nil {
			t.save(w)
		}
	}, t.win)
	d.SetFileName("rayfish-report-" + time.Now().UTC().Format("20060102-150405") + ".tar.gz")
	d.Show()
	c := t.win.Canvas()
	t.saveDlg, t.savePop = d, c.Overlays().Top()
	keyedFileName(c, t.savePop)
}

// dismissSave closes the save dialog if it is the dialog on top (Escape):
// Fyne's file dialog has no keys of its own and no button row typedKey
// finds.
func (t *diagnosticsTab) dismissSave(top fyne.CanvasObject) bool {
	if t.saveDlg == nil || top == nil || top != t.savePop {
		return false
	}
	t.saveDlg.Dismiss()
	t.saveDlg, t.savePop = nil, nil
	return true
}

// keyedFileName puts a tabEntry in place of the file name field that
// Fyne's save dialog pop focuses when it opens (a plain Entry keeps
// Escape), and keeps the two equal both ways: Fyne reads the name from its
// own field and fills that field when a file is picked. It changes nothing
// if the focused field is not found where Fyne 2.7 puts it (in a Scroll).
func keyedFileName(c fyne.Canvas, pop fyne.CanvasObject) {
	orig, ok := c.Focused().(*widget.Entry)
	if !ok {
		return
	}
	scroll := scrollHolding(pop, orig)
	if scroll == nil {
		return
	}
	e := newEntry()
	e.SetPlaceHolder(orig.PlaceHolder)
	e.SetText(orig.Text)
	changed := orig.OnChanged
	orig.OnChanged = func(s string) {
		if changed != nil {
			changed(s)
		}
		if e.Text != s {
			e.SetText(s)
		}
	}
	e.OnChanged = func(s string) {
		if orig.Text != s {
			orig.SetText(s)
		}
	}
	e.OnSubmitted = orig.OnSubmitted
	scroll.Content = e
	scroll.Refresh()
	c.Focus(e)
}

// scrollHolding finds the Scroll whose content is target under o, through
// pop-ups and containers.
func scrollHolding(o, target fyne.CanvasObject) *container.Scroll {
	switch v := o.(type) {
	case *widget.PopUp:
		return scrollHolding(v.Content, target)
	case *container.Scroll:
		if v.Content == target {
			return v
		}
		return scrollHolding(v.Content, target)
	case *fyne.Container:
		for _, x := range v.Objects {
			if s := scrollHolding(x, target); s != nil {
				return s
			}
		}
	}
	return nil
}

// save writes the support bundle into w (a file the user picked).
func (t *diagnosticsTab) save(w fyne.URIWriteCloser) {
	t.saveBtn.Disable()
	t.saveMsg.SetText("Saving the support bundle to " + w.URI().Path() + "…")
	cw := &countWriter{w: w}
	t.ctl.Report(cw, func(err error) {
		t.saveBtn.Enable()
		if err != nil {
			_ = storage.Delete(w.URI()) // no half-written bundle left behind
			t.saveMsg.SetText("Save the support bundle: " + err.Error())
			return
		}
		t.saveMsg.SetText(fmt.Sprintf("Saved %s (%s).", w.URI().Path(), state.FormatBytes(cw.n)))
	})
}

// countWriter counts the bytes written through it. Only the controller's
// goroutine writes; the count is read after done runs.
type countWriter struct {
	w io.WriteCloser
	n uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

func (c *countWriter) Close() error { return c.w.Close() }
