//go:build installers

// Package installers inspects the installers that `make test-installers`
// builds (mk/installer.mk): the cross-built ray binaries, the Windows MSI,
// the macOS disk image and the Debian package, and installs and removes the
// .deb on this machine. The GUI binaries (rayfish.exe, the Linux rayfish)
// and wintun.dll in these test builds are PLACEHOLDER files made by the make
// target, marked as such in their contents; the tests check that they were
// packaged, not that they run.
//
// Run with: make test-installers (it sets INSTALLER_OUT, PKG_VERSION and
// UPGRADE_VERSION).
package installers

import (
	"bytes"
	"debug/buildinfo"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/platform/paths"
	"github.com/rayfish/rayfish/platform/service"
)

// The MSI's UpgradeCode (installer/windows/rayfish.wxs): fixed forever.
const upgradeCode = "{6C2F9E53-0D7B-4A8E-9B1C-52A7D3E4F801}"

type env struct {
	out, version, upgradeVersion string
}

func getEnv(t *testing.T) env {
	t.Helper()
	e := env{os.Getenv("INSTALLER_OUT"), os.Getenv("PKG_VERSION"), os.Getenv("UPGRADE_VERSION")}
	if e.out == "" || e.version == "" || e.upgradeVersion == "" {
		t.Fatal("INSTALLER_OUT, PKG_VERSION and UPGRADE_VERSION must be set: run `make test-installers`")
	}
	return e
}

func (e env) path(parts ...string) string { return filepath.Join(append([]string{e.out}, parts...)...) }

// run runs a command and returns its standard output; it fails the test on
// a non-zero exit.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func checkFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return b
}

// checkRayBinary checks a ray binary's Go build info and machine type.
func checkRayBinary(t *testing.T, path, goos, goarch string) {
	t.Helper()
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: no Go build info: %v", path, err)
	}
	if bi.Path != "github.com/rayfish/rayfish/app/ray" {
		t.Errorf("%s: main package %q", path, bi.Path)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("%s: build setting %s = %q, want %q", path, k, settings[k], v)
		}
	}
	// -trimpath keeps -ldflags out of the build info: look for the string
	// that -X github.com/rayfish/rayfish/app/buildinfo.Version= put in.
	if b := checkFile(t, path); !bytes.Contains(b, []byte(os.Getenv("PKG_VERSION")+"+")) {
		t.Errorf("%s: version %s+... not stamped", path, os.Getenv("PKG_VERSION"))
	}
	switch goos {
	case "windows":
		f, err := pe.Open(path)
		if err != nil {
			t.Fatalf("%s: not a PE executable: %v", path, err)
		}
		defer f.Close()
		machine := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[goarch]
		if f.Machine != machine {
			t.Errorf("%s: PE machine %#x, want %#x", path, f.Machine, machine)
		}
	case "darwin":
		f, err := macho.Open(path)
		if err != nil {
			t.Fatalf("%s: not a Mach-O executable: %v", path, err)
		}
		defer f.Close()
		cpu := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != cpu || f.Type != macho.TypeExec {
			t.Errorf("%s: Mach-O cpu %v type %v, want %v executable", path, f.Cpu, f.Type, cpu)
		}
	}
}

func TestCrossBuilds(t *testing.T) {
	e := getEnv(t)
	for _, target := range []string{"windows/amd64", "windows/arm64", "darwin/amd64", "darwin/arm64"} {
		goos, goarch, _ := strings.Cut(target, "/")
		name := "ray-" + goos + "-" + goarch
		if goos == "windows" {
			name += ".exe"
		}
		path := e.path("cross", name)
		checkRayBinary(t, path, goos, goarch)
		fi, _ := os.Stat(path)
		t.Logf("cross %s: %s, %d bytes, CGO_ENABLED=0", target, name, fi.Size())
	}
}

