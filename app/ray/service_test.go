package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/platform/service"
)

// fakeManager records the service operations asked of it.
type fakeManager struct {
	status    service.Status
	statusErr error
	failOn    map[string]error
	calls     []string
}

func (m *fakeManager) do(op string) error {
	m.calls = append(m.calls, op)
	return m.failOn[op]
}
func (m *fakeManager) Install() error   { return m.do("install") }
func (m *fakeManager) Uninstall() error { return m.do("uninstall") }
func (m *fakeManager) Start() error     { return m.do("start") }
func (m *fakeManager) Stop() error      { return m.do("stop") }
func (m *fakeManager) Restart() error   { return m.do("restart") }
func (m *fakeManager) Status() (service.Status, error) {
	return m.status, m.statusErr
}
func (m *fakeManager) Platform() string { return "fake-init" }

type testEnv struct {
	*svcEnv
	m        *fakeManager
	spec     service.Spec // as given to manager
	waited   []string     // sockets waited on
	notReady error
	elevated [][]string
	mkdirs   []string
}

func newTestEnv(admin bool, m *fakeManager) *testEnv {
	te := &testEnv{m: m}
	te.svcEnv = &svcEnv{
		goos:       "linux",
		isAdmin:    func() bool { return admin },
		executable: func() (string, error) { return "/usr/bin/ray", nil },
		manager: func(s service.Spec) (service.Manager, error) {
			te.spec = s
			return m, nil
		},
		answering: func(_ context.Context, socket string, _ time.Duration) error {
			te.waited = append(te.waited, socket)
			return te.notReady
		},
		interactive: true,
		exists:      func(string) bool { return false },
		mkdirAll: func(p string) error {
			te.mkdirs = append(te.mkdirs, p)
			return nil
		},
	}
	return te
}

func runCmd(t *testing.T, f func(context.Context, *cli, []string) error, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := &cli{socket: "/run/rayfish/rayfish.sock", out: &out, errw: io.Discard}
	err := f(context.Background(), c, args)
	return out.String(), err
}

func notInstalled() *fakeManager { return &fakeManager{statusErr: service.ErrNotInstalled} }

func TestServiceCommandsRegistered(t *testing.T) {
	for _, name := range []string{"install", "uninstall", "start", "stop", "restart", "service-run"} {
		if commands[name] == nil {
			t.Errorf("command %q not registered", name)
		}
	}
}

func TestServiceCommandsNeedAdmin(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		te := newTestEnv(false, &fakeManager{status: service.StatusRunning})
		te.goos = goos
		cmds := map[string]func(context.Context, *cli, []string) error{
			"install": te.install, "uninstall": te.uninstall, "start": te.start, "stop": te.stop, "restart": te.restart,
		}
		for name, f := range cmds {
			_, err := runCmd(t, f)
			var ec exitCode
			if !errors.As(err, &ec) || ec.code != 1 {
				t.Fatalf("%s %s without privileges: %v, want exit code 1", goos, name, err)
			}
			want := "needs root: run `sudo ray " + name + "`"
			if goos == "windows" {
				want = "needs Administrator rights"
			}
			if !strings.Contains(ec.msg, want) {
				t.Errorf("%s %s: message %q lacks %q", goos, name, ec.msg, want)
			}
		}
		if len(te.m.calls) != 0 {
			t.Errorf("%s: service operations without privileges: %v", goos, te.m.calls)
		}
	}
}

func TestStartInstallsWhenMissing(t *testing.T) {
	te := newTestEnv(true, notInstalled())
	out, err := runCmd(t, te.start, "--state-dir", "/srv/rayfish")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"install", "start"}; !reflect.DeepEqual(te.m.calls, want) {
		t.Errorf("calls = %v, want %v", te.m.calls, want)
	}
	wantArgs := []string{"service-run", "--state-dir", "/srv/rayfish", "--socket", te.spec.Socket}
	if !reflect.DeepEqual(te.spec.Args(), wantArgs) || te.spec.Executable != "/usr/bin/ray" {
		t.Errorf("service spec = %+v", te.spec)
	}
	if len(te.waited) != 1 || te.waited[0] != te.spec.Socket {
		t.Errorf("waited on %v, want the service's socket %s", te.waited, te.spec.Socket)
	}
	if !strings.Contains(out, "installed service rayfish") || !strings.Contains(out, "started; the daemon answers") {
		t.Errorf("output:\n%s", out)
	}
}

func TestStartAlreadyRunning(t *testing.T) {
	te := newTestEnv(true, &fakeManager{status: service.StatusRunning})
	if _, err := runCmd(t, te.start); err != nil {
		t.Fatal(err)
	}
	if len(te.m.calls) != 0 {
		t.Errorf("calls = %v, want none", te.m.calls)
	}
	if len(te.waited) != 1 {
		t.Error("did not check that the daemon answers")
	}
}

