package dns

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuildResolvConf(t *testing.T) {
	tests := []struct {
		name     string
		original string
		servers  []netip.Addr
		search   []string
		want     []string // lines after the header comments
	}{
		{
			name:     "search and options kept",
			original: userResolvConf,
			servers:  magic,
			want: []string{
				"nameserver 100.100.100.53", "nameserver fd72:6179:6669::53",
				"search corp.example lab.example", "options edns0 ndots:2",
			},
		},
		{
			name:     "the last of domain and search wins, comments dropped",
			original: "domain a.example ; x\nsearch b.example\n#search c.example\nnameserver 1.2.3.4\n",
			servers:  magic[:1],
			want:     []string{"nameserver 100.100.100.53", "search b.example"},
		},
		{
			name:     "search domains first, then the original's, one line",
			original: userResolvConf,
			servers:  magic[:1],
			search:   []string{"ray", "Home.ray.", "ray", "bad_name"},
			want: []string{
				"nameserver 100.100.100.53",
				"search ray home.ray corp.example lab.example", "options edns0 ndots:2",
			},
		},
		{
			name:     "a domain line becomes part of the search line",
			original: "domain home.ray\nnameserver 1.2.3.4\n",
			servers:  magic[:1],
			search:   []string{"ray", "home.ray"},
			want:     []string{"nameserver 100.100.100.53", "search ray home.ray"},
		},
		{
			name:    "search domains without an original",
			servers: magic[:1],
			search:  []string{"ray"},
			want:    []string{"nameserver 100.100.100.53", "search ray"},
		},
		{
			name:     "at most three nameservers",
			original: "",
			servers:  []netip.Addr{magic4, magic6, netip.MustParseAddr("100.100.100.54"), netip.MustParseAddr("100.100.100.55")},
			want:     []string{"nameserver 100.100.100.53", "nameserver fd72:6179:6669::53", "nameserver 100.100.100.54"},
		},
		{
			name:    "no original",
			servers: magic[:1],
			want:    []string{"nameserver 100.100.100.53"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(buildResolvConf([]byte(tt.original), tt.servers, tt.search))
			if !strings.HasPrefix(got, Header+"\n") {
				t.Errorf("no header:\n%s", got)
			}
			var lines []string
			for l := range strings.Lines(got) {
				if !strings.HasPrefix(l, "#") {
					lines = append(lines, strings.TrimSuffix(l, "\n"))
				}
			}
			if !slices.Equal(lines, tt.want) {
				t.Errorf("lines = %q, want %q", lines, tt.want)
			}
			if !isOurs([]byte(got)) {
				t.Error("built file not recognised as rayfish's")
			}
		})
	}
}

