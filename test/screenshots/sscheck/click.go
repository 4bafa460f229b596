package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// runClick clicks a tray menu item the way a panel does: it finds the
// registered StatusNotifierItem, reads its menu (com.canonical.dbusmenu
// GetLayout), calls AboutToShow on the root as when the menu opens, and
// sends Event(id, "clicked") for the enabled, visible item with the label.
func runClick(args []string) error {
	fs := flag.NewFlagSet("click", flag.ContinueOnError)
	label := fs.String("label", "", "the label of the menu item to click")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for the item to be there and enabled")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *label == "" {
		return errors.New("click: --label is required")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("connect to the session bus: %w", err)
	}
	defer conn.Close()

	deadline := time.Now().Add(*timeout)
	for {
		id, menu, err := findMenuItem(conn, *label)
		if err == nil {
			obj := conn.Object(menu.bus, menu.path)
			var update bool
			if err := obj.Call(dbusmenuIface+".AboutToShow", 0, int32(0)).Store(&update); err != nil {
				return fmt.Errorf("AboutToShow: %w", err)
			}
			ts := uint32(time.Now().Unix())
			if err := obj.Call(dbusmenuIface+".Event", 0, id, "clicked", dbus.MakeVariant(int32(0)), ts).Err; err != nil {
				return fmt.Errorf("Event(%d, clicked): %w", id, err)
			}
			fmt.Printf("PASS click: %q (menu item %d of %s%s)\n", *label, id, menu.bus, menu.path)
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Printf("FAIL click: %q: %v (waited %v)\n", *label, err, *timeout)
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const dbusmenuIface = "com.canonical.dbusmenu"

// menuRef is where an item's dbusmenu lives.
type menuRef struct {
	bus  string
	path dbus.ObjectPath
}

// findMenuItem returns the id of the enabled, visible item labelled label
// in the most recently registered item's menu.
func findMenuItem(conn *dbus.Conn, label string) (int32, menuRef, error) {
	var items []string
	v, err := conn.Object(watcherName, watcherPath).GetProperty(watcherIface + ".RegisteredStatusNotifierItems")
	if err != nil {
		return 0, menuRef{}, fmt.Errorf("ask the watcher for items: %w", err)
	}
	if err := v.Store(&items); err != nil || len(items) == 0 {
		return 0, menuRef{}, fmt.Errorf("no StatusNotifierItem registered (%v)", err)
	}
	bus, path, err := splitItem(items[len(items)-1])
	if err != nil {
		return 0, menuRef{}, err
	}
	mv, err := conn.Object(bus, path).GetProperty(itemIface + ".Menu")
	if err != nil {
		return 0, menuRef{}, fmt.Errorf("item's Menu: %w", err)
	}
	var menuPath dbus.ObjectPath
	if err := mv.Store(&menuPath); err != nil {
		return 0, menuRef{}, fmt.Errorf("item's Menu: %w", err)
	}
	var rev uint32
	var layout any
	if err := conn.Object(bus, menuPath).Call(dbusmenuIface+".GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
		return 0, menuRef{}, fmt.Errorf("read the tray menu: %w", err)
	}
	id, ok := menuItemID(layout, label)
	if !ok {
		return 0, menuRef{}, fmt.Errorf("no enabled menu item %q", label)
	}
	return id, menuRef{bus, menuPath}, nil
}

// menuItemID finds the enabled, visible item labelled label in a dbusmenu
// layout (ia{sv}av), depth first.
func menuItemID(node any, label string) (int32, bool) {
	fields, ok := node.([]any)
	if !ok || len(fields) != 3 {
		return 0, false
	}
	id, _ := fields[0].(int32)
	props, _ := fields[1].(map[string]dbus.Variant)
	children, _ := fields[2].([]dbus.Variant)
	if vis, ok := props["visible"].Value().(bool); ok && !vis {
		return 0, false
	}
	if l, _ := props["label"].Value().(string); l == label && props["enabled"].Value() != false {
		return id, true
	}
	for _, c := range children {
		if id, ok := menuItemID(c.Value(), label); ok {
			return id, true
		}
	}
	return 0, false
}
