//go:build gui && linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rayfish/rayfish/test/osuser"
)

// busKind is the session bus a case gives the app.
type busKind int

const (
	noBus       busKind = iota
	busOnly             // a private session bus, nothing owning the tray watcher name (stock GNOME)
	busWithTray         // a private session bus with a StatusNotifierWatcher (sscheck watcher)
)

// desktopUser is the ordinary user the app runs as: a user made for the
// test when the tests run as root, else the (non-root) user running them.
type desktopUser struct {
	cred *syscall.Credential // nil: the current user
	uid  int
}

func (u desktopUser) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	return cmd
}

// suite is what the cases share: the user, a directory the user can
// enter, a copy of the test binary there (the app), and sscheck.
type suite struct {
	user desktopUser
	base string // root's, 0755
	app  string

	once     sync.Once
	sscheckP string
	buildErr error
}

func newSuite(t *testing.T) *suite {
	s := &suite{user: desktopUser{uid: os.Geteuid()}}
	if os.Geteuid() == 0 {
		u := osuser.Ensure(t, "rfdesk")
		s.user = desktopUser{cred: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}, uid: u.UID}
	}
	base, err := os.MkdirTemp("", "rfquit")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s.base = base
	// go test's own directories are root's 0700: the user runs a copy.
	s.app = filepath.Join(base, "rayfish.test")
	if out, err := exec.Command("cp", os.Args[0], s.app).CombinedOutput(); err != nil {
		t.Fatalf("copy the app: %v: %s", err, out)
	}
	if err := os.Chmod(s.app, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// sscheck builds test/screenshots/sscheck (the screenshots' tray watcher
// and menu clicker) once.
func (s *suite) sscheck(t *testing.T) string {
	s.once.Do(func() {
		s.sscheckP = filepath.Join(s.base, "sscheck")
		// go test puts the go command that runs it first in PATH.
		cmd := exec.Command("go", "build", "-o", s.sscheckP, "github.com/rayfish/rayfish/test/screenshots/sscheck")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			s.buildErr = fmt.Errorf("build sscheck: %v\n%s", err, out)
		}
	})
	if s.buildErr != nil {
		t.Fatal(s.buildErr)
	}
	return s.sscheckP
}

var caseDirs int