func TestParseNameserversAndUpstreams(t *testing.T) {
	content := "nameserver 198.18.0.53\nnameserver 198.18.0.53\nnameserver fe80::1%eth0\n" +
		"nameserver bogus\nnameserver 0.0.0.0\n  nameserver 100.100.100.53 # ours\n;nameserver 9.9.9.9\nnameserver ::ffff:198.18.0.54\n"
	got := toUpstreams(parseNameservers([]byte(content)), magic)
	want := []netip.AddrPort{
		netip.MustParseAddrPort("198.18.0.53:53"),
		netip.MustParseAddrPort("[fe80::1%eth0]:53"),
		netip.MustParseAddrPort("198.18.0.54:53"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("upstreams = %v, want %v", got, want)
	}
}

func TestNormalizeDomains(t *testing.T) {
	got := normalizeDomains([]string{"ray", "~Ray.", ".home.ray", "", " ~ ", "home.ray"})
	if want := []string{"ray", "home.ray"}; !slices.Equal(got, want) {
		t.Errorf("normalizeDomains = %q, want %q", got, want)
	}
	for d, ok := range map[string]bool{"ray": true, "home.ray": true, "a-b.ray": true, "../etc": false, "a/b": false, "a..b": false, "": false} {
		if validDomain(d) != ok {
			t.Errorf("validDomain(%q) = %v", d, !ok)
		}
	}
}

// resolvConfEnv is a temporary resolv.conf and state directory.
type resolvConfEnv struct {
	path, stateDir string
}

func newEnv(t *testing.T) resolvConfEnv {
	dir := t.TempDir()
	return resolvConfEnv{path: filepath.Join(dir, "etc", "resolv.conf"), stateDir: filepath.Join(dir, "state")}
}

func (e resolvConfEnv) manager(t *testing.T) Manager {
	return newResolvConf(e.path, e.stateDir, testLog(t))
}

var applyCfg = Config{Interface: "ray0", Nameservers: magic, Domains: []string{"ray"}}

func TestResolvConfApplyRestore(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o640)
	m := e.manager(t)
	if m.Mode() != ModeResolvConf {
		t.Errorf("Mode() = %q", m.Mode())
	}

	before, err := m.Upstreams(magic...)
	if err != nil {
		t.Fatal(err)
	}
	wantUps := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.53:53"), netip.MustParseAddrPort("[2001:db8::53]:53")}
	if !slices.Equal(before, wantUps) {
		t.Errorf("Upstreams before Apply = %v, want %v", before, wantUps)
	}

	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, e.path)
	for _, want := range []string{Header, "nameserver 100.100.100.53\n", "search corp.example lab.example\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("managed resolv.conf lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "198.18.0.53") {
		t.Errorf("managed resolv.conf still names the original server:\n%s", got)
	}
	if st, _ := os.Stat(e.path); st.Mode().Perm() != 0o640 {
		t.Errorf("managed file mode %v, want the original's 0640", st.Mode().Perm())
	}
	if st, err := os.Stat(statePath(e.stateDir)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup: %v, mode %v; want 0600", err, st.Mode().Perm())
	}

	// Upstreams after Apply come from the backup.
	after, err := m.Upstreams(magic...)
	if err != nil || !slices.Equal(after, wantUps) {
		t.Errorf("Upstreams after Apply = %v, %v; want %v", after, err, wantUps)
	}

	// Applying again keeps the first backup (not our own file).
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Errorf("restored resolv.conf =\n%s\nwant the original\n%s", got, userResolvConf)
	}
	if st, _ := os.Stat(e.path); st.Mode().Perm() != 0o640 {
		t.Errorf("restored file mode %v, want 0640", st.Mode().Perm())
	}
	if exists(statePath(e.stateDir)) {
		t.Error("backup left after Restore")
	}
	if err := m.Restore(); err != nil {
		t.Errorf("second Restore: %v", err)
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Error("second Restore changed the file")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(e.path), ".*rayfish*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestResolvConfCrashRecovery(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	if err := e.manager(t).Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	// The daemon dies here: no Restore. At the next start:
	if err := RecoverAfterCrash(e.stateDir, testLog(t)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Errorf("after recovery resolv.conf =\n%s", got)
	}
	if exists(statePath(e.stateDir)) {
		t.Error("backup left after recovery")
	}
	// Without a backup, recovery does nothing.
	if err := RecoverAfterCrash(e.stateDir, nil); err != nil {
		t.Errorf("RecoverAfterCrash without backup: %v", err)
	}
	if err := RecoverAfterCrash(filepath.Join(e.stateDir, "missing"), nil); err != nil {
		t.Errorf("RecoverAfterCrash with a missing dir: %v", err)
	}
}

