package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/png" // the tray icons are PNGs
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rayfish/rayfish/assets"
)

// trayItem is what a StatusNotifierItem shows, as read over D-Bus.
type trayItem struct {
	Item    string // "busname/path" as registered with the watcher
	Title   string
	Status  string
	Tooltip string // ToolTip's title, then its description on a new line if any
	Icon    string // "state/variant" of the matching asset, or a description
	Menu    string // the dbusmenu layout, see dumpMenu
}

// stringList collects a repeated flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// expectation is one named check on a trayItem.
type expectation struct {
	name string
	ok   func(trayItem) bool
}

func runTray(args []string) error {
	fs := flag.NewFlagSet("tray", flag.ContinueOnError)
	title := fs.String("title", "", "expected Title")
	status := fs.String("status", "", "expected Status (Passive, Active, NeedsAttention)")
	icon := fs.String("icon", "", "expected icon state (connected, disconnected, ...)")
	var tipHas, menuHas stringList
	fs.Var(&tipHas, "tooltip-has", "text the tooltip must contain (repeatable)")
	fs.Var(&menuHas, "menu-has", "a line the tray menu dump must have, \"*\" for any text (repeatable)")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for the expectations")
	quiet := fs.Bool("quiet", false, "print the item's properties only when a check fails")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var exps []expectation
	if *title != "" {
		exps = append(exps, expectation{fmt.Sprintf("Title == %q", *title), func(t trayItem) bool { return t.Title == *title }})
	}
	if *status != "" {
		exps = append(exps, expectation{fmt.Sprintf("Status == %q", *status), func(t trayItem) bool { return t.Status == *status }})
	}
	if *icon != "" {
		exps = append(exps, expectation{fmt.Sprintf("icon is %s", *icon), func(t trayItem) bool { return strings.HasPrefix(t.Icon, *icon+"/") }})
	}
	for _, s := range tipHas {
		exps = append(exps, expectation{fmt.Sprintf("ToolTip contains %q", s), func(t trayItem) bool { return strings.Contains(t.Tooltip, s) }})
	}
	for _, s := range menuHas {
		exps = append(exps, expectation{fmt.Sprintf("menu has line %q", s), func(t trayItem) bool { return menuHasLine(t.Menu, s) }})
	}

	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("connect to the session bus: %w", err)
	}
	defer conn.Close()

	deadline := time.Now().Add(*timeout)
	var last trayItem
	var lastErr error
	for {
		last, lastErr = readTray(conn)
		if lastErr == nil && allOK(exps, last) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		fmt.Printf("FAIL tray: %v (after %v)\n", lastErr, *timeout)
		return errors.New("tray item not readable")
	}
	failed := 0
	for _, e := range exps {
		if !e.ok(last) {
			failed++
		}
	}
	if !*quiet || failed > 0 {
		printItem(last)
	}
	for _, e := range exps {
		if e.ok(last) {
			fmt.Printf("PASS tray: %s\n", e.name)
		} else {
			fmt.Printf("FAIL tray: %s (waited %v)\n", e.name, *timeout)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d tray expectations failed", failed)
	}
	return nil
}

func allOK(exps []expectation, t trayItem) bool {
	for _, e := range exps {
		if !e.ok(t) {
			return false
		}
	}
	return true
}

func printItem(t trayItem) {
	fmt.Printf("  item:    %s\n", t.Item)
	fmt.Printf("  Title:   %q\n", t.Title)
	fmt.Printf("  Status:  %q\n", t.Status)
	fmt.Printf("  ToolTip: %q\n", t.Tooltip)
	fmt.Printf("  icon:    %s\n", t.Icon)
	fmt.Printf("  menu:\n")
	for _, l := range strings.Split(strings.TrimRight(t.Menu, "\n"), "\n") {
		fmt.Printf("    %s\n", l)
	}
}

// menuHasLine reports whether a line of the menu dump, trimmed, matches
// want, in which "*" stands for any text.
func menuHasLine(menu, want string) bool {
	for _, l := range strings.Split(menu, "\n") {
		if matchStar(want, strings.TrimSpace(l)) {
			return true
		}
	}
	return false
}

