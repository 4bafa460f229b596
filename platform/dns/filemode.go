package dns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// glibcMaxNS is how many nameserver lines glibc reads (MAXNS).
const glibcMaxNS = 3

// fileManager is the mode that replaces whole files: resolv.conf on
// Linux, /etc/resolver/<domain> on macOS.
type fileManager struct {
	mode     string
	stateDir string
	log      *slog.Logger
	// targets lists the files to write for cfg.
	targets func(cfg Config) ([]string, error)
	// build returns the content to write over the file backed up in orig.
	build func(orig fileBackup, cfg Config) []byte
	// upstreamFile is the resolv.conf(5) file that names the system's
	// servers (its backup, once replaced).
	upstreamFile string
	// write replaces a file (replaceFileTracked; tests inject failures).
	write func(path string, content []byte, perm fs.FileMode, before func(fileID) error) error
	// sidecar returns where to keep a copy of path's original beside it
	// (sidecarPath), "" for none.
	sidecar func(path string) string
	// owner names this daemon in the files it writes (ownerName).
	owner string

	mu sync.Mutex // serialises Apply, Restore and Upstreams
}

// newResolvConf manages the resolv.conf file at path.
func newResolvConf(path, stateDir string, log *slog.Logger) *fileManager {
	return &fileManager{
		mode:     ModeResolvConf,
		stateDir: stateDir,
		log:      log,
		targets:  func(Config) ([]string, error) { return []string{path}, nil },
		build: func(orig fileBackup, cfg Config) []byte {
			return buildResolvConf(orig.Content, cfg.Nameservers, cfg.Search)
		},
		upstreamFile: path,
		write:        replaceFileTracked,
		sidecar:      sidecarPath,
		owner:        ownerName(stateDir),
	}
}

// newResolverDir manages one resolver(5) file per domain in dir (macOS's
// /etc/resolver); the system's own servers are read from resolvConf.
func newResolverDir(dir, resolvConf, stateDir string, log *slog.Logger) *fileManager {
	return &fileManager{
		mode:     ModeResolver,
		stateDir: stateDir,
		log:      log,
		targets: func(cfg Config) ([]string, error) {
			return resolverPaths(dir, cfg.Domains)
		},
		build: func(_ fileBackup, cfg Config) []byte {
			return buildResolverFile(cfg.Nameservers, cfg.Search)
		},
		upstreamFile: resolvConf,
		write:        replaceFileTracked,
		sidecar:      func(string) string { return "" },
		owner:        ownerName(stateDir),
	}
}

func (m *fileManager) Mode() string { return m.mode }

func (m *fileManager) Apply(cfg Config) error {
	if err := validate(cfg); err != nil {
		return err
	}
	paths, err := m.targets(cfg)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := loadState(m.stateDir)
	if err != nil {
		return err
	}
	if st != nil && (st.Mode != m.mode || !samePaths(st.Files, paths)) {
		// A different configuration is installed: undo it first.
		if err := restoreState(m.stateDir, st, m.log); err != nil {
			return err
		}
		st = nil
	}
	if st == nil {
		if st, err = m.backup(paths); err != nil {
			return err
		}
	} else {
		refreshed, err := m.refreshBackups(st)
		if err != nil {
			return err
		}
		if refreshed {
			if err := saveState(m.stateDir, st); err != nil {
				return err
			}
		}
	}
	for i := range st.Files {
		b := &st.Files[i]
		perm := b.Perm
		if perm == 0 || b.Symlink != "" {
			perm = 0o644
		}
		content := withOwner(m.build(*b, cfg), m.owner)
		// Restore will only touch this very file: its identity is in the
		// backup before it appears at the path.
		err := m.write(b.Path, content, perm, func(id fileID) error {
			recordWritten(b, id)
			return saveState(m.stateDir, st)
		})
		if err != nil {
			err = fmt.Errorf("dns: write %s: %w", b.Path, err)
			return errors.Join(err, restoreState(m.stateDir, st, m.log))
		}
	}
	m.log.Info("dns: configured", "mode", m.mode, "files", paths)
	return nil
}

