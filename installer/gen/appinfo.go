package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// appMeta is the part of FyneApp.toml the installers use.
type appMeta struct {
	Website string
	Details struct {
		Icon    string
		Name    string
		ID      string
		Version string
		Build   int
	}
	LinuxAndBSD struct {
		GenericName string
		Categories  []string
		Comment     string
		Keywords    []string
	}

	Version string `toml:"-"` // Details.Version, checked
}

var (
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	appIDRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z][A-Za-z0-9-]*)+$`)
)

func loadAppMeta(path string) (*appMeta, error) {
	var m appMeta
	if _, err := toml.DecodeFile(path, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &m, m.check(path)
}

func (m *appMeta) check(src string) error {
	d := m.Details
	if !versionRE.MatchString(d.Version) {
		return fmt.Errorf("%s: Details.Version %q is not x.y.z", src, d.Version)
	}
	if !appIDRE.MatchString(d.ID) {
		return fmt.Errorf("%s: Details.ID %q is not a reverse-DNS id", src, d.ID)
	}
	if d.Name == "" || strings.ContainsAny(d.Name, "/\n\r\t") {
		return fmt.Errorf("%s: bad Details.Name %q", src, d.Name)
	}
	if d.Build < 1 {
		m.Details.Build = 1
	}
	m.Version = d.Version
	return nil
}

// InfoPlist is the Info.plist of Rayfish.app. The bundle's executable is
// Contents/MacOS/<Name> and its icon Contents/Resources/<Name>.icns. The app
// lives in the menu bar (LSUIElement): no Dock icon.
func (m *appMeta) InfoPlist() string {
	d := m.Details
	kv := []struct{ k, v string }{
		{"CFBundleDevelopmentRegion", "en"},
		{"CFBundleDisplayName", d.Name},
		{"CFBundleExecutable", d.Name},
		{"CFBundleIconFile", d.Name + ".icns"},
		{"CFBundleIdentifier", d.ID},
		{"CFBundleInfoDictionaryVersion", "6.0"},
		{"CFBundleName", d.Name},
		{"CFBundlePackageType", "APPL"},
		{"CFBundleShortVersionString", d.Version},
		{"CFBundleVersion", fmt.Sprint(d.Build)},
		{"LSApplicationCategoryType", "public.app-category.utilities"},
		{"LSMinimumSystemVersion", "12.0"},
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	for _, e := range kv {
		fmt.Fprintf(&b, "\t<key>%s</key>\n\t<string>%s</string>\n", e.k, xmlEscape(e.v))
	}
	b.WriteString(`	<key>CFBundleSupportedPlatforms</key>
	<array>
		<string>MacOSX</string>
	</array>
	<key>LSUIElement</key>
	<true/>
	<key>NSHighResolutionCapable</key>
	<true/>
</dict>
</plist>
`)
	return b.String()
}

var xmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", `'`, "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

// DesktopEntry is the freedesktop.org application entry of the tray app,
// installed as /usr/share/applications/<ID>.desktop with the icon
// /usr/share/icons/hicolor/256x256/apps/<Name>.png.
func (m *appMeta) DesktopEntry() string {
	d, l := m.Details, m.LinuxAndBSD
	var b strings.Builder
	b.WriteString("[Desktop Entry]\nType=Application\n")
	fmt.Fprintf(&b, "Name=%s\n", desktopEscape(d.Name))
	if l.GenericName != "" {
		fmt.Fprintf(&b, "GenericName=%s\n", desktopEscape(l.GenericName))
	}
	if l.Comment != "" {
		fmt.Fprintf(&b, "Comment=%s\n", desktopEscape(l.Comment))
	}
	fmt.Fprintf(&b, "Exec=%s\nIcon=%s\nTerminal=false\n", d.Name, d.Name)
	if len(l.Categories) > 0 {
		fmt.Fprintf(&b, "Categories=%s\n", desktopList(l.Categories))
	}
	if len(l.Keywords) > 0 {
		fmt.Fprintf(&b, "Keywords=%s\n", desktopList(l.Keywords))
	}
	fmt.Fprintf(&b, "StartupWMClass=%s\n", desktopEscape(d.Name))
	return b.String()
}

// desktopEscape escapes a desktop entry string value.
func desktopEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
}

// desktopList renders a ;-terminated list, escaping ; inside items.
func desktopList(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(strings.ReplaceAll(desktopEscape(it), ";", `\;`))
		b.WriteByte(';')
	}
	return b.String()
}
