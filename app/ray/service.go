package main

// The helper service: `ray install | uninstall | start | stop | restart`
// control the OS service (systemd, launchd, the Windows service control
// manager) through platform/service, and the hidden `ray service-run` is
// what the installed service executes.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/platform/paths"
	"github.com/rayfish/rayfish/platform/service"
	"github.com/rayfish/rayfish/platform/tun"
)

func init() {
	commands["install"] = func(ctx context.Context, c *cli, args []string) error {
		return defaultSvcEnv().install(ctx, c, args)
	}
	commands["uninstall"] = func(ctx context.Context, c *cli, args []string) error {
		return defaultSvcEnv().uninstall(ctx, c, args)
	}
	commands["start"] = func(ctx context.Context, c *cli, args []string) error {
		return defaultSvcEnv().start(ctx, c, args)
	}
	commands["stop"] = func(ctx context.Context, c *cli, args []string) error {
		return defaultSvcEnv().stop(ctx, c, args)
	}
	commands["restart"] = func(ctx context.Context, c *cli, args []string) error {
		return defaultSvcEnv().restart(ctx, c, args)
	}
	commands[service.RunCommand] = func(ctx context.Context, c *cli, args []string) error {
		return defaultSvcEnv().serviceRun(ctx, c, args)
	}
}

// readyTimeout is how long start and restart wait for the daemon to answer.
const readyTimeout = 30 * time.Second

// svcEnv is what the service commands need from the OS; tests replace it.
type svcEnv struct {
	goos string
	// isAdmin reports root (Linux, macOS) or an elevated token (Windows).
	isAdmin func() bool
	// elevate re-runs ray with args elevated (UAC) and returns without
	// waiting; nil where there is no such prompt (use sudo / pkexec).
	elevate func(args []string) error
	// executable is the absolute path of this ray binary.
	executable func() (string, error)
	// manager controls the OS service described by spec.
	manager func(spec service.Spec) (service.Manager, error)
	// answering reports whether a daemon answers on socket within timeout.
	answering func(ctx context.Context, socket string, timeout time.Duration) error
	// startDaemon starts the node; the returned func stops it.
	startDaemon func(f daemonFlags, log *slog.Logger) (func() error, error)
	// removeStale removes adapters left by a crashed daemon (Windows).
	removeStale func(name string) ([]string, error)
	// runService runs prg under the service manager until it stops it.
	runService func(spec service.Spec, prg *service.Program) error
	// interactive is false when the service manager started this process.
	interactive bool
	// openLog opens the log file of a Windows service.
	openLog func(path string) (io.WriteCloser, error)
	// exit ends the process (a service whose daemon failed to start).
	exit func(code int)
	// exists reports whether a file exists; mkdirAll creates a directory.
	exists   func(path string) bool
	mkdirAll func(path string) error
}

func defaultSvcEnv() *svcEnv {
	return &svcEnv{
		goos:       runtime.GOOS,
		isAdmin:    isAdmin,
		elevate:    elevate,
		executable: service.ExecutablePath,
		manager: func(spec service.Spec) (service.Manager, error) {
			return service.New(spec, nil)
		},
		answering: waitAnswering,
		startDaemon: func(f daemonFlags, log *slog.Logger) (func() error, error) {
			d, err := startDaemon(f, log)
			if err != nil {
				return nil, err
			}
			return d.Close, nil
		},
		removeStale: tun.RemoveStale,
		runService: func(spec service.Spec, prg *service.Program) error {
			if err := service.EnsureRecovery(spec.ServiceName()); err != nil {
				fmt.Fprintln(os.Stderr, "ray: warning:", err)
			}
			s, err := service.New(spec, prg)
			if err != nil {
				return err
			}
			return s.Run()
		},
		interactive: service.Interactive(),
		openLog: func(path string) (io.WriteCloser, error) {
			return service.OpenLog(path, service.MaxLogSize)
		},
		exit: os.Exit,
		exists: func(p string) bool {
			_, err := os.Stat(p)
			return err == nil
		},
		mkdirAll: func(p string) error { return os.MkdirAll(p, 0o755) },
	}
}