// mkdir makes a directory for the current case: "" is the case's own
// (root's, 0755), others are the user's (0700) inside the last one.
func (s *suite) mkdir(t *testing.T, name string) string {
	if name == "" {
		caseDirs++
		d := filepath.Join(s.base, "case"+strconv.Itoa(caseDirs))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := filepath.Join(s.base, "case"+strconv.Itoa(caseDirs), name)
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if c := s.user.cred; c != nil {
		if err := os.Chown(d, int(c.Uid), int(c.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// startHelper starts one of the user's session processes (stopped when the
// test ends) and records it as not the app's.
func (r *appRun) startHelper(t *testing.T, cmd *exec.Cmd) *syncBuffer {
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if cmd.Env == nil {
		cmd.Env = r.env
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.helpers = append(r.helpers, cmd.Process.Pid)
	t.Cleanup(func() { stop(cmd) })
	return &out
}

// stop ends cmd with SIGTERM, so that Xvfb removes its lock and socket,
// then SIGKILL if it is still there after 5 s.
func stop(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// startXvfb starts the user's X server and returns its display.
func (r *appRun) startXvfb(t *testing.T) string {
	if err := os.MkdirAll("/tmp/.X11-unix", 0o1777); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := r.user.command("Xvfb", "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Env = []string{"HOME=" + r.home}
	out := r.startHelper(t, cmd)
	pw.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb did not start: %s", out.String())
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not give its display: %s", out.String())
	}
	panic("unreachable")
}

// startBus starts the user's session bus in XDG_RUNTIME_DIR and, with
// tray, a StatusNotifierWatcher on it; it adds the bus to r.env.
func (r *appRun) startBus(t *testing.T, tray bool) {
	sock := filepath.Join(r.run, "bus")
	bus := r.startHelper(t, r.user.command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address=unix:path="+sock))
	waitFor(t, "the session bus: "+bus.String(), func() bool { _, err := os.Stat(sock); return err == nil })
	r.env = append(r.env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)
	if !tray {
		return
	}
	ready := filepath.Join(r.run, "watcher.ready")
	w := r.startHelper(t, r.user.command(r.suite.sscheck(t), "watcher", "--ready", ready))
	waitFor(t, "the tray watcher: "+w.String(), func() bool { _, err := os.Stat(ready); return err == nil })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// procStat is a process's parent, process group and owner.
type procStat struct {
	pid, ppid, pgid, uid int
	comm                 string
}

func processes() []procStat {
	ents, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b)[i+1:])
		if i < 0 || len(f) < 3 {
			continue
		}
		fi, err := os.Stat("/proc/" + e.Name())
		if err != nil {
			continue
		}
		p := procStat{pid: pid, uid: int(fi.Sys().(*syscall.Stat_t).Uid), comm: string(b)[strings.IndexByte(string(b), '(')+1 : i]}
		p.ppid, _ = strconv.Atoi(f[1])
		p.pgid, _ = strconv.Atoi(f[2])
		out = append(out, p)
	}
	return out
}

// childOf returns the pid of parent's child (the app under strace).
func childOf(t *testing.T, parent int) int {
	t.Helper()
	var pid int
	waitFor(t, "the app under strace", func() bool {
		for _, p := range processes() {
			if p.ppid == parent {
				pid = p.pid
				return true
			}
		}
		return false
	})
	return pid
}

// leftovers lists the processes still in the app's process group and,
// when the app ran as a user of its own, that user's processes other than
// the session's helpers and what the session bus started.
func (r *appRun) leftovers(t *testing.T) []string {
	var left []string
	pgid := r.cmd.Process.Pid
	for _, p := range processes() {
		ours := p.pgid == pgid
		if r.user.cred != nil && p.uid == r.user.uid && !slices.Contains(r.helpers, p.pid) && !slices.Contains(r.helpers, p.ppid) {
			ours = true
		}
		if ours {
			left = append(left, fmt.Sprintf("%d %s (parent %d)", p.pid, p.comm, p.ppid))
		}
	}
	return left
}

// writeSyscalls are the calls that create, change or remove files, traced
// by strace (opens are checked for write flags).
const writeSyscalls = "open,openat,creat,mkdir,mkdirat,rmdir,unlink,unlinkat,rename,renameat,renameat2," +
	"link,linkat,symlink,symlinkat,truncate,chmod,fchmodat,chown,lchown,fchownat,mknod,mknodat,bind"

var (
	// pid call(args) = result, or a call another thread interrupted, as
	// strace -f -y prints them.
	traceLine = regexp.MustCompile(`^(?:\d+\s+)?(\w+)\((.*?)(?:\) += .*| <unfinished \.\.\.>)$`)
	// A quoted path, with the fd it is relative to when strace -y shows
	// one; @ marks an abstract socket name.
	tracePath = regexp.MustCompile(`(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?(@)?"([^"]*)"`)
)

// badWrites returns the traced calls that created, changed or removed a
// file (or bound a socket) outside the allowed directories, and counts
// those inside; relative paths are relative to cwd unless strace shows the
// directory fd's path.
func badWrites(trace, cwd string, allowed []string) (bad []string, good int) {
	for _, line := range strings.Split(trace, "\n") {
		m := traceLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		call, args := m[1], m[2]
		if (call == "open" || call == "openat") && !strings.Contains(args, "O_WRONLY") &&
			!strings.Contains(args, "O_RDWR") && !strings.Contains(args, "O_CREAT") && !strings.Contains(args, "O_TRUNC") {
			continue
		}
		for _, pm := range tracePath.FindAllStringSubmatch(args, -1) {
			p := pm[3]
			if p == "" || pm[2] == "@" {
				continue
			}
			if !filepath.IsAbs(p) {
				dir := cwd
				if pm[1] != "" {
					dir = pm[1]
				}
				p = filepath.Join(dir, p)
			}
			p = filepath.Clean(p)
			if slices.ContainsFunc(allowed, func(a string) bool { return p == a || strings.HasPrefix(p, strings.TrimSuffix(a, "/")+"/") }) {
				good++
			} else {
				bad = append(bad, line)
			}
		}
	}
	return bad, good
}

// syncBuffer collects a process's output written from other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteLine(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(&s.b, l)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBadWrites: writes outside the allowed directories are found in
// strace -f -y output, whatever the form; reads and abstract sockets are
// not writes.
func TestBadWrites(t *testing.T) {
	trace := strings.Join([]string{
		`13060 openat(AT_FDCWD</tmp/c>, "/home/u/.config/x.json", O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 9</home/u/.config/x.json>`,
		`13060 bind(7<socket:[1]>, {sa_family=AF_UNIX, sun_path="/run/u/app.sock"}, 50) = 0`,
		`13060 bind(7<socket:[2]>, {sa_family=AF_UNIX, sun_path=@"/tmp/dbus-abc"}, 20) = 0`,
		`13060 openat(AT_FDCWD</tmp/c>, "/etc/fonts/fonts.conf", O_RDONLY|O_CLOEXEC) = 3</etc/fonts/fonts.conf>`,
		`13061 openat(AT_FDCWD</tmp/c>, "/dev/null", O_RDWR|O_CLOEXEC) = 4</dev/null>`,
		`13060 mkdirat(AT_FDCWD</tmp/c>, "/etc/rayfish", 0700) = -1 EACCES (Permission denied)`,
		`13060 openat(AT_FDCWD</tmp/c>, "prefs.json", O_WRONLY|O_CREAT|O_TRUNC, 0644) = -1 EACCES (Permission denied)`,
		`13062 openat(5</var/lib>, "x", O_WRONLY|O_CREAT <unfinished ...>`,
		`13060 renameat(AT_FDCWD</tmp/c>, "/home/u/a", AT_FDCWD</tmp/c>, "/home/u/../../etc/b") = -1 EACCES (Permission denied)`,
		`13060 unlinkat(AT_FDCWD</tmp/c>, "/home/u2/x", 0) = -1 ENOENT (No such file or directory)`,
		`13060 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=13060, si_uid=1001} ---`,
	}, "\n")
	bad, good := badWrites(trace, "/tmp/c", []string{"/home/u", "/run/u", "/dev/"})
	var want []string
	for _, l := range strings.Split(trace, "\n") {
		if strings.Contains(l, "etc/") && !strings.Contains(l, "O_RDONLY") || strings.Contains(l, "prefs.json") ||
			strings.Contains(l, "/var/lib") || strings.Contains(l, "/home/u2") {
			want = append(want, l)
		}
	}
	if !slices.Equal(bad, want) || good != 4 || len(want) != 5 {
		t.Errorf("bad writes:\n%s\nwant:\n%s\n(%d inside, want 4)", strings.Join(bad, "\n"), strings.Join(want, "\n"), good)
	}
}