func TestResolvConfSymlinkPreserved(t *testing.T) {
	e := newEnv(t)
	target := filepath.Join(filepath.Dir(e.path), "..", "run", "stub-resolv.conf")
	writeFile(t, target, userResolvConf, 0o644)
	if err := os.MkdirAll(filepath.Dir(e.path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../run/stub-resolv.conf", e.path); err != nil {
		t.Fatal(err)
	}
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(e.path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("managed resolv.conf is not a regular file: %v %v", fi.Mode(), err)
	}
	if got := readFile(t, target); got != userResolvConf {
		t.Errorf("the symlink's target was written through:\n%s", got)
	}
	if got := readFile(t, e.path); !strings.Contains(got, "search corp.example lab.example") {
		t.Errorf("search line from the link target not kept:\n%s", got)
	}
	ups, err := m.Upstreams(magic...)
	if err != nil || len(ups) != 2 {
		t.Errorf("Upstreams = %v, %v; want the target's two servers", ups, err)
	}

	// Crash, then recovery restores the link itself.
	if err := RecoverAfterCrash(e.stateDir, testLog(t)); err != nil {
		t.Fatal(err)
	}
	link, err := os.Readlink(e.path)
	if err != nil || link != "../run/stub-resolv.conf" {
		t.Errorf("after restore resolv.conf links to %q (%v), want ../run/stub-resolv.conf", link, err)
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Errorf("content through the restored link:\n%s", got)
	}
}

func TestResolvConfDanglingSymlink(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(filepath.Dir(e.path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent/rayfish-test/resolv.conf", e.path); err != nil {
		t.Fatal(err)
	}
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if link, err := os.Readlink(e.path); err != nil || link != "/nonexistent/rayfish-test/resolv.conf" {
		t.Errorf("dangling link not restored: %q %v", link, err)
	}
}

func TestResolvConfMissingOriginal(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readFile(t, e.path), "nameserver 100.100.100.53") {
		t.Error("resolv.conf not written")
	}
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if exists(e.path) {
		t.Error("resolv.conf that did not exist before is still there")
	}
}

func TestResolvConfRewrittenByOthersIsKept(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	const dhcp = "nameserver 198.18.0.99\n"
	writeFile(t, e.path, dhcp, 0o644) // a DHCP client renews
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); got != dhcp {
		t.Errorf("Restore overwrote a newer file:\n%s", got)
	}
	if exists(statePath(e.stateDir)) {
		t.Error("backup kept although it no longer applies")
	}
}

func TestResolvConfNeverLosesOriginal(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	// The state directory cannot be created (a file is in the way): the
	// backup fails, so the original must stay untouched.
	writeFile(t, e.stateDir, "not a directory", 0o644)
	m := e.manager(t)
	if err := m.Apply(applyCfg); err == nil {
		t.Fatal("Apply succeeded without a place for the backup")
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Errorf("original changed although its backup failed:\n%s", got)
	}
}

func TestApplyBackupFailureTouchesNothing(t *testing.T) {
	e := newEnv(t)
	parentFile := filepath.Join(filepath.Dir(e.stateDir), "blocker")
	writeFile(t, parentFile, "x", 0o644)
	m := newResolvConf(filepath.Join(parentFile, "resolv.conf"), e.stateDir, testLog(t))
	if err := m.Apply(applyCfg); err == nil {
		t.Fatal("Apply succeeded writing under a regular file")
	}
	if exists(statePath(e.stateDir)) {
		t.Error("backup left after a failed Apply")
	}
}

func TestApplyWriteFailureRollsBack(t *testing.T) {
	dir := t.TempDir()
	resolverDir, stateDir := filepath.Join(dir, "resolver"), filepath.Join(dir, "state")
	const foreign = "nameserver 198.18.0.1\n"
	writeFile(t, filepath.Join(resolverDir, "a.ray"), foreign, 0o644)
	m := newResolverDir(resolverDir, filepath.Join(dir, "resolv.conf"), stateDir, testLog(t))
	writes := 0
	m.write = func(path string, content []byte, perm os.FileMode, before func(fileID) error) error {
		if writes++; writes == 2 {
			return os.ErrPermission // the second file of Apply fails
		}
		return replaceFileTracked(path, content, perm, before)
	}
	if err := m.Apply(Config{Nameservers: magic, Domains: []string{"a.ray", "b.ray"}}); err == nil {
		t.Fatal("Apply succeeded although a write failed")
	}
	if got := readFile(t, filepath.Join(resolverDir, "a.ray")); got != foreign {
		t.Errorf("first file not rolled back:\n%s", got)
	}
	if exists(filepath.Join(resolverDir, "b.ray")) || exists(statePath(stateDir)) {
		t.Error("rollback left files behind")
	}
}

func TestUpstreamsOwnFileWithoutBackup(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, string(buildResolvConf(nil, magic, nil)), 0o644)
	if _, err := e.manager(t).Upstreams(magic...); err == nil {
		t.Error("Upstreams read rayfish's own file as the system's")
	}
}