func TestStartDaemonNotAnswering(t *testing.T) {
	te := newTestEnv(true, &fakeManager{status: service.StatusStopped})
	te.notReady = errors.New("connection refused")
	_, err := runCmd(t, te.start)
	var ec exitCode
	if !errors.As(err, &ec) || !strings.Contains(ec.msg, "does not answer") || !strings.Contains(ec.msg, "journalctl -u rayfish") {
		t.Errorf("err = %v", err)
	}
	if !reflect.DeepEqual(te.m.calls, []string{"start"}) {
		t.Errorf("calls = %v", te.m.calls)
	}
}

func TestStartBadFlags(t *testing.T) {
	te := newTestEnv(true, notInstalled())
	for _, args := range [][]string{{"--state-dir", "relative/dir"}, {"--bogus"}, {"extra"}} {
		_, err := runCmd(t, te.start, args...)
		var ec exitCode
		if !errors.As(err, &ec) || ec.code != 2 {
			t.Errorf("start %q = %v, want a usage error", args, err)
		}
	}
	if len(te.m.calls) != 0 {
		t.Errorf("calls = %v", te.m.calls)
	}
}

func TestInstall(t *testing.T) {
	te := newTestEnv(true, notInstalled())
	out, err := runCmd(t, te.install)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(te.m.calls, []string{"install"}) {
		t.Errorf("calls = %v", te.m.calls)
	}
	if !strings.Contains(out, "/usr/bin/ray service-run --state-dir /var/lib/rayfish") {
		t.Errorf("output:\n%s", out)
	}

	te = newTestEnv(true, &fakeManager{status: service.StatusStopped})
	out, err = runCmd(t, te.install)
	if err != nil || len(te.m.calls) != 0 || !strings.Contains(out, "already installed") {
		t.Errorf("install over an installed service: %v %v %q", err, te.m.calls, out)
	}

	te = newTestEnv(true, &fakeManager{statusErr: service.ErrNotInstalled, failOn: map[string]error{"install": errors.New("Init already exists")}})
	if _, err := runCmd(t, te.install); err == nil || !strings.Contains(err.Error(), "Init already exists") {
		t.Errorf("install failure not reported: %v", err)
	}
}

func TestUninstall(t *testing.T) {
	te := newTestEnv(true, &fakeManager{status: service.StatusRunning})
	if _, err := runCmd(t, te.uninstall); err != nil {
		t.Fatal(err)
	}
	if want := []string{"stop", "uninstall"}; !reflect.DeepEqual(te.m.calls, want) {
		t.Errorf("calls = %v, want %v", te.m.calls, want)
	}

	te = newTestEnv(true, notInstalled())
	out, err := runCmd(t, te.uninstall)
	if err != nil || len(te.m.calls) != 0 || !strings.Contains(out, "not installed") {
		t.Errorf("uninstall of a missing service: %v %v %q", err, te.m.calls, out)
	}
}

func TestUninstallPackaged(t *testing.T) {
	te := newTestEnv(true, &fakeManager{status: service.StatusRunning})
	te.exists = func(p string) bool { return p == "/lib/systemd/system/rayfish.service" }
	_, err := runCmd(t, te.uninstall)
	if err == nil || !strings.Contains(err.Error(), "apt remove rayfish") {
		t.Errorf("uninstall of the packaged service: %v", err)
	}
	if len(te.m.calls) != 0 {
		t.Errorf("calls = %v", te.m.calls)
	}
	// Installed by `ray install` (unit in /etc): uninstall goes ahead.
	te = newTestEnv(true, &fakeManager{status: service.StatusStopped})
	te.exists = func(p string) bool { return strings.HasSuffix(p, "rayfish.service") }
	if _, err := runCmd(t, te.uninstall); err != nil || !reflect.DeepEqual(te.m.calls, []string{"uninstall"}) {
		t.Errorf("uninstall: %v %v", err, te.m.calls)
	}
}

func TestInstallDarwinCreatesLogDir(t *testing.T) {
	te := newTestEnv(true, notInstalled())
	te.goos = "darwin"
	te.executable = func() (string, error) { return "/usr/local/bin/ray", nil }
	out, err := runCmd(t, te.install)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(te.mkdirs, []string{"/Library/Logs/rayfish"}) {
		t.Errorf("mkdirs = %v", te.mkdirs)
	}
	if te.spec.ServiceName() != "dev.rayfish.daemon" || !strings.Contains(out, "dev.rayfish.daemon") {
		t.Errorf("service %q, output %q", te.spec.ServiceName(), out)
	}
	if !reflect.DeepEqual(te.m.calls, []string{"install"}) {
		t.Errorf("calls = %v", te.m.calls)
	}
}

