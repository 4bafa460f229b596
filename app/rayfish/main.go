//go:build gui

// Command rayfish is the desktop tray app: a client of the rayfish
// daemon's local API showing status, peers and networks, with a tray menu
// and a main window. Build it with `make gui` (cgo, -tags gui).
//
// A second launch does not start a second app: it asks the running one to
// show its window, and exits.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/autostart"
	"github.com/rayfish/rayfish/ui/notify"
	"github.com/rayfish/rayfish/ui/single"
	"github.com/rayfish/rayfish/ui/state"
	"github.com/rayfish/rayfish/ui/tray"
	"github.com/rayfish/rayfish/ui/views"
)

// version overrides buildinfo.Version: -ldflags "-X main.version=1.2.3".
var version string

// App preference keys used here (the views own the others).
const (
	prefFirstRunDone = "first_run_done"
	prefTrayHintSeen = "tray_hint_seen"
)

func main() {
	socket := flag.String("socket", "", "daemon socket (default $"+ui.SocketEnv+" or "+ui.DefaultSocket+")")
	hidden := flag.Bool("hidden", false, "start in the tray without opening the window")
	atLogin := flag.Bool(autostart.AutostartFlag, false, "started at login by the machine-wide entry (Windows): exit if this user turned start at login off")
	// For `make screenshots` (test/screenshots): open the window on a tab,
	// or on an invite code for a network once the daemon lists it.
	tab := flag.String("tab", "", "open the window on this tab: peers, map, networks, join, firewall, diagnostics, settings or about (default: the tab open last time)")
	invite := flag.String("invite", "", "open the window on a new invite code for this network")
	flag.Parse()
	// One P unless the environment says otherwise: the app is a thin
	// client (the daemon does the work), and with a P per core each of
	// Fyne's 60 wakeups a second on the locked main thread also woke idle
	// Ps to look for work (runtime.findRunnable and netpoll were a fifth
	// of the idle window's CPU; make app-cpu, Peers tab: 0.1-0.7 points
	// less in six paired rounds).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if exe, _ := os.Executable(); autostart.Suppressed(autostart.Default(exe), *atLogin) {
		return
	}
	opts := options{hidden: *hidden || *atLogin, tab: views.Tab(*tab), invite: *invite}
	if f := os.Getenv(cpuProfileEnv); f != "" {
		stop, err := startCPUProfile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rayfish:", err)
			os.Exit(1)
		}
		defer stop()
	}
	if err := run(ui.SocketPath(*socket), opts); err != nil {
		fmt.Fprintln(os.Stderr, "rayfish:", err)
		os.Exit(1)
	}
}

// cpuProfileEnv names a file for a CPU profile of the whole run, written
// when the app quits (test/screenshots/appcpu.sh).
const cpuProfileEnv = "RAYFISH_CPUPROFILE"

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func appVersion() string {
	if version != "" {
		return version
	}
	return buildinfo.Version
}

// options are the command line's choices for the window.
type options struct {
	hidden bool      // start in the tray
	tab    views.Tab // the tab to open the window on
	invite string    // a network to show a new invite code for
}