// backup records paths as they are before rayfish first writes them, in
// the state directory and, for each file that exists, in a sidecar copy
// beside it (never replacing one that is there already). A file that is
// another running daemon's is refused; one a crashed daemon left behind
// gets its original back from the sidecar first.
func (m *fileManager) backup(paths []string) (*state, error) {
	st := &state{Mode: m.mode}
	for _, p := range paths {
		if err := m.adoptLeftover(p); err != nil {
			return nil, err
		}
		b, err := snapshotFile(p)
		if err != nil {
			return nil, fmt.Errorf("dns: back up %s: %w", p, err)
		}
		if b.Existed && isOurs(b.Content) {
			m.log.Warn("dns: file is already rayfish's but no backup exists; restoring will leave it", "path", p)
		}
		st.Files = append(st.Files, b)
	}
	// The backup is durable before any file changes.
	if err := saveState(m.stateDir, st); err != nil {
		return nil, err
	}
	for i := range st.Files {
		m.makeSidecar(&st.Files[i])
	}
	return st, saveState(m.stateDir, st)
}

// adoptLeftover checks a file rayfish may have written before: another
// running daemon's is refused; one left by a daemon that is gone (or by
// this state directory, whose backup was lost) gets the original back
// from its sidecar.
func (m *fileManager) adoptLeftover(path string) error {
	cur, err := readSmall(path)
	if err != nil || !isOurs(cur) {
		return nil
	}
	if err := otherOwner(cur, m.owner); err != nil {
		return fmt.Errorf("dns: %s is %w; not touching it", path, err)
	}
	sc := m.sidecar(path)
	orig, perm, ok := readSidecar(sc)
	if !ok {
		return nil
	}
	m.log.Warn("dns: a previous rayfish left its file behind; restoring the original kept beside it", "path", path, "backup", sc)
	if err := replaceFile(path, orig, perm); err != nil {
		return fmt.Errorf("dns: restore %s from %s: %w", path, sc, err)
	}
	return removeSidecar(sc)
}

// makeSidecar copies b's original beside it, unless a file is there
// already (a backup is never overwritten).
func (m *fileManager) makeSidecar(b *fileBackup) {
	sc := m.sidecar(b.Path)
	if sc == "" || !b.Existed || isOurs(b.Content) {
		return
	}
	if _, err := os.Lstat(sc); err == nil {
		m.log.Warn("dns: a backup is already there; leaving it (the original is kept in the state directory only)", "backup", sc)
		return
	} else if !errors.Is(err, fs.ErrNotExist) {
		m.log.Warn("dns: cannot keep a backup beside the file", "backup", sc, "err", err)
		return
	}
	perm := b.Perm
	if perm == 0 {
		perm = 0o644
	}
	if err := writeAtomic(sc, b.Content, perm, nil); err != nil {
		m.log.Warn("dns: cannot keep a backup beside the file", "backup", sc, "err", err)
		return
	}
	b.Sidecar = sc
}

// refreshBackups takes a new backup of each file that another program
// rewrote (or removed) since rayfish last wrote it, so that its version
// is the one restored and its nameservers the upstreams. It reports
// whether st changed, and refuses a file another running daemon took.
func (m *fileManager) refreshBackups(st *state) (bool, error) {
	changed := false
	for i, b := range st.Files {
		cur, err := readSmall(b.Path)
		if err == nil && isOurs(cur) {
			if oerr := otherOwner(cur, m.owner); oerr != nil {
				return false, fmt.Errorf("dns: %s is %w; not touching it", b.Path, oerr)
			}
			continue
		}
		nb, serr := snapshotFile(b.Path)
		if serr != nil || (err != nil && nb.Existed) {
			continue // unreadable: keep the backup we have
		}
		m.log.Info("dns: file was changed by another program; backing up its new version", "path", b.Path)
		if b.Sidecar != "" {
			// Ours to update: it holds the original to come back.
			if nb.Existed {
				perm := nb.Perm
				if perm == 0 {
					perm = 0o644
				}
				if werr := writeAtomic(b.Sidecar, nb.Content, perm, nil); werr == nil {
					nb.Sidecar = b.Sidecar
				}
			} else {
				removeSidecar(b.Sidecar)
			}
		}
		st.Files[i] = nb
		changed = true
	}
	return changed, nil
}