func TestApplyValidates(t *testing.T) {
	e := newEnv(t)
	for _, cfg := range []Config{
		{},
		{Nameservers: []netip.Addr{{}}},
		{Nameservers: []netip.Addr{netip.IPv4Unspecified()}},
	} {
		if err := e.manager(t).Apply(cfg); err == nil {
			t.Errorf("Apply(%+v) succeeded", cfg)
		}
	}
	if exists(e.path) || exists(statePath(e.stateDir)) {
		t.Error("invalid Apply changed files")
	}
}

func TestDamagedBackup(t *testing.T) {
	e := newEnv(t)
	writeFile(t, statePath(e.stateDir), "{not json", 0o600)
	if err := RecoverAfterCrash(e.stateDir, nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("RecoverAfterCrash with a damaged backup = %v", err)
	}
}

func TestResolverDir(t *testing.T) {
	dir := t.TempDir()
	resolverDir := filepath.Join(dir, "resolver")
	resolvConf := filepath.Join(dir, "resolv.conf")
	stateDir := filepath.Join(dir, "state")
	writeFile(t, resolvConf, "nameserver 198.18.0.53\n", 0o644)
	// Someone else's file for a domain we are about to take over.
	writeFile(t, filepath.Join(resolverDir, "home.ray"), "nameserver 198.18.0.1\n", 0o644)

	m := newResolverDir(resolverDir, resolvConf, stateDir, testLog(t))
	if m.Mode() != ModeResolver {
		t.Errorf("Mode() = %q", m.Mode())
	}
	if err := m.Apply(Config{Nameservers: magic, Domains: []string{"ray", "home.ray"}}); err != nil {
		t.Fatal(err)
	}
	want := Header + "\n" + ownerPrefix + ownerName(stateDir) + "\nnameserver 100.100.100.53\nnameserver fd72:6179:6669::53\n"
	for _, d := range []string{"ray", "home.ray"} {
		if got := readFile(t, filepath.Join(resolverDir, d)); got != want {
			t.Errorf("resolver/%s =\n%s\nwant\n%s", d, got, want)
		}
	}
	ups, err := m.Upstreams(magic...)
	if err != nil || !slices.Equal(ups, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.53:53")}) {
		t.Errorf("Upstreams = %v, %v", ups, err)
	}

	// A different domain set restores the old files first.
	if err := m.Apply(Config{Nameservers: magic, Domains: []string{"ray"}}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(resolverDir, "home.ray")); got != "nameserver 198.18.0.1\n" {
		t.Errorf("foreign resolver file not restored on reconfigure:\n%s", got)
	}

	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(resolverDir, "ray")) {
		t.Error("resolver/ray left after Restore")
	}
	if got := readFile(t, filepath.Join(resolverDir, "home.ray")); got != "nameserver 198.18.0.1\n" {
		t.Errorf("foreign resolver file changed:\n%s", got)
	}

	for _, bad := range [][]string{nil, {"../x"}, {"a/b"}} {
		if err := m.Apply(Config{Nameservers: magic, Domains: bad}); err == nil {
			t.Errorf("Apply with domains %q succeeded", bad)
		}
	}
}

func TestBuildResolverFile(t *testing.T) {
	got := string(buildResolverFile([]netip.Addr{magic4}, []string{"ray", "home.ray"}))
	if want := Header + "\nnameserver 100.100.100.53\nsearch ray home.ray\n"; got != want {
		t.Errorf("buildResolverFile = %q, want %q", got, want)
	}
}

func TestResolvConfReapplyAfterOthersRewrote(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	const dhcp = "nameserver 198.18.0.99\nsearch new.example\n"
	writeFile(t, e.path, dhcp, 0o644) // a DHCP client renews while rayfish is up
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, e.path)
	if !strings.Contains(got, "nameserver 100.100.100.53") || !strings.Contains(got, "search new.example") {
		t.Errorf("re-applied file:\n%s", got)
	}
	ups, err := m.Upstreams(magic...)
	if err != nil || !slices.Equal(ups, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.99:53")}) {
		t.Errorf("Upstreams = %v, %v; want the new server", ups, err)
	}
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); got != dhcp {
		t.Errorf("restored:\n%s\nwant the DHCP client's version", got)
	}
}