func TestStopAndRestart(t *testing.T) {
	te := newTestEnv(true, &fakeManager{status: service.StatusRunning})
	if _, err := runCmd(t, te.stop); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(te.m.calls, []string{"stop"}) {
		t.Errorf("stop calls = %v", te.m.calls)
	}

	te = newTestEnv(true, &fakeManager{status: service.StatusStopped})
	if out, err := runCmd(t, te.stop); err != nil || len(te.m.calls) != 0 || !strings.Contains(out, "not running") {
		t.Errorf("stop of a stopped service: %v %v %q", err, te.m.calls, out)
	}

	te = newTestEnv(true, notInstalled())
	if _, err := runCmd(t, te.stop); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("stop of a missing service: %v", err)
	}

	te = newTestEnv(true, &fakeManager{status: service.StatusRunning})
	if _, err := runCmd(t, te.restart); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(te.m.calls, []string{"restart"}) || len(te.waited) != 1 {
		t.Errorf("restart calls = %v, waited %v", te.m.calls, te.waited)
	}

	te = newTestEnv(true, notInstalled())
	if _, err := runCmd(t, te.restart); err == nil || !strings.Contains(err.Error(), "ray start") {
		t.Errorf("restart of a missing service: %v", err)
	}
}

func TestStartElevatesOnWindows(t *testing.T) {
	te := newTestEnv(false, notInstalled())
	te.goos = "windows"
	te.executable = func() (string, error) { return `C:\Program Files\rayfish\ray.exe`, nil }
	te.elevate = func(args []string) error {
		te.elevated = append(te.elevated, args)
		return nil
	}
	out, err := runCmd(t, te.start)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(te.elevated, [][]string{{"start"}}) {
		t.Errorf("elevated %v", te.elevated)
	}
	if len(te.m.calls) != 0 {
		t.Errorf("the unelevated process touched the service: %v", te.m.calls)
	}
	if len(te.waited) != 1 || te.waited[0] != `\\.\pipe\rayfish` {
		t.Errorf("waited on %v", te.waited)
	}
	if !strings.Contains(out, "started") {
		t.Errorf("output %q", out)
	}

	te.elevate = func([]string) error { return errors.New("The operation was canceled by the user.") }
	if _, err := runCmd(t, te.start); err == nil || !strings.Contains(err.Error(), "canceled by the user") {
		t.Errorf("a refused UAC prompt: %v", err)
	}
}

// fakeRun is a service-run environment with a fake daemon.
type fakeRun struct {
	mu       sync.Mutex
	starts   int
	stops    int
	startErr error
	started  chan struct{}
}

func (f *fakeRun) startDaemon(df daemonFlags, _ *slog.Logger) (func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if f.startErr != nil {
		return nil, f.startErr
	}
	close(f.started)
	return func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.stops++
		return nil
	}, nil
}

func TestServiceRunInteractive(t *testing.T) {
	te := newTestEnv(true, nil)
	fr := &fakeRun{started: make(chan struct{})}
	te.startDaemon = fr.startDaemon
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &cli{socket: filepath.Join(t.TempDir(), "s.sock"), out: io.Discard, errw: io.Discard}
	go func() { done <- te.serviceRun(ctx, c, []string{"--state-dir", t.TempDir()}) }()
	select {
	case <-fr.started:
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not started")
	}
	cancel() // Ctrl-C / SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.starts != 1 || fr.stops != 1 {
		t.Errorf("starts=%d stops=%d", fr.starts, fr.stops)
	}
}

func TestServiceRunStartFailure(t *testing.T) {
	te := newTestEnv(true, nil)
	fr := &fakeRun{startErr: errors.New("create TUN: operation not permitted"), started: make(chan struct{})}
	te.startDaemon = fr.startDaemon
	c := &cli{socket: filepath.Join(t.TempDir(), "s.sock"), out: io.Discard, errw: io.Discard}
	err := te.serviceRun(context.Background(), c, nil)
	if !errors.Is(err, fr.startErr) {
		t.Errorf("serviceRun = %v, want the start error", err)
	}
}