func run(socket string, opts options) error {
	logger := log.New(os.Stderr, "", log.LstdFlags)

	// While no window shows, the UI goroutine sleeps in slices instead of
	// turning Fyne's loop 60 times a second; our callbacks run through
	// parker.Do, at once even while it sleeps.
	parker := ui.NewParker(fyne.Do, ui.DefaultParkSlice)

	// Single instance: a second launch shows the first one's window.
	var showFirst func()
	instPath, err := single.DefaultPath()
	if err != nil {
		return err
	}
	inst, err := single.Listen(instPath, func() {
		if showFirst != nil {
			parker.Do(showFirst)
		}
	})
	if errors.Is(err, single.ErrRunning) {
		return nil
	}
	if err != nil {
		// Not fatal: the app works, a second launch just starts another.
		logger.Printf("rayfish: single instance: %v", err)
	} else {
		defer inst.Close()
	}

	// A plain `go build` carries no FyneApp.toml metadata; without a name,
	// Fyne would title the tray item with the app id.
	app.SetMetadata(fyne.AppMetadata{ID: autostart.AppID, Name: "rayfish", Version: appVersion()})
	a := app.NewWithID(autostart.AppID)
	a.SetIcon(fyne.NewStaticResource("rayfish.png", assets.AppIcon()))

	ctl := ui.New(ui.Config{
		Client:     client.New(socket),
		Socket:     socket,
		AppVersion: appVersion(),
		Dispatch:   parker.Do,
		// A second's burst of counter events is one redraw.
		Coalesce: 100 * time.Millisecond,
		Logf:     logger.Printf,
	})
	defer ctl.Close()

	trayOK, err := ui.TrayAvailable()
	if err != nil {
		logger.Printf("rayfish: tray check: %v", err)
	}
	// Without a session bus there is no tray, and starting Fyne's anyway
	// would panic on quit: the window is the app then.
	trayOK = ui.TrayUsable(trayOK, err)
	desk, isDesktop := a.(desktop.App)
	trayOK = trayOK && isDesktop

	prefs := a.Preferences()
	hint := ""
	switch {
	case !trayOK && !prefs.Bool(prefTrayHintSeen):
		hint = ui.TrayHint
		prefs.SetBool(prefTrayHintSeen, true)
	case trayOK && runtime.GOOS == "windows" && !prefs.Bool(prefFirstRunDone):
		hint = ui.TrayHint
	}
	firstRun := !prefs.Bool(prefFirstRunDone)
	prefs.SetBool(prefFirstRunDone, true)

	var tr *tray.Tray
	exe, _ := os.Executable()
	win := views.NewMain(a, ctl, views.Options{
		Autostart: autostart.Default(exe, "--hidden"),
		Hint:      hint,
		OnVisible: func(shown bool) {
			// Hidden, the app shows no counters: a quiet watch
			// stream leaves them out (issue 18).
			ctl.SetQuiet(!shown)
			if shown {
				parker.Shown()
			} else {
				parker.Hidden()
			}
		},
		OnTrayStyle: func(v assets.Variant) {
			if tr != nil {
				tr.SetVariant(v)
				tr.Update(ctl.Model())
			}
		},
	})
	showFirst = func() { win.Show("") }

	quit := func() { parker.Stop(); win.SaveLayout(); a.Quit() }
	if trayOK {
		tr = tray.New(tray.Host{
			SetMenu:    desk.SetSystemTrayMenu,
			SetIcon:    desk.SetSystemTrayIcon,
			SetTooltip: systray.SetTooltip,
		}, tray.Actions{
			Connect:     func() { ctl.Up(nil) },
			Disconnect:  func() { ctl.Down(nil) },
			StartDaemon: func() { win.Show(""); win.StartDaemon() },
			Show:        win.Show,
			Copy:        func(what, text string) { views.Copy(a, what, text) },
			UseExitNode: func(id string) { ctl.UseExitNode(id, win.ShowError) },
			Quit:        quit,
		}, views.TrayStyle(a))
	} else {
		// No tray to come back from: closing the window quits.
		win.Window().SetCloseIntercept(quit)
	}

	// Join requests get an Approve button where notifications have
	// buttons (Linux with a notification server that shows them).
	notifier := &views.Notifier{App: a, Ctl: ctl}
	if an, err := notify.New(parker.Do); err == nil {
		defer an.Close()
		notifier.Actions = an
	} else if !errors.Is(err, notify.ErrUnsupported) {
		logger.Printf("rayfish: notifications without buttons: %v", err)
	}

	invitePending := opts.invite != ""
	ctl.OnChange(func(m *state.Model) {
		if tr != nil {
			tr.Update(m)
		}
		win.Update(m)
		notifier.Notify(m.TakeNotices())
		if invitePending && slices.ContainsFunc(m.Networks(), func(n apitype.Network) bool { return n.Name == opts.invite }) {
			invitePending = false
			win.Invite(opts.invite)
		}
	})
	if tr != nil {
		tr.Update(ctl.Model())
	}

	a.Lifecycle().SetOnStarted(func() {
		// A launch by hand shows the window (seeing nothing looks like a
		// crash); the login autostart passes --hidden, and then the
		// first watch stream is already the quiet one.
		show := !opts.hidden || !trayOK || firstRun || hint != ""
		ctl.SetQuiet(!show)
		ctl.Start()
		if show {
			win.Show(opts.tab)
		} else {
			parker.Hidden()
		}
	})
	a.Run()
	return nil
}
