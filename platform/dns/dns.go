// Package dns points the operating system's resolver at rayfish's magic
// DNS for the mesh's names, and always gives the system its own
// configuration back.
//
// Modes, chosen by New per OS:
//
//	resolved     Linux with systemd-resolved in charge of /etc/resolv.conf:
//	             per-link DNS servers and "~ray" routing domains on the TUN
//	             link, over D-Bus; Restore reverts the link.
//	resolvectl   the same through the resolvectl command, when D-Bus is
//	             unusable but resolvectl answers.
//	resolv.conf  any other Linux: /etc/resolv.conf is backed up and
//	             replaced with one that names magic DNS (which forwards
//	             every other name to the original servers).
//	resolver     macOS: /etc/resolver/<domain> files.
//	nrpt         Windows: a Name Resolution Policy Table rule per call.
//
// Search domains (Config.Search) make bare names resolve: the resolv.conf
// search line, resolved's non-routing-only link domains, a search line in
// the resolver files, and on Windows the TUN's connection-specific DNS
// suffix (the first search domain).
//
// Crash safety: before anything is changed, a backup of what is about to
// change (file contents, whether a file was a symlink, or the link that
// was configured) is written atomically to the state directory, and a
// replaced resolv.conf is also copied beside itself
// (/etc/resolv.pre-rayfish.conf; an existing copy is never overwritten),
// so that a lost state directory does not lose it. Restore puts it back
// and deletes the backups; RecoverAfterCrash, called at daemon start,
// does the same for a backup a crashed daemon left behind. Restore writes
// only into the very file rayfish wrote (same device, inode and content,
// recorded before the file appears): a file that someone else rewrote or
// replaced while rayfish managed it is left as it is.
//
// Several daemons can see one file (network namespaces sharing /etc).
// Each managed file names its daemon's state directory; a daemon refuses
// a file whose owner is running (its state directory is locked, see
// paths.LockStateDir) and takes over one whose owner is gone, putting
// the original back from the copy beside it first.
//
// Linux network namespaces: `ip netns exec NS` bind-mounts
// /etc/netns/NS/resolv.conf over /etc/resolv.conf, so a daemon inside a
// namespace edits only that file. systemd-resolved always runs in the
// host's namespace, so resolved modes are used only when resolved's
// process shares the daemon's network namespace.
package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
)

// Config is what Apply installs.
type Config struct {
	// Interface is the TUN device's name (used by the per-link modes).
	Interface string
	// Nameservers are the magic DNS addresses (key.MagicDNSv4, MagicDNSv6).
	Nameservers []netip.Addr
	// Domains are the names routed to magic DNS, without dots: "ray".
	// Modes that send every name to magic DNS (resolv.conf) ignore them.
	Domains []string
	// Search are the search domains tried for bare names (`ping bravo`),
	// without dots: "ray" and "<network>.ray". They come before the
	// system's own.
	Search []string
}

// Manager installs and removes rayfish's DNS configuration. Its methods
// are safe for concurrent use.
type Manager interface {
	// Apply installs cfg, backing up what it replaces first. Applying
	// again updates the configuration and keeps the backup, except for a
	// file another program rewrote meanwhile (a DHCP client renewing
	// resolv.conf): its new version becomes the backup, and Upstreams
	// follows it. Re-applying periodically thus also re-asserts rayfish's
	// configuration.
	Apply(Config) error
	// Restore puts the original configuration back and deletes the
	// backup. Without a backup it does nothing.
	Restore() error
	// Mode names the mechanism: "resolved", "resolvectl", "resolv.conf",
	// "resolver", "nrpt".
	Mode() string
	// Upstreams returns the system's own DNS servers (port 53), which
	// magic DNS forwards other names to. Once rayfish has taken over,
	// they come from the backup, so calling it before or after Apply
	// gives the same answer. Addresses in skip (magic DNS's own) are left
	// out.
	Upstreams(skip ...netip.Addr) ([]netip.AddrPort, error)
}

// Mode names.
const (
	ModeResolved   = "resolved"
	ModeResolvectl = "resolvectl"
	ModeResolvConf = "resolv.conf"
	ModeResolver   = "resolver"
	ModeNRPT       = "nrpt"
)

// Header is the first line of every file rayfish writes; marker is how
// rayfish recognises its own files.
const (
	Header = "# managed by rayfish; restored on exit"
	marker = "managed by rayfish"
)

// maxUpstreams bounds the servers Upstreams returns.
const maxUpstreams = 8

// New returns the manager for this OS, keeping its backup in stateDir.
// log may be nil.
func New(stateDir string, log *slog.Logger) Manager {
	return newOS(stateDir, orDiscard(log))
}

// RecoverAfterCrash restores whatever a previous run left configured, if
// its backup is still in stateDir (the daemon crashed or was killed). Call
// it at daemon start, before New(...).Apply. Without a backup it does
// nothing.
func RecoverAfterCrash(stateDir string, log *slog.Logger) error {
	log = orDiscard(log)
	st, err := loadState(stateDir)
	if err != nil || st == nil {
		return err
	}
	log.Warn("dns: restoring the configuration a previous run left behind", "mode", st.Mode)
	return restoreState(stateDir, st, log)
}

// restoreState undoes st and deletes the backup.
func restoreState(stateDir string, st *state, log *slog.Logger) error {
	var err error
	switch st.Mode {
	case ModeResolvConf, ModeResolver:
		err = restoreFiles(st.Files, log)
	default:
		err = restoreOS(st, log)
	}
	if err != nil {
		return fmt.Errorf("dns: restore %s: %w", st.Mode, err)
	}
	return removeState(stateDir)
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// normalizeDomains lowercases the domains, strips "~" and dots around
// them, and drops empty and repeated ones.
func normalizeDomains(in []string) []string {
	var out []string
	for _, d := range in {
		d = strings.ToLower(strings.Trim(strings.TrimPrefix(strings.TrimSpace(d), "~"), "."))
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// validate checks the parts of cfg every mode needs.
func validate(cfg Config) error {
	if len(cfg.Nameservers) == 0 {
		return errors.New("dns: no nameservers to install")
	}
	for _, a := range cfg.Nameservers {
		if !a.IsValid() || a.IsUnspecified() {
			return fmt.Errorf("dns: invalid nameserver %v", a)
		}
	}
	return nil
}

// toUpstreams turns nameserver addresses into port-53 upstreams, without
// duplicates, unspecified addresses or those in skip.
func toUpstreams(addrs []netip.Addr, skip []netip.Addr) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || slices.Contains(skip, a.WithZone("")) {
			continue
		}
		ap := netip.AddrPortFrom(a, 53)
		if !slices.Contains(out, ap) && len(out) < maxUpstreams {
			out = append(out, ap)
		}
	}
	return out
}