// msiTable returns the rows of an MSI table, keyed by their first column.
func msiTable(t *testing.T, msi, table string) map[string][]string {
	t.Helper()
	out := run(t, "msiinfo", "export", msi, table)
	lines := strings.Split(strings.TrimRight(out, "\r\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("msiinfo export %s: %q", table, out)
	}
	rows := map[string][]string{}
	for _, l := range lines[3:] { // column names, types, table name + keys
		f := strings.Split(strings.TrimRight(l, "\r"), "\t")
		rows[f[0]] = f
	}
	return rows
}

func msiProperty(t *testing.T, msi, name string) string {
	t.Helper()
	row := msiTable(t, msi, "Property")[name]
	if len(row) < 2 {
		t.Fatalf("%s: no property %s", msi, name)
	}
	return row[1]
}

func TestMSI(t *testing.T) {
	e := getEnv(t)
	msi := e.path("rayfish-" + e.version + "-x64.msi")
	checkFile(t, msi)

	tables := strings.Fields(run(t, "msiinfo", "tables", msi))
	for _, want := range []string{"File", "Component", "Directory", "ServiceInstall", "ServiceControl",
		"Shortcut", "Upgrade", "Icon", "CustomAction", "InstallExecuteSequence"} {
		if !slices.Contains(tables, want) {
			t.Errorf("MSI has no %s table (tables: %v)", want, tables)
		}
	}
	if got := msiProperty(t, msi, "ProductVersion"); got != e.version {
		t.Errorf("ProductVersion = %q, want %q", got, e.version)
	}
	if sum := run(t, "msiinfo", "suminfo", msi); !strings.Contains(sum, "Template: x64;1033") {
		t.Errorf("not an x64 package:\n%s", sum)
	}

	t.Run("files", func(t *testing.T) {
		files := msiTable(t, msi, "File")
		for _, name := range []string{"ray.exe", "rayfish.exe", "wintun.dll"} {
			row := files[name]
			if len(row) < 4 || row[2] != name {
				t.Errorf("File row for %s: %q", name, row)
				continue
			}
			src := checkFile(t, e.path("windows", name))
			if row[3] != strconv.Itoa(len(src)) {
				t.Errorf("%s: MSI size %s, staged file %d bytes", name, row[3], len(src))
			}
		}
		dirs := msiTable(t, msi, "Directory")
		if d := dirs["INSTALLDIR"]; len(d) < 3 || d[1] != "ProgramFiles64Folder" || d[2] != "rayfish" {
			t.Errorf("INSTALLDIR = %q, want Program Files\\rayfish", d)
		}
		// The cabinet really holds the files: extract and compare.
		dir := t.TempDir()
		run(t, "msiextract", "-C", dir, msi)
		for _, name := range []string{"ray.exe", "rayfish.exe", "wintun.dll"} {
			got := checkFile(t, filepath.Join(dir, "rayfish", name))
			if want := checkFile(t, e.path("windows", name)); !bytes.Equal(got, want) {
				t.Errorf("%s in the MSI differs from the staged file", name)
			}
		}
		checkRayBinary(t, filepath.Join(dir, "rayfish", "ray.exe"), "windows", "amd64")
		for _, name := range []string{"rayfish.exe", "wintun.dll"} {
			b := checkFile(t, filepath.Join(dir, "rayfish", name))
			if !bytes.HasPrefix(b, []byte("PLACEHOLDER")) {
				t.Errorf("%s is not the test placeholder: this test build expects placeholders", name)
			}
		}
		t.Logf("MSI files: ray.exe (real, windows/amd64), rayfish.exe and wintun.dll (PLACEHOLDERS in this test build)")
	})

	t.Run("service", func(t *testing.T) {
		row := msiTable(t, msi, "ServiceInstall")["RayfishService"]
		// Name DisplayName ServiceType StartType ErrorControl LoadOrderGroup
		// Dependencies StartName Password Arguments Component_ Description
		if len(row) < 12 {
			t.Fatalf("ServiceInstall row: %q", row)
		}
		checks := []struct{ what, got, want string }{
			{"Name", row[1], "rayfish"},
			{"DisplayName", row[2], service.DisplayName},
			{"ServiceType", row[3], "16"}, // SERVICE_WIN32_OWN_PROCESS
			{"StartType", row[4], "2"},    // SERVICE_AUTO_START
			{"ErrorControl", row[5], "1"}, // SERVICE_ERROR_NORMAL
			{"StartName", row[8], "LocalSystem"},
			{"Component_", row[11], "RayExe"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("ServiceInstall %s = %q, want %q", c.what, c.got, c.want)
			}
		}
		// The arguments are those `ray install` uses (platform/service),
		// with Windows Installer's [CommonAppDataFolder] for C:\ProgramData\.
		spec := service.SpecFor("windows", `C:\Program Files\rayfish\ray.exe`,
			paths.For("windows", func(string) string { return "" }, func(string) bool { return false }))
		args := strings.ReplaceAll(row[10], "[CommonAppDataFolder]", `C:\ProgramData\`)
		args = strings.ReplaceAll(args, `"`, "")
		if want := strings.Join(spec.Args(), " "); args != want {
			t.Errorf("service arguments %q (resolved %q), want %q", row[10], args, want)
		}
		ctl := msiTable(t, msi, "ServiceControl")["RayfishServiceControl"]
		if len(ctl) < 6 || ctl[1] != "rayfish" || ctl[4] != "1" || ctl[5] != "RayExe" {
			t.Fatalf("ServiceControl row: %q", ctl)
		}
		ev, _ := strconv.Atoi(ctl[2])
		for bit, what := range map[int]string{2: "stop on install", 32: "stop on uninstall", 128: "delete on uninstall"} {
			if ev&bit == 0 {
				t.Errorf("ServiceControl events %d lack %s", ev, what)
			}
		}
		// A failed StartServices rolls the installation back; the
		// KickService custom action starts it instead (see "custom actions").
		if ev&1 != 0 {
			t.Errorf("ServiceControl events %d start the service on install: a failed start would undo the installation", ev)
		}
		t.Logf("MSI service: %s, auto start, LocalSystem, args %q, events %d (stop on install, stop+delete on uninstall; started by KickService)", row[1], row[10], ev)
	})

	t.Run("shortcut", func(t *testing.T) {
		row := msiTable(t, msi, "Shortcut")["RayfishShortcut"]
		// Shortcut Directory_ Name Component_ Target Arguments Description Hotkey Icon_
		if len(row) < 9 || row[1] != "ProgramMenuFolder" || row[2] != "rayfish" || row[4] != "[INSTALLDIR]rayfish.exe" || row[8] != "rayfish.ico" {
			t.Errorf("Start-menu shortcut row: %q", row)
		}
		if _, ok := msiTable(t, msi, "Icon")["rayfish.ico"]; !ok {
			t.Error("no rayfish.ico in the Icon table")
		}
		ico := checkFile(t, e.path("windows", "rayfish.ico"))
		if out := run(t, "icotool", "-l", e.path("windows", "rayfish.ico")); !strings.Contains(out, "--width=256 --height=256") {
			t.Errorf("rayfish.ico (%d bytes) lacks a 256x256 image:\n%s", len(ico), out)
		}
	})

	t.Run("custom actions", func(t *testing.T) {
		ca := msiTable(t, msi, "CustomAction")
		// 3154 = exe from an installed file (18) + ignore exit code (64) +
		// deferred (1024) + no impersonation, i.e. LocalSystem (2048).
		for id, target := range map[string]string{"AddToPath": "system-path add", "RemoveFromPath": "system-path remove",
			"AddFirewallRule": "system-firewall add", "RemoveFirewallRule": "system-firewall remove", "KickService": "service-kick"} {
			if row := ca[id]; len(row) < 4 || row[1] != "3154" || row[2] != "ray.exe" || row[3] != target {
				t.Errorf("CustomAction %s: %q", id, row)
			}
		}
		// 210 = exe from an installed file (18) + asynchronous, no wait (192),
		// as the user who runs the installer.
		if row := ca["LaunchTrayApp"]; len(row) < 3 || row[1] != "210" || row[2] != "rayfish.exe" {
			t.Errorf("CustomAction LaunchTrayApp: %q", row)
		}
		seq := msiTable(t, msi, "InstallExecuteSequence")
		num := func(a string) int {
			n, err := strconv.Atoi(seq[a][2])
			if err != nil {
				t.Fatalf("sequence of %s: %q", a, seq[a])
			}
			return n
		}
		lo, hi := num("InstallInitialize"), num("InstallFinalize")
		if n := num("AddToPath"); n <= num("InstallFiles") || n >= hi {
			t.Errorf("AddToPath at %d: must run after InstallFiles and before InstallFinalize %d", n, hi)
		}
		if n := num("RemoveFromPath"); n <= lo || n >= num("RemoveFiles") {
			t.Errorf("RemoveFromPath at %d: must run inside the script (after %d) and before RemoveFiles", n, lo)
		}
		if n := num("AddFirewallRule"); n <= num("InstallFiles") || n >= hi {
			t.Errorf("AddFirewallRule at %d: must run after InstallFiles and before InstallFinalize %d", n, hi)
		}
		if n := num("RemoveFirewallRule"); n <= lo || n >= num("RemoveFiles") {
			t.Errorf("RemoveFirewallRule at %d: must run inside the script and before RemoveFiles", n)
		}
		if n := num("KickService"); n <= num("InstallServices") || n >= hi {
			t.Errorf("KickService at %d: must run after InstallServices and before InstallFinalize %d", n, hi)
		}
		if n := num("LaunchTrayApp"); n <= hi || seq["LaunchTrayApp"][1] != "NOT Installed AND UILevel >= 5" {
			t.Errorf("LaunchTrayApp at %d if %q: must run after InstallFinalize, on a first install with the full UI", n, seq["LaunchTrayApp"][1])
		}
		if n := num("RemoveExistingProducts"); n <= num("InstallValidate") || n >= lo {
			t.Errorf("RemoveExistingProducts at %d: must run between InstallValidate and InstallInitialize", n)
		}
	})

	t.Run("run at login", func(t *testing.T) {
		// Registry Root Key Name Value Component_
		want := []string{"2", `Software\Microsoft\Windows\CurrentVersion\Run`, "rayfish", `"[INSTALLDIR]rayfish.exe" --autostart`, "RunAtLogin"}
		var found [][]string
		for _, row := range msiTable(t, msi, "Registry") {
			if len(row) >= 6 && row[5] == "RunAtLogin" {
				found = append(found, row)
			}
		}
		if len(found) != 1 || !slices.Equal(found[0][1:6], want) {
			t.Errorf("Run key rows %q, want one: HKLM (2) %q", found, want)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		newer := e.path("rayfish-" + e.upgradeVersion + "-x64.msi")
		checkFile(t, newer)
		for _, m := range []string{msi, newer} {
			if got := msiProperty(t, m, "UpgradeCode"); got != upgradeCode {
				t.Errorf("%s: UpgradeCode %s, want %s", filepath.Base(m), got, upgradeCode)
			}
		}
		if a, b := msiProperty(t, msi, "ProductCode"), msiProperty(t, newer, "ProductCode"); a == b {
			t.Errorf("both MSIs have ProductCode %s: a major upgrade needs a new one", a)
		}
		if got := msiProperty(t, newer, "ProductVersion"); got != e.upgradeVersion {
			t.Errorf("newer ProductVersion = %q", got)
		}
		// MajorUpgrade: an Upgrade row that finds older versions of the same
		// UpgradeCode, and RemoveExistingProducts in the sequence.
		out := run(t, "msiinfo", "export", newer, "Upgrade")
		found := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Split(strings.TrimRight(l, "\r"), "\t")
			if len(f) >= 7 && f[0] == upgradeCode && f[1] == "" && f[2] == e.upgradeVersion && f[6] == "WIX_UPGRADE_DETECTED" {
				found = true
			}
		}
		if !found {
			t.Errorf("no Upgrade row detecting older versions:\n%s", out)
		}
		if _, ok := msiTable(t, newer, "InstallExecuteSequence")["RemoveExistingProducts"]; !ok {
			t.Error("no RemoveExistingProducts action")
		}
	})
	fi, _ := os.Stat(msi)
	t.Logf("MSI %s: %d bytes", filepath.Base(msi), fi.Size())
}

// plistDict decodes a flat plist dict: strings, booleans and one string
// array (returned under its key).
func plistDict(t *testing.T, data []byte) (map[string]string, map[string][]string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	vals, arrays := map[string]string{}, map[string][]string{}
	var key, elem string
	var inArray bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist is not well-formed: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			elem = tk.Name.Local
			switch elem {
			case "array":
				inArray = true
			case "true", "false":
				vals[key] = elem
			}
		case xml.EndElement:
			if tk.Name.Local == "array" {
				inArray = false
			}
			elem = ""
		case xml.CharData:
			switch {
			case elem == "key":
				key = string(tk)
			case inArray && elem == "string":
				arrays[key] = append(arrays[key], string(tk))
			case elem == "string" || elem == "integer":
				vals[key] = string(tk)
			}
		}
	}
	return vals, arrays
}

