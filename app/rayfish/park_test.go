//go:build gui && linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestHiddenAppSleeps runs the real app in the tray (--hidden, on its own
// Xvfb and session bus with a stand-in tray watcher) and checks that its
// main thread, which runs Fyne's loop, sleeps while no window shows: it
// wakes a few times a second (ui.Parker's slices) instead of 60. Then it
// quits the parked app as a user and a logout do: the tray menu's Quit,
// and SIGTERM; each must exit cleanly and promptly.
func TestHiddenAppSleeps(t *testing.T) {
	for _, quit := range []string{"tray", "sigterm"} {
		t.Run(quit, func(t *testing.T) {
			app := startTrayApp(t)
			// Let the tray and the first failed watch settle, then count
			// the main thread's wakeups.
			time.Sleep(time.Second)
			const span = 2 * time.Second
			before := switches(t, app.pid)
			time.Sleep(span)
			woke := switches(t, app.pid) - before
			t.Logf("main thread: %d context switches in %v while hidden", woke, span)
			// 60 Hz is at least 120 in 2 s; parked in 250 ms slices 15-35.
			if woke > 60 {
				t.Errorf("the hidden app's main thread woke %d times in %v: Fyne's loop still runs at full pace", woke, span)
			}

			start := time.Now()
			if quit == "tray" {
				app.clickTray(t, "Quit")
			} else if err := syscall.Kill(app.pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-app.exited:
				if err := app.err; err != nil || strings.Contains(app.out.String(), "panic:") {
					t.Fatalf("quit (%s) while hidden: %v\n%s", quit, err, app.out.String())
				}
			case <-time.After(20 * time.Second):
				syscall.Kill(app.pid, syscall.SIGKILL)
				t.Fatalf("the hidden app did not quit (%s):\n%s", quit, app.out.String())
			}
			t.Logf("quit (%s) took %v", quit, time.Since(start))
		})
	}
}

// trayApp is the app under test, started in the tray.
type trayApp struct {
	pid    int
	exited chan struct{} // closed when the app exited, with err
	err    error
	out    *syncBuffer
	conn   *dbus.Conn // the test's connection to the app's session bus
	item   string     // the app's StatusNotifierItem: "busname/path"
}

// startTrayApp starts a private X server, session bus and tray watcher,
// and the app with --hidden against no daemon; it returns once the app's
// tray item registered. Everything stops when the test ends.
func startTrayApp(t *testing.T) *trayApp {
	t.Helper()
	busd, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon is not installed (make test-gui installs it)")
	}
	display := privateDisplay(t)
	dir := t.TempDir()
	for _, d := range []string{"home", "run", "home/.config/fyne/dev.rayfish.app"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Not a first start, which shows the window even with --hidden.
	prefs := filepath.Join(dir, "home/.config/fyne/dev.rayfish.app/preferences.json")
	if err := os.WriteFile(prefs, []byte(`{"first_run_done":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "unix:path=" + filepath.Join(dir, "run", "bus")
	bus := exec.Command(busd, "--session", "--nofork", "--nopidfile", "--address="+addr)
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	conn := dialBus(t, addr)
	registered := serveWatcher(t, conn)

	cmd := exec.Command(os.Args[0], "--hidden", "--socket", filepath.Join(dir, "no-daemon.sock"))
	cmd.Env = []string{
		appUnderTestEnv + "=1",
		"DISPLAY=" + display,
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "home/.config"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"DBUS_SESSION_BUS_ADDRESS=" + addr,
		"PATH=/usr/bin:/bin",
	}
	app := &trayApp{exited: make(chan struct{}), out: &syncBuffer{}, conn: conn}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	app.pid = cmd.Process.Pid
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			app.out.WriteLine(sc.Text())
		}
		r.Close()
	}()
	go func() { app.err = cmd.Wait(); close(app.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-app.exited
	})
	select {
	case app.item = <-registered:
	case <-app.exited:
		t.Fatalf("the app exited before its tray was up (%v):\n%s", app.err, app.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the app's tray item never registered:\n%s", app.out.String())
	}
	return app
}

// privateDisplay starts an X server of the test's own (Xvfb picks a free
// display number) and returns its display. It does not lean on the other
// exec tests' helpers, which are being reworked.
func privateDisplay(t *testing.T) string {
	t.Helper()
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb is not installed (make test-gui installs it)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Xvfb writes the display number once it accepts clients; a dead
	// Xvfb closes the pipe.
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := bufio.NewReader(r).ReadString('\n')
	if n = strings.TrimSpace(n); n == "" {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	return ":" + n
}

func dialBus(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := dbus.Connect(addr)
		if err == nil {
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect to the test's session bus: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testWatcher is the least StatusNotifierWatcher Fyne's tray registers
// with; it hands each registered item ("busname/path") to items.
type testWatcher struct{ items chan string }

func (w *testWatcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	item := string(sender) + service
	if !strings.HasPrefix(service, "/") {
		item = string(sender) + "/StatusNotifierItem"
	}
	select {
	case w.items <- item:
	default:
	}
	return nil
}

func (w *testWatcher) RegisterStatusNotifierHost(dbus.Sender, string) *dbus.Error { return nil }

// serveWatcher owns org.kde.StatusNotifierWatcher on conn's bus, so the
// app sees a tray (ui.TrayAvailable) and registers its item.
func serveWatcher(t *testing.T, conn *dbus.Conn) <-chan string {
	t.Helper()
	const name, path = "org.kde.StatusNotifierWatcher", dbus.ObjectPath("/StatusNotifierWatcher")
	w := &testWatcher{items: make(chan string, 4)}
	if err := conn.Export(w, path, name); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v (reply %v)", name, err, reply)
	}
	return w.items
}

// clickTray clicks the tray menu item labelled label as a panel does
// (com.canonical.dbusmenu Event "clicked").
func (a *trayApp) clickTray(t *testing.T, label string) {
	t.Helper()
	i := strings.IndexByte(a.item, '/')
	if i <= 0 {
		t.Fatalf("malformed tray item %q", a.item)
	}
	bus, path := a.item[:i], dbus.ObjectPath(a.item[i:])
	v, err := a.conn.Object(bus, path).GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		t.Fatalf("the tray item's menu: %v", err)
	}
	menuPath, _ := v.Value().(dbus.ObjectPath)
	menu := a.conn.Object(bus, menuPath)
	var rev uint32
	var layout any
	if err := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
		t.Fatalf("read the tray menu: %v", err)
	}
	id, ok := findItem(layout, label)
	if !ok {
		t.Fatalf("no %q in the tray menu %v", label, layout)
	}
	if err := menu.Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(int32(0)), uint32(time.Now().Unix())).Err; err != nil {
		t.Fatalf("click %q: %v", label, err)
	}
}

// findItem finds the item labelled label in a dbusmenu layout (ia{sv}av).
func findItem(node any, label string) (int32, bool) {
	fields, ok := node.([]any)
	if !ok || len(fields) != 3 {
		return 0, false
	}
	props, _ := fields[1].(map[string]dbus.Variant)
	if l, _ := props["label"].Value().(string); l == label {
		id, _ := fields[0].(int32)
		return id, true
	}
	children, _ := fields[2].([]dbus.Variant)
	for _, c := range children {
		if id, ok := findItem(c.Value(), label); ok {
			return id, true
		}
	}
	return 0, false
}

// switches is how many times the process's main thread (which runs
// Fyne's loop) has been switched out so far: every wakeup of a sleeping
// thread ends in one.
func switches(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
			c, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			n += c
		}
	}
	return n
}