// packagedUnits are where a distribution package (our .deb) puts the unit;
// `ray install` writes /etc/systemd/system/rayfish.service instead.
var packagedUnits = []string{"/lib/systemd/system/rayfish.service", "/usr/lib/systemd/system/rayfish.service"}

// installService installs the service, first creating what the definition
// refers to but the service manager does not create (the launchd log
// directory).
func (e *svcEnv) installService(spec service.Spec, m service.Manager) error {
	if spec.GOOS == "darwin" {
		if err := e.mkdirAll(spec.LogDir); err != nil {
			return fmt.Errorf("create log directory: %w", err)
		}
	}
	if err := m.Install(); err != nil {
		return fmt.Errorf("install service %s: %w", spec.ServiceName(), err)
	}
	return nil
}

// needAdmin is the error for a service command run without privileges.
func (e *svcEnv) needAdmin(cmd string) error {
	if e.goos == "windows" {
		return exitCode{1, fmt.Sprintf("%s: needs Administrator rights: run it from an Administrator command prompt", cmd)}
	}
	return exitCode{1, fmt.Sprintf("%s: needs root: run `sudo ray %s`", cmd, cmd)}
}

// spec builds the service definition from install/start's flags.
func (e *svcEnv) spec(name string, args []string) (service.Spec, error) {
	exe, err := e.executable()
	if err != nil {
		return service.Spec{}, err
	}
	d := paths.For(e.goos, os.Getenv, func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.IsDir()
	})
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&d.State, "state-dir", d.State, "the daemon's state directory")
	fs.StringVar(&d.Socket, "socket", d.Socket, "the daemon's local API socket")
	if _, err := parseArgs(fs, args, 0, "[--state-dir DIR] [--socket PATH]"); err != nil {
		return service.Spec{}, err
	}
	s := service.SpecFor(e.goos, exe, d)
	if err := s.Validate(); err != nil {
		return service.Spec{}, exitCode{2, err.Error()}
	}
	return s, nil
}

// open checks privileges and returns the spec and the service manager.
func (e *svcEnv) open(name string, args []string) (service.Spec, service.Manager, error) {
	if !e.isAdmin() {
		return service.Spec{}, nil, e.needAdmin(name)
	}
	spec, err := e.spec(name, args)
	if err != nil {
		return spec, nil, err
	}
	m, err := e.manager(spec)
	if err != nil {
		return spec, nil, fmt.Errorf("%s: %w; without a service manager run `ray daemon` in the foreground", name, err)
	}
	return spec, m, nil
}

// status returns whether the service is installed and running.
func status(m service.Manager) (installed, running bool, err error) {
	st, err := m.Status()
	if service.IsNotInstalled(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return st != service.StatusUnknown, st == service.StatusRunning, nil
}

func (e *svcEnv) install(ctx context.Context, c *cli, args []string) error {
	spec, m, err := e.open("install", args)
	if err != nil {
		return err
	}
	if installed, _, err := status(m); err == nil && installed {
		fmt.Fprintf(c.out, "service %s is already installed (%s)\n", spec.ServiceName(), m.Platform())
		return nil
	}
	if err := e.installService(spec, m); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "installed service %s (%s): %s %s\nstart it with `ray start`\n",
		spec.ServiceName(), m.Platform(), spec.Executable, quoteArgs(spec.Args()))
	return nil
}

func (e *svcEnv) uninstall(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return exitCode{2, "usage: ray uninstall"}
	}
	spec, m, err := e.open("uninstall", nil)
	if err != nil {
		return err
	}
	installed, running, err := status(m)
	if err != nil {
		return fmt.Errorf("uninstall: service status: %w", err)
	}
	if !installed {
		fmt.Fprintf(c.out, "service %s is not installed\n", spec.ServiceName())
		return nil
	}
	if spec.GOOS == "linux" && !e.exists("/etc/systemd/system/rayfish.service") {
		for _, u := range packagedUnits {
			if e.exists(u) {
				return exitCode{1, fmt.Sprintf("uninstall: the service comes from the rayfish package (%s): remove it with `apt remove rayfish`", u)}
			}
		}
	}
	if running {
		if err := m.Stop(); err != nil {
			return fmt.Errorf("uninstall: stop service %s: %w", spec.ServiceName(), err)
		}
	}
	if err := m.Uninstall(); err != nil {
		return fmt.Errorf("uninstall service %s: %w", spec.ServiceName(), err)
	}
	fmt.Fprintf(c.out, "uninstalled service %s (state in %s kept)\n", spec.ServiceName(), spec.StateDir)
	return nil
}

