package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// Linux paths.
const (
	etcResolvConf     = "/etc/resolv.conf"
	nsswitchConf      = "/etc/nsswitch.conf"
	resolvedRunDir    = "/run/systemd/resolve"
	resolvedUpstreams = "/run/systemd/resolve/resolv.conf"
)

// callTimeout bounds each talk with resolved.
const callTimeout = 10 * time.Second

func newOS(stateDir string, log *slog.Logger) Manager {
	p := probeLinux(stateDir, log)
	switch mode := chooseLinuxMode(p); mode {
	case ModeResolved:
		return newResolvedManager(ModeResolved, dbusBackend{}, stateDir, log)
	case ModeResolvectl:
		return newResolvedManager(ModeResolvectl, cliBackend{}, stateDir, log)
	default:
		if p.usesResolved {
			log.Warn("dns: systemd-resolved handles this system's DNS but cannot be reached from this network namespace; managing /etc/resolv.conf instead")
		}
		return newResolvConf(etcResolvConf, stateDir, log)
	}
}

// restoreOS undoes the per-link modes (for RecoverAfterCrash and mode
// changes), with whichever way to reach resolved works now.
func restoreOS(st *state, log *slog.Logger) error {
	switch st.Mode {
	case ModeResolved, ModeResolvectl:
		var backend resolvedBackend = dbusBackend{}
		if st.Mode == ModeResolvectl || !busHasResolved() {
			backend = cliBackend{}
		}
		m := newResolvedManager(st.Mode, backend, "", log)
		return m.revert(st)
	default:
		return fmt.Errorf("mode %q is not used on linux", st.Mode)
	}
}

// probeLinux looks at how this system resolves names.
func probeLinux(stateDir string, log *slog.Logger) linuxProbe {
	var p linuxProbe
	// Judge resolv.conf as it was before rayfish replaced it.
	symlink, content := "", []byte(nil)
	if st, _ := loadState(stateDir); st != nil {
		for _, b := range st.Files {
			if b.Path == etcResolvConf {
				symlink, content = b.Symlink, b.Content
			}
		}
	}
	if content == nil {
		symlink, _ = os.Readlink(etcResolvConf)
		content, _ = readSmall(etcResolvConf)
	}
	nss, _ := readSmall(nsswitchConf)
	p.usesResolved = resolvConfUsesResolved(symlink, content) || nsswitchUsesResolve(nss)
	if !p.usesResolved {
		return p
	}
	if pid, ok := busResolvedPID(); ok {
		p.busResolved = sameNetns(pid)
		if !p.busResolved {
			log.Debug("dns: systemd-resolved runs in another network namespace", "pid", pid)
		}
		return p
	}
	if _, err := os.Stat(resolvedRunDir); err != nil {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if exec.CommandContext(ctx, "resolvectl", "status").Run() == nil {
		pid, ok := procByComm("systemd-resolve")
		p.cliResolved = ok && sameNetns(pid)
	}
	return p
}

// busHasResolved reports whether resolved is on the system bus.
func busHasResolved() bool {
	_, ok := busResolvedPID()
	return ok
}

// busResolvedPID returns the process id of resolved's D-Bus connection.
func busResolvedPID() (int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return 0, false
	}
	defer conn.Close()
	var pid uint32
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixProcessID", 0, resolvedName).Store(&pid)
	if err != nil || pid == 0 {
		return 0, false
	}
	return int(pid), true
}

// sameNetns reports whether process pid shares this process's network
// namespace; false when it cannot tell.
func sameNetns(pid int) bool {
	self, err1 := os.Readlink("/proc/self/ns/net")
	other, err2 := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	return err1 == nil && err2 == nil && self == other
}

// procByComm finds a process by its command name (/proc/PID/comm).
func procByComm(comm string) (int, bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil {
			return pid, true
		}
	}
	return 0, false
}

// dbusBackend talks to resolved on the system bus, one connection per
// plan.
type dbusBackend struct{}

func (dbusBackend) do(ctx context.Context, calls []linkCall, log *slog.Logger) error {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("connect to the system bus: %w", err)
	}
	defer conn.Close()
	obj := conn.Object(resolvedName, resolvedPath)
	return runPlan(calls, log, func(c linkCall) error {
		return obj.CallWithContext(ctx, resolvedInterface+"."+c.Method, 0, c.Args...).Err
	})
}