// matchStar matches s against pattern, where "*" is any text.
func matchStar(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// readTray reads the most recently registered item.
func readTray(conn *dbus.Conn) (trayItem, error) {
	var items []string
	v, err := conn.Object(watcherName, watcherPath).GetProperty(watcherIface + ".RegisteredStatusNotifierItems")
	if err != nil {
		return trayItem{}, fmt.Errorf("ask the watcher for items: %w", err)
	}
	if err := v.Store(&items); err != nil {
		return trayItem{}, fmt.Errorf("watcher items: %w", err)
	}
	if len(items) == 0 {
		return trayItem{}, errors.New("no StatusNotifierItem registered with the watcher")
	}
	t := trayItem{Item: items[len(items)-1]}
	bus, path, err := splitItem(t.Item)
	if err != nil {
		return t, err
	}
	obj := conn.Object(bus, path)
	var props map[string]dbus.Variant
	if err := obj.Call("org.freedesktop.DBus.Properties.GetAll", 0, itemIface).Store(&props); err != nil {
		return t, fmt.Errorf("read %s properties: %w", t.Item, err)
	}
	if err := storeProp(props, "Title", &t.Title); err != nil {
		return t, err
	}
	if err := storeProp(props, "Status", &t.Status); err != nil {
		return t, err
	}
	var tip struct {
		Name  string
		Icons []pixmap
		Title string
		Text  string
	}
	if err := storeProp(props, "ToolTip", &tip); err != nil {
		return t, err
	}
	t.Tooltip = tip.Title
	if tip.Text != "" {
		t.Tooltip += "\n" + tip.Text
	}
	var pix []pixmap
	if err := storeProp(props, "IconPixmap", &pix); err != nil {
		return t, err
	}
	t.Icon = identifyIcon(pix)

	var menuPath dbus.ObjectPath
	if err := storeProp(props, "Menu", &menuPath); err != nil {
		return t, err
	}
	var rev uint32
	var layout any
	call := conn.Object(bus, menuPath).Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if err := call.Store(&rev, &layout); err != nil {
		return t, fmt.Errorf("read the tray menu: %w", err)
	}
	var b strings.Builder
	dumpMenu(&b, layout, -1)
	t.Menu = b.String()
	return t, nil
}

func storeProp(props map[string]dbus.Variant, name string, dst any) error {
	v, ok := props[name]
	if !ok {
		return fmt.Errorf("item has no %s property", name)
	}
	if err := dbus.Store([]any{v.Value()}, dst); err != nil {
		return fmt.Errorf("item property %s: %w", name, err)
	}
	return nil
}

// pixmap is one IconPixmap entry: ARGB32 pixels in network byte order.
type pixmap struct {
	W, H int32
	Pix  []byte
}

// identifyIcon names the asset whose pixels equal the item's first pixmap.
func identifyIcon(pix []pixmap) string {
	if len(pix) == 0 || len(pix[0].Pix) == 0 {
		return "none"
	}
	p := pix[0]
	for _, s := range []assets.State{assets.Connected, assets.Connecting, assets.Disconnected, assets.Error, assets.Attention} {
		for _, v := range []assets.Variant{assets.Color, assets.White, assets.Black, assets.Template} {
			w, h, argb, err := argbPixels(assets.TrayIcon(s, v))
			if err == nil && int32(w) == p.W && int32(h) == p.H && bytes.Equal(argb, p.Pix) {
				return string(s) + "/" + string(v)
			}
		}
	}
	return fmt.Sprintf("unknown %dx%d pixmap", p.W, p.H)
}

// argbPixels decodes a PNG into ARGB32 bytes the way fyne.io/systray
// converts icons for IconPixmap.
func argbPixels(pngData []byte) (int, int, []byte, error) {
	img, _, err := image.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, 0, nil, fmt.Errorf("decode icon: %w", err)
	}
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*4)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			out = append(out, byte(a), byte(r), byte(g), byte(bl))
		}
	}
	return b.Dx(), b.Dy(), out, nil
}

// dumpMenu writes a dbusmenu layout (ia{sv}av) as indented lines: disabled
// items in brackets, separators as "---", invisible items left out. The
// root item itself is not written (depth -1).
func dumpMenu(b *strings.Builder, node any, depth int) {
	fields, ok := node.([]any)
	if !ok || len(fields) != 3 {
		return
	}
	props, _ := fields[1].(map[string]dbus.Variant)
	children, _ := fields[2].([]dbus.Variant)
	if depth >= 0 {
		if vis, ok := props["visible"].Value().(bool); ok && !vis {
			return
		}
		indent := strings.Repeat("  ", depth)
		label, _ := props["label"].Value().(string)
		switch {
		case props["type"].Value() == "separator":
			b.WriteString(indent + "---\n")
		case props["enabled"].Value() == false:
			b.WriteString(indent + "[" + label + "]\n")
		default:
			b.WriteString(indent + label + "\n")
		}
	}
	for _, c := range children {
		dumpMenu(b, c.Value(), depth+1)
	}
}
