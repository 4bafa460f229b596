//go:build gui && linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// TestQuitWithoutSessionBus runs the real app on an X display (Xvfb) with
// no session bus at all (no address, no bus socket in XDG_RUNTIME_DIR, no
// dbus-launch), lets it come up, and quits it with SIGTERM as a desktop
// logout does: it must exit cleanly. Fyne's systray used to be started
// anyway and panicked on quit (a nil godbus connection's Close).
func TestQuitWithoutSessionBus(t *testing.T) {
	display := startXvfb(t)
	dir := t.TempDir()
	for _, d := range []string{"home", "run", "bin"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "--socket", filepath.Join(dir, "no-daemon.sock"))
	cmd.Env = []string{
		appUnderTestEnv + "=1",
		"DISPLAY=" + display,
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"PATH=" + filepath.Join(dir, "bin"), // no dbus-launch to start a bus
	}
	var out syncBuffer
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { err := cmd.Wait(); w.Close(); exited <- err }()
	// The controller logs its first failed watch once the app runs.
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		signalled := false
		for sc.Scan() {
			out.WriteLine(sc.Text())
			if !signalled && strings.Contains(sc.Text(), "watch ended") {
				signalled = true
				close(up)
			}
		}
	}()
	select {
	case <-up:
	case err := <-exited:
		t.Fatalf("the app exited before it was up (%v):\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the app never came up:\n%s", out.String())
	}
	time.Sleep(500 * time.Millisecond) // the window and the event loop run
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil || strings.Contains(out.String(), "panic:") {
			t.Fatalf("quitting without a session bus: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the app did not quit on SIGTERM:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "no session bus") {
		t.Errorf("the app did not log the missing session bus:\n%s", out.String())
	}
}

// startXvfb starts a private X server and returns its display; it is
// stopped when the test ends. make test-gui installs Xvfb.
func startXvfb(t *testing.T) string {
	t.Helper()
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb is not installed (make test-gui installs it)")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{pw}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb did not start: %s", stderr.String())
		}
		return ":" + n
	case <-ctx.Done():
		t.Fatalf("Xvfb did not give its display: %s", stderr.String())
	}
	panic("unreachable")
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