// cliBackend runs resolvectl.
type cliBackend struct{}

func (cliBackend) do(ctx context.Context, calls []linkCall, log *slog.Logger) error {
	return runPlan(calls, log, func(c linkCall) error {
		out, err := exec.CommandContext(ctx, "resolvectl", c.Cmd...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("resolvectl %s: %w: %s", strings.Join(c.Cmd, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// resolvedManager configures the TUN link in systemd-resolved.
type resolvedManager struct {
	mode     string
	backend  resolvedBackend
	stateDir string
	log      *slog.Logger
	// ifindex looks a link up by name (net.InterfaceByName).
	ifindex func(name string) (int, error)
	// upstreamsFile lists resolved's uplink servers.
	upstreamsFile string

	mu sync.Mutex // serialises Apply, Restore and Upstreams
}

func newResolvedManager(mode string, b resolvedBackend, stateDir string, log *slog.Logger) *resolvedManager {
	return &resolvedManager{
		mode:          mode,
		backend:       b,
		stateDir:      stateDir,
		log:           log,
		ifindex:       linkIndex,
		upstreamsFile: resolvedUpstreams,
	}
}

func linkIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", errNoLink, name, err)
	}
	return ifi.Index, nil
}

func (m *resolvedManager) Mode() string { return m.mode }

func (m *resolvedManager) Apply(cfg Config) error {
	if err := validate(cfg); err != nil {
		return err
	}
	domains := normalizeDomains(cfg.Domains)
	if len(domains) == 0 {
		return errors.New("dns: no domains to route to magic DNS")
	}
	for _, d := range domains {
		if !validDomain(d) {
			return fmt.Errorf("dns: invalid domain %q", d)
		}
	}
	idx, err := m.ifindex(cfg.Interface)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := loadState(m.stateDir)
	if err != nil {
		return err
	}
	if st != nil && (st.Mode != m.mode || st.Interface != cfg.Interface || st.Index != idx) {
		if err := m.restoreLocked(st); err != nil {
			return err
		}
	}
	if err := saveState(m.stateDir, &state{Mode: m.mode, Interface: cfg.Interface, Index: idx}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := m.backend.do(ctx, resolvedSetPlan(idx, cfg.Interface, cfg.Nameservers, domains, cfg.Search), m.log); err != nil {
		err = fmt.Errorf("dns: configure link %s in systemd-resolved: %w", cfg.Interface, err)
		st := &state{Mode: m.mode, Interface: cfg.Interface, Index: idx}
		return errors.Join(err, m.restoreLocked(st))
	}
	m.log.Info("dns: configured", "mode", m.mode, "link", cfg.Interface, "domains", domains, "search", cfg.Search)
	return nil
}

func (m *resolvedManager) Restore() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := loadState(m.stateDir)
	if err != nil || st == nil {
		return err
	}
	return m.restoreLocked(st)
}

// restoreLocked undoes st (with this manager's backend when it is a link
// configuration) and deletes the backup.
func (m *resolvedManager) restoreLocked(st *state) error {
	if st.Mode != ModeResolved && st.Mode != ModeResolvectl {
		return restoreState(m.stateDir, st, m.log)
	}
	if err := m.revert(st); err != nil {
		return fmt.Errorf("dns: restore %s: %w", st.Mode, err)
	}
	return removeState(m.stateDir)
}

// revert drops the link's settings if the link still exists; when it is
// gone, resolved has already forgotten them.
func (m *resolvedManager) revert(st *state) error {
	idx, err := m.ifindex(st.Interface)
	if err != nil || idx != st.Index {
		m.log.Debug("dns: link gone; nothing to revert", "link", st.Interface)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return m.backend.do(ctx, resolvedRevertPlan(idx, st.Interface), m.log)
}

func (m *resolvedManager) Upstreams(skip ...netip.Addr) ([]netip.AddrPort, error) {
	content, err := readSmall(m.upstreamsFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dns: read %s: %w", m.upstreamsFile, err)
	}
	return parseUpstreamsResolved(content, skip), nil
}
