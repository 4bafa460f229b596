//go:build gui && linux

package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// appUnderTestEnv makes the test binary run the app's main instead of the
// tests (TestMain): the exec tests start the real app this way.
const appUnderTestEnv = "RAYFISH_TEST_RUN_APP"

func TestMain(m *testing.M) {
	if os.Getenv(appUnderTestEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestQuitAsUser runs the real app as an ordinary desktop user (made for
// the test when the tests run as root) on an X display of its own (Xvfb,
// run as that user), with no session bus at all (no address, no bus
// socket in XDG_RUNTIME_DIR, no dbus-launch) or with a private one (the
// user's own dbus-daemon, with or without a tray watcher), and quits it as
// people do: SIGTERM (a desktop logout), the window's close button when
// there is no tray (the window is the app then), the tray menu's Quit. It
// must exit 0 without a panic and leave no process behind. It runs under
// strace: the app must never try to write outside the user's home,
// XDG_RUNTIME_DIR and /dev (its preferences land in the home).
//
// Fyne's systray used to be started even without a session bus and
// panicked on quit (a nil godbus connection's Close).
func TestQuitAsUser(t *testing.T) {
	for _, c := range []string{"Xvfb", "dbus-daemon", "strace"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s is not installed (make test-gui installs it)", c)
		}
	}
	s := newSuite(t)
	cases := []struct {
		name string
		bus  busKind
		quit func(*testing.T, *appRun)
	}{
		{"no session bus, SIGTERM", noBus, sigterm},
		{"no session bus, window closed", noBus, closeWin},
		{"bus without a tray, window closed", busOnly, closeWin},
		{"bus and tray, SIGTERM", busWithTray, sigterm},
		{"bus and tray, tray Quit", busWithTray, trayQuit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.start(t, c.bus)
			c.quit(t, r)
			r.wantCleanExit(t)
			if c.bus == noBus && !strings.Contains(r.out.String(), "no session bus") {
				t.Errorf("the app did not log the missing session bus:\n%s", r.out.String())
			}
		})
	}
}

func sigterm(t *testing.T, r *appRun) {
	if err := syscall.Kill(r.pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// closeWin clicks the window's close button, as far as the app can tell
// (the window may take a moment to be there on a busy machine).
func closeWin(t *testing.T, r *appRun) {
	var err error
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if err = closeWindow(r.display, "rayfish"); err == nil {
			return
		}
	}
	t.Fatalf("close the window: %v\n%s", err, r.out.String())
}

// trayQuit clicks Quit in the tray menu as a panel does (sscheck click,
// as the user, over the user's session bus).
func trayQuit(t *testing.T, r *appRun) {
	cmd := r.user.command(r.suite.sscheck(t), "click", "--label", "Quit")
	cmd.Env, cmd.Dir = r.env, r.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("click Quit in the tray menu: %v\n%s\napp:\n%s", err, out, r.out.String())
	}
}

// appRun is the app started for one case.
type appRun struct {
	suite   *suite
	user    desktopUser
	dir     string // the case's directory (root's, 0755): the app's working directory
	home    string
	run     string // XDG_RUNTIME_DIR
	display string
	env     []string
	trace   string // strace's log
	cmd     *exec.Cmd
	pid     int // the app's (cmd is strace)
	out     syncBuffer
	exited  chan error
	helpers []int // pids of the user's Xvfb, dbus-daemon and watcher
}

// start starts the app as the suite's user in a session of its own and
// waits until it runs.
func (s *suite) start(t *testing.T, bus busKind) *appRun {
	r := &appRun{suite: s, user: s.user, exited: make(chan error, 1)}
	r.dir = s.mkdir(t, "")
	r.home = s.mkdir(t, "home")
	r.run = s.mkdir(t, "run")
	bin := s.mkdir(t, "bin") // an empty PATH: no dbus-launch to start a bus
	r.display = r.startXvfb(t)
	r.env = []string{
		appUnderTestEnv + "=1",
		"DISPLAY=" + r.display,
		"HOME=" + r.home,
		"XDG_RUNTIME_DIR=" + r.run,
		"PATH=" + bin,
	}
	if bus != noBus {
		r.startBus(t, bus == busWithTray)
	}
	r.trace = filepath.Join(r.run, "strace.log") // strace runs as the user too
	r.cmd = exec.Command("strace", "-f", "--seccomp-bpf", "-qq", "-e", "signal=none", "-y", "-s", "512", "-o", r.trace, "-e", "trace="+writeSyscalls,
		s.app, "--socket", filepath.Join(r.dir, "no-daemon.sock"))
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.user.cred, Setpgid: true}
	r.cmd.Env, r.cmd.Dir = r.env, r.dir
	pr, pw := io.Pipe()
	r.cmd.Stdout, r.cmd.Stderr = pw, pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL) })
	go func() { err := r.cmd.Wait(); pw.Close(); r.exited <- err }()
	// The controller logs its first failed watch once the app runs.
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			r.out.WriteLine(sc.Text())
			if !signalled && strings.Contains(sc.Text(), "watch ended") {
				signalled = true
				close(up)
			}
		}
	}()
	select {
	case <-up:
	case err := <-r.exited:
		t.Fatalf("the app exited before it was up (%v):\n%s", err, r.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the app never came up:\n%s", r.out.String())
	}
	r.pid = childOf(t, r.cmd.Process.Pid)
	time.Sleep(500 * time.Millisecond) // the window and the event loop run
	return r
}

// wantCleanExit waits for the app to exit after a quit and checks it
// exited 0 without a panic, left no process, wrote only where it may, and
// kept its preferences in the home.
func (r *appRun) wantCleanExit(t *testing.T) {
	select {
	case err := <-r.exited:
		if err != nil || strings.Contains(r.out.String(), "panic:") {
			t.Fatalf("quitting: %v\n%s", err, r.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the app did not quit:\n%s", r.out.String())
	}
	if left := r.leftovers(t); len(left) > 0 {
		t.Errorf("processes left after the app quit: %s", strings.Join(left, "; "))
	}
	trace, err := os.ReadFile(r.trace)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{r.home, r.run, "/dev/"}
	bad, good := badWrites(string(trace), r.dir, allowed)
	if len(bad) > 0 {
		t.Errorf("the app tried to write outside %v:\n%s", allowed, strings.Join(bad, "\n"))
	}
	if good == 0 { // it writes its preferences at least: strace saw nothing
		t.Errorf("strace recorded no write of the app's:\n%s", trace)
	}
	prefs := filepath.Join(r.home, ".config", "fyne", "dev.rayfish.app", "preferences.json")
	if fi, err := os.Stat(prefs); err != nil {
		t.Errorf("no preferences in the user's home: %v", err)
	} else if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != r.user.uid {
		t.Errorf("%s belongs to uid %d, want the user's %d", prefs, uid, r.user.uid)
	}
}
