package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

// StatusNotifierWatcher names, as KDE's watcher (and the spec) spell them.
const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = dbus.ObjectPath("/StatusNotifierWatcher")
	watcherIface = "org.kde.StatusNotifierWatcher"
	itemIface    = "org.kde.StatusNotifierItem"
)

// watcher is a minimal StatusNotifierWatcher: it keeps the list of
// registered items ("busname/path") and drops an item when its bus name
// goes away, which is all that item exporters look at.
type watcher struct {
	conn  *dbus.Conn
	props *prop.Properties

	mu    sync.Mutex
	items []string
}

// RegisterStatusNotifierItem registers an item. service is either a bus
// name (the item is at /StatusNotifierItem) or an object path on the
// sender's connection (what fyne.io/systray sends).
func (w *watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	item := itemKey(string(sender), service)
	w.mu.Lock()
	if !slices.Contains(w.items, item) {
		w.items = append(w.items, item)
	}
	items := slices.Clone(w.items)
	w.mu.Unlock()
	fmt.Printf("watcher: registered %s\n", item)
	w.props.SetMust(watcherIface, "RegisteredStatusNotifierItems", items)
	if err := w.conn.Emit(watcherPath, watcherIface+".StatusNotifierItemRegistered", item); err != nil {
		fmt.Fprintf(os.Stderr, "watcher: emit registered: %v\n", err)
	}
	return nil
}

// RegisterStatusNotifierHost accepts a host; this watcher always claims one.
func (w *watcher) RegisterStatusNotifierHost(sender dbus.Sender, service string) *dbus.Error {
	return nil
}

// itemKey is the registered item's "busname/path" form.
func itemKey(sender, service string) string {
	switch {
	case strings.HasPrefix(service, "/"):
		return sender + service
	case service == "":
		return sender + "/StatusNotifierItem"
	default:
		return service + "/StatusNotifierItem"
	}
}

// splitItem splits "busname/path" into its bus name and object path.
func splitItem(item string) (string, dbus.ObjectPath, error) {
	i := strings.IndexByte(item, '/')
	if i <= 0 {
		return "", "", fmt.Errorf("malformed item %q", item)
	}
	p := dbus.ObjectPath(item[i:])
	if !p.IsValid() {
		return "", "", fmt.Errorf("malformed item path %q", item)
	}
	return item[:i], p, nil
}

// dropOwner forgets the items of a bus name that left the bus.
func (w *watcher) dropOwner(name string) {
	w.mu.Lock()
	var gone []string
	w.items = slices.DeleteFunc(w.items, func(it string) bool {
		if bus, _, err := splitItem(it); err == nil && bus == name {
			gone = append(gone, it)
			return true
		}
		return false
	})
	items := slices.Clone(w.items)
	w.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	w.props.SetMust(watcherIface, "RegisteredStatusNotifierItems", items)
	for _, it := range gone {
		fmt.Printf("watcher: unregistered %s\n", it)
		if err := w.conn.Emit(watcherPath, watcherIface+".StatusNotifierItemUnregistered", it); err != nil {
			fmt.Fprintf(os.Stderr, "watcher: emit unregistered: %v\n", err)
		}
	}
}

func runWatcher(args []string) error {
	fs := flag.NewFlagSet("watcher", flag.ContinueOnError)
	ready := fs.String("ready", "", "file to create once the name is owned")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("connect to the session bus: %w", err)
	}
	defer conn.Close()

	w := &watcher{conn: conn}
	if err := conn.Export(w, watcherPath, watcherIface); err != nil {
		return fmt.Errorf("export watcher: %w", err)
	}
	w.props, err = prop.Export(conn, watcherPath, map[string]map[string]*prop.Prop{
		watcherIface: {
			"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
			"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
			"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
		},
	})
	if err != nil {
		return fmt.Errorf("export watcher properties: %w", err)
	}
	node := &introspect.Node{
		Name: string(watcherPath),
		Interfaces: []introspect.Interface{
			introspect.IntrospectData,
			prop.IntrospectData,
			{
				Name:       watcherIface,
				Methods:    introspect.Methods(w),
				Properties: w.props.Introspection(watcherIface),
			},
		},
	}
	if err := conn.Export(introspect.NewIntrospectable(node), watcherPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return fmt.Errorf("export introspection: %w", err)
	}

	if err := conn.AddMatchSignal(
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchSender("org.freedesktop.DBus"),
	); err != nil {
		return fmt.Errorf("watch bus names: %w", err)
	}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)

	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("request %s: %w", watcherName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("%s is already owned", watcherName)
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(conn.Names()[0]+"\n"), 0o644); err != nil {
			return fmt.Errorf("write ready file: %w", err)
		}
	}
	fmt.Printf("watcher: owning %s as %s\n", watcherName, conn.Names()[0])

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	for {
		select {
		case <-stop:
			return nil
		case s, ok := <-sigs:
			if !ok {
				return fmt.Errorf("session bus connection closed")
			}
			if s.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(s.Body) != 3 {
				continue
			}
			name, _ := s.Body[0].(string)
			newOwner, _ := s.Body[2].(string)
			if newOwner == "" {
				w.dropOwner(name)
			}
		}
	}
}