func (e *svcEnv) start(ctx context.Context, c *cli, args []string) error {
	if !e.isAdmin() && e.elevate != nil {
		return e.elevated(ctx, c, "start", args)
	}
	spec, m, err := e.open("start", args)
	if err != nil {
		return err
	}
	installed, running, err := status(m)
	if err != nil {
		return fmt.Errorf("start: service status: %w", err)
	}
	if !installed {
		if err := e.installService(spec, m); err != nil {
			return fmt.Errorf("start: %w", err)
		}
		fmt.Fprintf(c.out, "installed service %s (%s)\n", spec.ServiceName(), m.Platform())
	}
	if !running {
		if err := m.Start(); err != nil {
			return fmt.Errorf("start service %s: %w", spec.ServiceName(), err)
		}
	}
	return e.ready(ctx, c, spec, "started")
}

func (e *svcEnv) stop(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return exitCode{2, "usage: ray stop"}
	}
	if !e.isAdmin() && e.elevate != nil {
		return e.elevated(ctx, c, "stop", nil)
	}
	spec, m, err := e.open("stop", nil)
	if err != nil {
		return err
	}
	installed, running, err := status(m)
	if err != nil {
		return fmt.Errorf("stop: service status: %w", err)
	}
	if !installed {
		return exitCode{1, fmt.Sprintf("stop: service %s is not installed", spec.ServiceName())}
	}
	if !running {
		fmt.Fprintf(c.out, "service %s is not running\n", spec.ServiceName())
		return nil
	}
	if err := m.Stop(); err != nil {
		return fmt.Errorf("stop service %s: %w", spec.ServiceName(), err)
	}
	fmt.Fprintf(c.out, "stopped service %s\n", spec.ServiceName())
	return nil
}

func (e *svcEnv) restart(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return exitCode{2, "usage: ray restart"}
	}
	if !e.isAdmin() && e.elevate != nil {
		return e.elevated(ctx, c, "restart", nil)
	}
	spec, m, err := e.open("restart", nil)
	if err != nil {
		return err
	}
	installed, _, err := status(m)
	if err != nil {
		return fmt.Errorf("restart: service status: %w", err)
	}
	if !installed {
		return exitCode{1, fmt.Sprintf("restart: service %s is not installed (use `ray start`)", spec.ServiceName())}
	}
	if err := m.Restart(); err != nil {
		return fmt.Errorf("restart service %s: %w", spec.ServiceName(), err)
	}
	return e.ready(ctx, c, spec, "restarted")
}