func (m *fileManager) Restore() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := loadState(m.stateDir)
	if err != nil || st == nil {
		return err
	}
	return restoreState(m.stateDir, st, m.log)
}

func (m *fileManager) Upstreams(skip ...netip.Addr) ([]netip.AddrPort, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	content, err := originalContent(m.stateDir, m.upstreamFile)
	if err != nil {
		return nil, err
	}
	return toUpstreams(parseNameservers(content), skip), nil
}

// originalContent returns path's content before rayfish replaced it: from
// the backup in stateDir if there is one, else from the file itself.
func originalContent(stateDir, path string) ([]byte, error) {
	st, err := loadState(stateDir)
	if err != nil {
		return nil, err
	}
	if st != nil {
		for _, b := range st.Files {
			if b.Path == path {
				return b.Content, nil
			}
		}
	}
	content, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dns: read %s: %w", path, err)
	}
	if isOurs(content) {
		if orig, _, ok := readSidecar(sidecarPath(path)); ok {
			return orig, nil
		}
		return nil, fmt.Errorf("dns: %s is rayfish's own and no backup of the original is left", path)
	}
	return content, nil
}

func samePaths(files []fileBackup, paths []string) bool {
	if len(files) != len(paths) {
		return false
	}
	for _, f := range files {
		if !slices.Contains(paths, f.Path) {
			return false
		}
	}
	return true
}

// buildResolvConf returns rayfish's resolv.conf: a header, the magic DNS
// nameservers (at most glibc's three), one search line with the search
// domains first and then the original's, and the original's options
// lines, in their order.
func buildResolvConf(original []byte, nameservers []netip.Addr, search []string) []byte {
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	b.WriteString("# The original is restored when rayfish stops; names outside the mesh\n")
	b.WriteString("# are forwarded to the original nameservers.\n")
	for i, ns := range nameservers {
		if i == glibcMaxNS {
			break
		}
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	var origSearch, options []string
	sc := bufio.NewScanner(bytes.NewReader(original))
	sc.Buffer(make([]byte, 0, 4096), maxFile)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "search", "domain":
			// The resolver uses the last of these lines only.
			origSearch = fields[1:]
		case "options":
			options = append(options, strings.Join(fields, " "))
		}
	}
	if all := searchList(search, origSearch); len(all) > 0 {
		b.WriteString("search " + strings.Join(all, " ") + "\n")
	}
	for _, o := range options {
		b.WriteString(o + "\n")
	}
	return b.Bytes()
}

// searchList returns ours (normalized, valid names only) followed by
// the original search domains, without repeats.
func searchList(ours, orig []string) []string {
	var out []string
	for _, d := range normalizeDomains(ours) {
		if validDomain(d) {
			out = append(out, d)
		}
	}
	for _, d := range orig {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, strings.TrimSuffix(d, ".")) }) {
			out = append(out, d)
		}
	}
	return out
}

// parseNameservers returns the addresses of resolv.conf(5)'s nameserver
// lines, in order. Lines it cannot parse are skipped.
func parseNameservers(content []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 4096), maxFile)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(fields[1]); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// buildResolverFile returns a macOS resolver(5) file sending a domain to
// the magic DNS nameservers, with the search domains for bare names.
func buildResolverFile(nameservers []netip.Addr, search []string) []byte {
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	for _, ns := range nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if all := searchList(search, nil); len(all) > 0 {
		b.WriteString("search " + strings.Join(all, " ") + "\n")
	}
	return b.Bytes()
}

// resolverPaths returns dir/<domain> for each domain, refusing names
// that are not plain DNS names.
func resolverPaths(dir string, domains []string) ([]string, error) {
	domains = normalizeDomains(domains)
	if len(domains) == 0 {
		return nil, errors.New("dns: no domains to route to magic DNS")
	}
	var out []string
	for _, d := range domains {
		if !validDomain(d) {
			return nil, fmt.Errorf("dns: invalid domain %q", d)
		}
		out = append(out, filepath.Join(dir, d))
	}
	return out, nil
}

// validDomain reports whether d is dot-separated labels of letters,
// digits and hyphens.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