func TestServiceRunUnderManager(t *testing.T) {
	te := newTestEnv(true, nil)
	te.interactive = false
	fr := &fakeRun{startErr: errors.New("no TUN"), started: make(chan struct{})}
	te.startDaemon = fr.startDaemon
	exited := make(chan int, 1)
	te.exit = func(code int) { exited <- code }
	var gotSpec service.Spec
	te.runService = func(spec service.Spec, prg *service.Program) error {
		gotSpec = spec
		// What the service manager does: Start, later Stop.
		if err := prg.Start(nil); err != nil {
			return err
		}
		<-prg.Started()
		return prg.Stop(nil)
	}
	c := &cli{socket: "/run/rayfish/rayfish.sock", out: io.Discard, errw: io.Discard}
	if err := te.serviceRun(context.Background(), c, []string{"--state-dir", "/var/lib/rayfish"}); err != nil {
		t.Fatal(err)
	}
	if gotSpec.ServiceName() != "rayfish" || gotSpec.StateDir != "/var/lib/rayfish" || gotSpec.Socket != "/run/rayfish/rayfish.sock" {
		t.Errorf("spec = %+v", gotSpec)
	}
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a failed start under the service manager did not exit (no restart would follow)")
	}
}

func TestServiceRunWindowsLogFile(t *testing.T) {
	te := newTestEnv(true, nil)
	te.goos = "windows"
	te.interactive = false
	te.executable = func() (string, error) { return `C:\Program Files\rayfish\ray.exe`, nil }
	var logPath string
	var logBuf bytes.Buffer
	te.openLog = func(p string) (io.WriteCloser, error) {
		logPath = p
		return nopCloser{&logBuf}, nil
	}
	te.answering = func(context.Context, string, time.Duration) error { return errors.New("no daemon") }
	var removedFor []string
	te.removeStale = func(name string) ([]string, error) {
		removedFor = append(removedFor, name)
		return []string{`"rayfish" SWD\Wintun\{X} (present)`}, nil
	}
	fr := &fakeRun{started: make(chan struct{})}
	te.startDaemon = fr.startDaemon
	te.runService = func(spec service.Spec, prg *service.Program) error {
		prg.Start(nil)
		<-prg.Started()
		return prg.Stop(nil)
	}
	c := &cli{socket: `\\.\pipe\rayfish`, out: io.Discard, errw: io.Discard}
	if err := te.serviceRun(context.Background(), c, []string{"--state-dir", `C:\ProgramData\rayfish`, "--tun", "rayfish"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(logPath, `\rayfish.log`) {
		t.Errorf("log file %q", logPath)
	}
	if !reflect.DeepEqual(removedFor, []string{"rayfish"}) {
		t.Errorf("stale adapters removed for %v", removedFor)
	}
	if !strings.Contains(logBuf.String(), "removed an adapter left by a crashed daemon") {
		t.Errorf("log lacks the removal:\n%s", logBuf.String())
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestPrepareTUNLeavesLiveDaemonAlone(t *testing.T) {
	te := newTestEnv(true, nil)
	te.goos = "windows"
	te.answering = func(context.Context, string, time.Duration) error { return nil } // a daemon answers
	called := false
	te.removeStale = func(string) ([]string, error) { called = true; return nil, nil }
	err := te.prepareTUN(context.Background(), daemonFlags{socket: `\\.\pipe\rayfish`, tunName: "rayfish"}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "another rayfish daemon") {
		t.Errorf("prepareTUN = %v", err)
	}
	if called {
		t.Error("removed the adapter of a live daemon")
	}
	// Off Windows there is nothing to do.
	te.goos = "linux"
	if err := te.prepareTUN(context.Background(), daemonFlags{}, nil); err != nil || called {
		t.Errorf("linux prepareTUN = %v (removeStale called %v)", err, called)
	}
}

func TestWaitAnswering(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	// Nothing listens: one quick try fails.
	if err := waitAnswering(context.Background(), sock, 0); err == nil {
		t.Fatal("waitAnswering on no daemon succeeded")
	}
	// A daemon that is not ready yet (its first answer is an error) is
	// asked again until it answers: the handler counts the tries, so
	// nothing depends on how long anything takes.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc(apitype.PathVersion, func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			http.Error(w, `{"error":"starting"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"version":"test","api_version":1}`))
	})
	srv := &http.Server{Handler: mux}
	t.Cleanup(func() { srv.Close() })
	go srv.Serve(ln)
	if err := waitAnswering(context.Background(), sock, 10*time.Second); err != nil {
		t.Fatalf("waitAnswering = %v", err)
	}
	if n := tries.Load(); n != 2 {
		t.Errorf("waitAnswering asked %d times, want 2 (one refused, one answered)", n)
	}
}

func TestQuoteArgs(t *testing.T) {
	got := quoteArgs([]string{"service-run", "--state-dir", "/Library/Application Support/rayfish", ""})
	want := `service-run --state-dir "/Library/Application Support/rayfish" ""`
	if got != want {
		t.Errorf("quoteArgs = %s, want %s", got, want)
	}
}
