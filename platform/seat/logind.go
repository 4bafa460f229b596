package seat

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// logind's D-Bus names (org.freedesktop.login1(5)).
const (
	login1Dest    = "org.freedesktop.login1"
	login1Path    = dbus.ObjectPath("/org/freedesktop/login1")
	managerIface  = "org.freedesktop.login1.Manager"
	sessionIface  = "org.freedesktop.login1.Session"
	propertiesGet = "org.freedesktop.DBus.Properties.Get"
)

// caller makes one D-Bus method call. connCaller is the system bus; tests
// use a fake.
type caller interface {
	Call(ctx context.Context, dest string, path dbus.ObjectPath, method string, args ...any) *dbus.Call
}

type connCaller struct{ conn *dbus.Conn }

func (c connCaller) Call(ctx context.Context, dest string, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return c.conn.Object(dest, path).CallWithContext(ctx, method, 0, args...)
}

// sessionEntry is one element of ListSessions' a(susso).
type sessionEntry struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path dbus.ObjectPath
}

// activeLocalUsers returns the uids that have a logind session on a seat
// that is Active and not Remote: the person at the machine, the same test
// polkit's allow_active makes. A session whose properties cannot be read
// does not count; the first such error is returned with the rest.
func activeLocalUsers(ctx context.Context, c caller) ([]int, error) {
	var sessions []sessionEntry
	if err := c.Call(ctx, login1Dest, login1Path, managerIface+".ListSessions").Store(&sessions); err != nil {
		return nil, fmt.Errorf("seat: logind ListSessions: %w", err)
	}
	var (
		uids []int
		errs []error
	)
	for _, s := range sessions {
		if s.Seat == "" {
			continue // ssh, cron, user@.service: not at the machine
		}
		active, err := boolProp(ctx, c, s.Path, "Active")
		if err != nil {
			errs = append(errs, fmt.Errorf("seat: session %s: %w", s.ID, err))
			continue
		}
		remote, err := boolProp(ctx, c, s.Path, "Remote")
		if err != nil {
			errs = append(errs, fmt.Errorf("seat: session %s: %w", s.ID, err))
			continue
		}
		if active && !remote {
			uids = appendUnique(uids, int(s.UID))
		}
	}
	return uids, errors.Join(errs...)
}

// boolProp reads the boolean property name of the logind session at path.
func boolProp(ctx context.Context, c caller, path dbus.ObjectPath, name string) (bool, error) {
	var v dbus.Variant
	if err := c.Call(ctx, login1Dest, path, propertiesGet, sessionIface, name).Store(&v); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%s is %s, not a boolean", name, v.Signature())
	}
	return b, nil
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