func isoExtract(t *testing.T, img, path string) []byte {
	t.Helper()
	return []byte(run(t, "isoinfo", "-R", "-i", img, "-x", path))
}

func TestDMG(t *testing.T) {
	e := getEnv(t)
	img := e.path("rayfish-" + e.version + "-macos.dmg")
	checkFile(t, img)

	files := strings.Fields(run(t, "isoinfo", "-R", "-f", "-i", img))
	for _, want := range []string{
		"/Rayfish.app/Contents/Info.plist",
		"/Rayfish.app/Contents/PkgInfo",
		"/Rayfish.app/Contents/Resources/rayfish.icns",
		"/bin/ray-arm64",
		"/bin/ray-amd64",
		"/dev.rayfish.daemon.plist",
		"/install.sh",
		"/uninstall.sh",
		"/README.txt",
	} {
		if !slices.Contains(files, want) {
			t.Errorf("disk image lacks %s (has %v)", want, files)
		}
	}
	// Built on Linux: no tray app binary, and the README says so.
	if slices.Contains(files, "/Rayfish.app/Contents/MacOS/rayfish") {
		t.Error("a Linux-built image claims to have the macOS tray app")
	}
	readme := string(isoExtract(t, img, "/README.txt"))
	if !strings.Contains(readme, "INCOMPLETE") || !strings.Contains(readme, "Rayfish.app/Contents/MacOS/rayfish is missing") {
		t.Errorf("README.txt does not say what was left out:\n%s", readme)
	}
	if strings.Contains(readme, "@") {
		t.Errorf("README.txt has unreplaced markers:\n%s", readme)
	}

	// Executable bits survive in the image (Rock Ridge).
	listing := run(t, "isoinfo", "-R", "-l", "-i", img)
	for _, name := range []string{"install.sh", "uninstall.sh", "ray-arm64", "ray-amd64"} {
		ok := false
		for _, l := range strings.Split(listing, "\n") {
			if strings.HasSuffix(strings.TrimSpace(l), " "+name) && strings.HasPrefix(l, "-rwxr-xr-x") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s is not mode 0755 in the image", name)
		}
	}

	info, _ := plistDict(t, isoExtract(t, img, "/Rayfish.app/Contents/Info.plist"))
	for k, v := range map[string]string{
		"CFBundleIdentifier":         "dev.rayfish.app",
		"CFBundleExecutable":         "rayfish",
		"CFBundleName":               "rayfish",
		"CFBundlePackageType":        "APPL",
		"CFBundleIconFile":           "rayfish.icns",
		"CFBundleShortVersionString": e.version,
		"LSUIElement":                "true",
	} {
		if info[k] != v {
			t.Errorf("Info.plist %s = %q, want %q", k, info[k], v)
		}
	}

	// The launchd job is the one `ray install` writes on macOS.
	plist := isoExtract(t, img, "/dev.rayfish.daemon.plist")
	spec := service.SpecFor("darwin", "/usr/local/bin/ray",
		paths.For("darwin", func(string) string { return "" }, func(string) bool { return true }))
	want, err := service.LaunchdPlist(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(plist) != want {
		t.Errorf("launchd plist differs from platform/service's:\n%s", plist)
	}
	vals, arrays := plistDict(t, plist)
	if vals["Label"] != "dev.rayfish.daemon" || vals["KeepAlive"] != "true" || vals["RunAtLoad"] != "true" {
		t.Errorf("launchd plist: %v", vals)
	}
	if args := arrays["ProgramArguments"]; !reflect.DeepEqual(args, append([]string{"/usr/local/bin/ray"}, spec.Args()...)) {
		t.Errorf("ProgramArguments = %q", args)
	}

	dir := t.TempDir()
	for _, arch := range []string{"arm64", "amd64"} {
		p := filepath.Join(dir, "ray-"+arch)
		if err := os.WriteFile(p, isoExtract(t, img, "/bin/ray-"+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		checkRayBinary(t, p, "darwin", arch)
	}
	for _, s := range []string{"/install.sh", "/uninstall.sh"} {
		p := filepath.Join(dir, filepath.Base(s))
		os.WriteFile(p, isoExtract(t, img, s), 0o755)
		run(t, "sh", "-n", p)
	}
	install := string(isoExtract(t, img, "/install.sh"))
	for _, want := range []string{"/Library/LaunchDaemons/$label.plist", "bin/ray-$arch", "launchctl bootstrap system"} {
		if !strings.Contains(install, want) {
			t.Errorf("install.sh lacks %q", want)
		}
	}

	// The icon: icns2png (libicns) finds and decodes the 256x256 image.
	icns := filepath.Join(dir, "rayfish.icns")
	os.WriteFile(icns, isoExtract(t, img, "/Rayfish.app/Contents/Resources/rayfish.icns"), 0o644)
	checkICNS(t, checkFile(t, icns))
	out := run(t, "icns2png", "-x", "-o", dir, icns)
	pngs, _ := filepath.Glob(filepath.Join(dir, "rayfish_256x256*.png"))
	if len(pngs) != 1 {
		t.Fatalf("icns2png extracted %v\n%s", pngs, out)
	}
	f, err := os.Open(pngs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Errorf("icns 256x256 image: %+v %v", cfg, err)
	}
	fi, _ := os.Stat(img)
	t.Logf("DMG %s: %d bytes (ISO 9660 + Rock Ridge + Apple extensions; no tray app binary: built on Linux)", filepath.Base(img), fi.Size())
}

// checkICNS parses an .icns file: a header whose length is the file's, then
// elements whose PNG images have the size their type says.
func checkICNS(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 8 || string(b[:4]) != "icns" || int(binary.BigEndian.Uint32(b[4:8])) != len(b) {
		t.Fatalf("bad icns header (%d bytes)", len(b))
	}
	sizes := map[string]int{"icp4": 16, "icp5": 32, "ic11": 32, "ic12": 64, "ic07": 128, "ic08": 256, "ic13": 256}
	var types []string
	for rest := b[8:]; len(rest) > 0; {
		if len(rest) < 8 {
			t.Fatalf("truncated icns element")
		}
		typ, n := string(rest[:4]), int(binary.BigEndian.Uint32(rest[4:8]))
		if n < 8 || n > len(rest) {
			t.Fatalf("icns element %q length %d", typ, n)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(rest[8:n]))
		if err != nil || cfg.Width != sizes[typ] || cfg.Height != sizes[typ] {
			t.Errorf("icns element %q: %dx%d %v, want %d pixels", typ, cfg.Width, cfg.Height, err, sizes[typ])
		}
		types = append(types, typ)
		rest = rest[n:]
	}
	if !slices.Contains(types, "ic08") || !slices.Contains(types, "icp4") {
		t.Errorf("icns elements %v lack 256x256 (ic08) or 16x16 (icp4)", types)
	}
}

func TestDeb(t *testing.T) {
	e := getEnv(t)
	debs, _ := filepath.Glob(e.path("rayfish_" + e.version + "_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("want one .deb in %s, found %v", e.out, debs)
	}
	deb := debs[0]

	// Files, owners and modes.
	listing := run(t, "dpkg-deb", "-c", deb)
	wantFiles := map[string]string{
		"./usr/bin/ray":                                      "-rwxr-xr-x",
		"./usr/bin/rayfish":                                  "-rwxr-xr-x",
		"./lib/systemd/system/rayfish.service":               "-rw-r--r--",
		"./usr/share/applications/dev.rayfish.app.desktop":   "-rw-r--r--",
		"./usr/share/icons/hicolor/256x256/apps/rayfish.png": "-rw-r--r--",
		"./usr/share/doc/rayfish/copyright":                  "-rw-r--r--",
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(listing, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		if f[1] != "root/root" {
			t.Errorf("%s owned by %s", f[5], f[1])
		}
		if mode, ok := wantFiles[f[5]]; ok {
			seen[f[5]] = true
			if f[0] != mode {
				t.Errorf("%s mode %s, want %s", f[5], f[0], mode)
			}
		}
	}
	for p := range wantFiles {
		if !seen[p] {
			t.Errorf(".deb lacks %s", p)
		}
	}

	// Control fields and maintainer scripts.
	fields := map[string]string{}
	for _, k := range []string{"Package", "Version", "Architecture", "Depends"} {
		fields[k] = strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, k))
	}
	if fields["Package"] != "rayfish" || fields["Version"] != e.version {
		t.Errorf("control: %v", fields)
	}
	if !strings.Contains(fields["Depends"], "iproute2") {
		t.Errorf("Depends %q lacks iproute2", fields["Depends"])
	}
	info := run(t, "dpkg-deb", "-I", deb)
	ctl := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, ctl)
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if !strings.Contains(info, " "+s+" ") {
			t.Errorf("dpkg-deb -I does not list %s", s)
		}
		fi, err := os.Stat(filepath.Join(ctl, s))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", s, fi, err)
			continue
		}
		run(t, "sh", "-n", filepath.Join(ctl, s))
	}
	postinst := string(checkFile(t, filepath.Join(ctl, "postinst")))
	for _, want := range []string{"[ -d /run/systemd/system ]", "systemctl enable rayfish.service", "systemctl restart rayfish.service"} {
		if !strings.Contains(postinst, want) {
			t.Errorf("postinst lacks %q", want)
		}
	}
	if prerm := string(checkFile(t, filepath.Join(ctl, "prerm"))); !strings.Contains(prerm, "systemctl stop rayfish.service") {
		t.Error("prerm does not stop the service")
	}

	// Contents: the unit is platform/service's, the desktop entry is valid,
	// the icon is 256x256, ray is a Linux build.
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	unit := checkFile(t, filepath.Join(root, "lib/systemd/system/rayfish.service"))
	spec := service.SpecFor("linux", "/usr/bin/ray",
		paths.For("linux", func(string) string { return "" }, func(p string) bool { return p == "/run" }))
	wantUnit, err := service.SystemdUnit(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(unit) != wantUnit {
		t.Errorf("systemd unit differs from platform/service's:\n%s", unit)
	}
	for _, line := range []string{
		"ExecStart=/usr/bin/ray service-run --state-dir /var/lib/rayfish --socket /run/rayfish/rayfish.sock",
		"Restart=always",
	} {
		if !strings.Contains(string(unit), line+"\n") {
			t.Errorf("unit lacks %q", line)
		}
	}
	desktop := filepath.Join(root, "usr/share/applications/dev.rayfish.app.desktop")
	if out, err := exec.Command("desktop-file-validate", desktop).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("desktop-file-validate: %v\n%s", err, out)
	}
	if d := string(checkFile(t, desktop)); !strings.Contains(d, "\nExec=rayfish\n") || !strings.Contains(d, "\nIcon=rayfish\n") {
		t.Errorf("desktop entry:\n%s", d)
	}
	f, err := os.Open(filepath.Join(root, "usr/share/icons/hicolor/256x256/apps/rayfish.png"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Errorf("icon: %+v %v", cfg, err)
	}
	goarch := map[string]string{"amd64": "amd64", "arm64": "arm64", "i386": "386", "armhf": "arm"}[fields["Architecture"]]
	checkRayBinary(t, filepath.Join(root, "usr/bin/ray"), "linux", goarch)
	fi, _ := os.Stat(deb)
	t.Logf(".deb %s: %d bytes, Depends: %s (rayfish is a PLACEHOLDER in this test build)", filepath.Base(deb), fi.Size(), fields["Depends"])

	t.Run("install", func(t *testing.T) { installDeb(t, deb, e.version) })
}

// installDeb installs the package on this machine, runs the installed
// `ray version`, and removes the package again.
func installDeb(t *testing.T, deb, version string) {
	if os.Geteuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	status := func() string {
		out, _ := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", "rayfish").Output()
		return string(out)
	}
	if status() == "installed" {
		t.Skip("a rayfish package is already installed on this machine; not replacing it")
	}
	for _, p := range []string{"/usr/bin/ray", "/usr/bin/rayfish"} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists outside the package system; not overwriting it", p)
		}
	}
	t.Cleanup(func() {
		if status() == "installed" {
			exec.Command("dpkg", "-r", "rayfish").Run()
		}
	})

	out, err := exec.Command("dpkg", "-i", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	if st := status(); st != "installed" {
		t.Fatalf("after dpkg -i, status %q\n%s", st, out)
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil && !strings.Contains(string(out), "systemd is not running") {
		t.Errorf("postinst did not explain that it skipped the service without systemd:\n%s", out)
	}

	// `ray` on the PATH is the packaged one, and it runs.
	cmd := exec.Command("sh", "-c", "command -v ray && ray version")
	cmd.Env = append(os.Environ(), "PATH=/usr/bin:/bin", "RAY_SOCKET=/nonexistent/rayfish-installer-test.sock")
	vout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ray version: %v\n%s", err, vout)
	}
	lines := strings.Split(string(vout), "\n")
	if lines[0] != "/usr/bin/ray" || !strings.HasPrefix(lines[1], "ray "+version) {
		t.Errorf("installed ray: %q", vout)
	}
	t.Logf("dpkg -i: %q on the PATH; `ray version` printed %q", lines[0], lines[1])

	out, err = exec.Command("dpkg", "-r", "rayfish").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, out)
	}
	if st := status(); st == "installed" {
		t.Errorf("after dpkg -r, status %q", st)
	}
	for _, p := range []string{"/usr/bin/ray", "/usr/bin/rayfish", "/lib/systemd/system/rayfish.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s still there after dpkg -r", p)
		}
	}
	// -r keeps the configuration, the group rayfish included; purge does not.
	if out, err := exec.Command("dpkg", "--purge", "rayfish").CombinedOutput(); err != nil {
		t.Errorf("dpkg --purge: %v\n%s", err, out)
	}
	if exec.Command("getent", "group", "rayfish").Run() == nil {
		t.Error("group rayfish still there after dpkg --purge")
	}
}
