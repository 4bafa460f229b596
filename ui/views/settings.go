//go:build gui

package views

import (
	"errors"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/autostart"
	"github.com/rayfish/rayfish/ui/state"
)

// App preference keys (fyne.Preferences).
const (
	PrefNotify      = "notify"       // bool, default true
	PrefNotifyPeers = "notify_peers" // bool, default false
	PrefTrayStyle   = "tray_style"   // assets.Variant, default per OS
)

var trayStyles = []struct {
	label string
	v     assets.Variant
}{
	{"Colour", assets.Color},
	{"White (dark panels)", assets.White},
	{"Black (light panels)", assets.Black},
	{"Template (macOS)", assets.Template},
}

// settingsTab edits the daemon's preferences and the app's own.
type settingsTab struct {
	app  fyne.App
	ctl  *ui.Controller
	opts Options

	connectOnStart *widget.Check
	mdns           *widget.Check
	portmap        *widget.Check
	dht            *widget.Check
	dhtState       *widget.Label
	dhtCheck       *widget.Button
	relays         *tabEntry
	operator       *tabEntry
	save           *widget.Button
	msg            *widget.Label

	startAtLogin *widget.Check
	loginMsg     *widget.Label
	notify       *widget.Check
	notifyPeers  *widget.Check
	trayStyle    *widget.Select

	content fyne.CanvasObject

	model     *state.Model
	loaded    apitype.Prefs
	requested bool // a Prefs call was made since the daemon appeared
}

func newSettingsTab(a fyne.App, ctl *ui.Controller, opts Options) *settingsTab {
	t := &settingsTab{app: a, ctl: ctl, opts: opts, model: ctl.Model()}
	t.connectOnStart = widget.NewCheck("Connect when the daemon starts", nil)
	t.mdns = widget.NewCheck("Find peers on the local network (mDNS)", nil)
	t.portmap = widget.NewCheck("Ask the router to forward our port (UPnP, NAT-PMP, PCP)", nil)
	t.dht = widget.NewCheck("Find peers anywhere through the public DHT (Mainline)", nil)
	t.dhtState = widget.NewLabel("DHT state: not checked yet")
	t.dhtState.Wrapping = fyne.TextWrapWord
	t.dhtCheck = widget.NewButtonWithIcon("Check", theme.ViewRefreshIcon(), t.checkDHT)
	t.relays = newMultiLineEntry()
	t.relays.SetPlaceHolder("One relay URL per line")
	t.relays.SetMinRowsVisible(3)
	t.operator = newEntry()
	t.operator.SetPlaceHolder("Local user allowed to change settings")
	t.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), t.saveDaemon)
	t.save.Importance = widget.HighImportance
	t.msg = widget.NewLabel("")
	t.msg.Wrapping = fyne.TextWrapWord
	daemonForm := widget.NewForm(
		widget.NewFormItem("", t.connectOnStart),
		widget.NewFormItem("", t.mdns),
		widget.NewFormItem("", t.portmap),
		widget.NewFormItem("", t.dht),
		widget.NewFormItem("", container.NewBorder(nil, nil, nil, t.dhtCheck, t.dhtState)),
		widget.NewFormItem("Relays", t.relays),
		widget.NewFormItem("Operator", t.operator),
	)
	daemonCard := widget.NewCard("Daemon", "Shared by every user of this device",
		container.NewVBox(daemonForm, container.NewHBox(t.save), t.msg))

	t.startAtLogin = widget.NewCheck("Start rayfish when I log in", t.setStartAtLogin)
	t.loginMsg = widget.NewLabel("")
	t.loginMsg.Wrapping = fyne.TextWrapWord
	if opts.Autostart != nil {
		if on, err := opts.Autostart.Enabled(); err != nil {
			t.loginMsg.SetText(err.Error())
		} else {
			t.startAtLogin.SetChecked(on)
		}
	} else {
		t.startAtLogin.Disable()
		t.loginMsg.SetText(autostart.ErrUnsupported.Error())
	}
	prefs := a.Preferences()
	t.notify = widget.NewCheck("Show notifications", func(on bool) { prefs.SetBool(PrefNotify, on) })
	t.notify.SetChecked(prefs.BoolWithFallback(PrefNotify, true))
	t.notifyPeers = widget.NewCheck("Notify when peers come online or go offline", func(on bool) { prefs.SetBool(PrefNotifyPeers, on) })
	t.notifyPeers.SetChecked(prefs.BoolWithFallback(PrefNotifyPeers, false))
	var labels []string
	for _, s := range trayStyles {
		labels = append(labels, s.label)
	}
	t.trayStyle = widget.NewSelect(labels, t.setTrayStyle)
	cur := TrayStyle(a)
	for _, s := range trayStyles {
		if s.v == cur {
			t.trayStyle.SetSelected(s.label)
		}
	}
	appCard := widget.NewCard("This app", "", container.NewVBox(
		t.startAtLogin, t.loginMsg, t.notify, t.notifyPeers,
		widget.NewForm(widget.NewFormItem("Tray icon", t.trayStyle)),
	))

	t.content = container.NewVScroll(container.NewVBox(daemonCard, appCard))
	t.setDaemonEnabled(false)
	return t
}

// TrayStyle returns the tray icon style the user picked, or the OS default.
func TrayStyle(a fyne.App) assets.Variant {
	v := assets.Variant(a.Preferences().String(PrefTrayStyle))
	for _, s := range trayStyles {
		if s.v == v {
			return v
		}
	}
	return DefaultTrayStyle
}