// elevated re-runs `ray cmd args` with the OS's elevation prompt (UAC on
// Windows) and checks the outcome on the daemon's socket, since the
// elevated process's output is not ours to read.
func (e *svcEnv) elevated(ctx context.Context, c *cli, cmd string, args []string) error {
	spec, err := e.spec(cmd, args)
	if err != nil {
		return err
	}
	if err := e.elevate(append([]string{cmd}, args...)); err != nil {
		return exitCode{1, fmt.Sprintf("%s: could not get Administrator rights: %v", cmd, err)}
	}
	if cmd == "stop" {
		deadline := time.Now().Add(readyTimeout)
		for time.Now().Before(deadline) {
			if e.answering(ctx, spec.Socket, 0) != nil {
				fmt.Fprintf(c.out, "stopped service %s\n", spec.ServiceName())
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		return exitCode{1, fmt.Sprintf("stop: the daemon still answers on %s", spec.Socket)}
	}
	return e.ready(ctx, c, spec, cmd+"ed")
}

// ready waits for the daemon to answer on the spec's socket.
func (e *svcEnv) ready(ctx context.Context, c *cli, spec service.Spec, verb string) error {
	if err := e.answering(ctx, spec.Socket, readyTimeout); err != nil {
		return exitCode{1, fmt.Sprintf("service %s %s, but the daemon does not answer on %s after %v (%v); see %s",
			spec.ServiceName(), verb, spec.Socket, readyTimeout, err, logHint(spec))}
	}
	fmt.Fprintf(c.out, "service %s %s; the daemon answers on %s\n", spec.ServiceName(), verb, spec.Socket)
	return nil
}

// logHint says where the service's log is.
func logHint(spec service.Spec) string {
	if spec.GOOS == "linux" {
		return "journalctl -u " + spec.ServiceName()
	}
	return spec.LogFile()
}

// waitAnswering polls the daemon's version on socket until it answers or
// timeout passes (one try for timeout 0).
func waitAnswering(ctx context.Context, socket string, timeout time.Duration) error {
	cl := client.New(socket)
	deadline := time.Now().Add(timeout)
	for {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cl.Version(tctx)
		cancel()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// serviceRun is `ray service-run`: the daemon under the service manager, with
// `ray daemon`'s flags. Run by hand it behaves like `ray daemon`.
func (e *svcEnv) serviceRun(ctx context.Context, c *cli, args []string) error {
	f, err := parseDaemonFlags(args, c.socket)
	if err != nil {
		return err
	}
	exe, err := e.executable()
	if err != nil {
		return err
	}
	spec := service.SpecFor(e.goos, exe, paths.Defaults{State: f.stateDir, Socket: f.socket, Log: paths.LogDir()})
	logw := c.errw
	if e.goos == "windows" && !e.interactive {
		// A Windows service's standard error goes nowhere.
		w, err := e.openLog(spec.LogFile())
		if err != nil {
			return err
		}
		defer w.Close()
		logw = w
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))

	failed := make(chan error, 1)
	prg := service.NewProgram(func() (func() error, error) {
		if err := e.prepareTUN(ctx, f, log); err != nil {
			return nil, err
		}
		return e.startDaemon(f, log)
	}, service.ProgramOptions{
		Logger: log,
		OnStartFailure: func(err error) {
			failed <- err
			if !e.interactive {
				// Exit non-zero so the service manager restarts us.
				e.exit(1)
			}
		},
	})
	if !e.interactive {
		log.Info("running under the service manager", "platform", service.Platform(), "service", spec.ServiceName())
		return e.runService(spec, prg)
	}
	if err := prg.Start(nil); err != nil {
		return err
	}
	select {
	case err := <-failed:
		return err
	case <-ctx.Done():
	}
	log.Info("stopping")
	return prg.Stop(nil)
}

// prepareTUN removes a TUN adapter left by a crashed daemon (Windows; a
// no-op elsewhere), unless a live daemon answers on the socket: then the
// adapter is that daemon's, and starting is an error.
func (e *svcEnv) prepareTUN(ctx context.Context, f daemonFlags, log *slog.Logger) error {
	if e.goos != "windows" {
		return nil
	}
	if e.answering(ctx, f.socket, 0) == nil {
		return fmt.Errorf("another rayfish daemon answers on %s; not touching its adapter", f.socket)
	}
	removed, err := e.removeStale(f.tunName)
	for _, r := range removed {
		log.Warn("removed an adapter left by a crashed daemon", "adapter", r)
	}
	if err != nil {
		// Not fatal: Wintun renames a leftover adapter and creates ours.
		log.Warn("could not remove a stale adapter", "err", err)
	}
	return nil
}

// quoteArgs renders args for a message, quoting those with spaces.
func quoteArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		if a == "" || containsSpace(a) {
			a = fmt.Sprintf("%q", a)
		}
		s += a
	}
	return s
}

func containsSpace(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '\t' {
			return true
		}
	}
	return false
}