func (t *settingsTab) setTrayStyle(label string) {
	for _, s := range trayStyles {
		if s.label == label {
			if assets.Variant(t.app.Preferences().String(PrefTrayStyle)) != s.v {
				t.app.Preferences().SetString(PrefTrayStyle, string(s.v))
			}
			if t.opts.OnTrayStyle != nil {
				t.opts.OnTrayStyle(s.v)
			}
		}
	}
}

func (t *settingsTab) setStartAtLogin(on bool) {
	if t.opts.Autostart == nil {
		return
	}
	if cur, err := t.opts.Autostart.Enabled(); err == nil && cur == on {
		return
	}
	if err := t.opts.Autostart.SetEnabled(on); err != nil {
		t.loginMsg.SetText(err.Error())
		if !errors.Is(err, autostart.ErrUnsupported) {
			t.startAtLogin.SetChecked(!on)
		}
		return
	}
	t.loginMsg.SetText("")
}

func (t *settingsTab) setDaemonEnabled(on bool) {
	for _, w := range []fyne.Disableable{t.connectOnStart, t.mdns, t.portmap, t.dht, t.dhtCheck, t.relays, t.operator, t.save} {
		setEnabled(w, on)
	}
}

func (t *settingsTab) update(m *state.Model) {
	t.model = m
	if !m.DaemonReachable() {
		t.requested = false
		t.setDaemonEnabled(false)
		return
	}
	if !t.requested {
		t.reload()
	}
}

// reload fetches the daemon's preferences into the form.
func (t *settingsTab) reload() {
	if !t.model.DaemonReachable() {
		return
	}
	if t.requested && t.dirty() {
		return // keep the user's unsaved edits
	}
	t.requested = true
	t.ctl.Prefs(func(p apitype.Prefs, err error) {
		if err != nil {
			t.msg.SetText("Could not read the daemon's settings: " + err.Error())
			return
		}
		t.show(p)
		t.setDaemonEnabled(true)
	})
}

func (t *settingsTab) show(p apitype.Prefs) {
	t.loaded = p
	t.connectOnStart.SetChecked(p.ConnectOnStart)
	t.mdns.SetChecked(p.MDNS)
	t.portmap.SetChecked(onUnlessOff(p.PortMap))
	t.dht.SetChecked(onUnlessOff(p.DHT))
	t.relays.SetText(strings.Join(p.Relays, "\n"))
	t.operator.SetText(p.Operator)
}

// dirty reports whether the form differs from the daemon's last answer.
func (t *settingsTab) dirty() bool {
	f := t.form()
	return f.ConnectOnStart != t.loaded.ConnectOnStart || f.MDNS != t.loaded.MDNS ||
		*f.PortMap != onUnlessOff(t.loaded.PortMap) || *f.DHT != onUnlessOff(t.loaded.DHT) ||
		f.Operator != t.loaded.Operator || !slices.Equal(f.Relays, t.loaded.Relays)
}

func (t *settingsTab) form() apitype.Prefs {
	var relays []string
	for _, l := range strings.Split(t.relays.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			relays = append(relays, l)
		}
	}
	portmap, dht := t.portmap.Checked, t.dht.Checked
	return apitype.Prefs{
		ConnectOnStart: t.connectOnStart.Checked,
		MDNS:           t.mdns.Checked,
		PortMap:        &portmap,
		DHT:            &dht,
		Relays:         relays,
		Operator:       strings.TrimSpace(t.operator.Text),
	}
}

// checkDHT asks the daemon (a netcheck) how its DHT node is doing.
func (t *settingsTab) checkDHT() {
	t.dhtCheck.Disable()
	t.dhtState.SetText("DHT state: checking… (a few seconds)")
	t.ctl.Netcheck(func(r apitype.Netcheck, err error) {
		t.dhtCheck.Enable()
		if err != nil {
			t.dhtState.SetText("DHT state: check failed: " + err.Error())
			return
		}
		t.dhtState.SetText("DHT state: " + state.DHTRow(r.DHT).Value)
	})
}

// onUnlessOff reads a switch that is on by default: an older daemon's
// answer without the field means on.
func onUnlessOff(b *bool) bool { return b == nil || *b }

// saveDaemon sends the form to the daemon. A relay change needs a
// reconnect: say so, and do it when the VPN is on.
func (t *settingsTab) saveDaemon() {
	p := t.form()
	relaysChanged := !slices.Equal(p.Relays, t.loaded.Relays)
	t.save.Disable()
	t.msg.SetText("Saving…")
	t.ctl.SetPrefs(p, func(got apitype.Prefs, err error) {
		t.save.Enable()
		if err != nil {
			t.msg.SetText("Not saved: " + err.Error())
			return
		}
		t.show(got)
		if !relaysChanged || !t.model.Up() {
			t.msg.SetText("Saved.")
			return
		}
		t.msg.SetText("Saved. Reconnecting to use the new relays…")
		t.ctl.Down(func(err error) {
			if err != nil {
				t.msg.SetText("Saved, but reconnecting failed: " + err.Error())
				return
			}
			t.ctl.Up(func(err error) {
				if err != nil {
					t.msg.SetText("Saved, but reconnecting failed: " + err.Error())
					return
				}
				t.msg.SetText("Saved and reconnected.")
			})
		})
	})
}
