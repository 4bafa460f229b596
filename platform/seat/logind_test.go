package seat

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/godbus/dbus/v5"
)

// fakeLogind answers ListSessions and Properties.Get the way godbus decodes
// logind's replies off the wire: structs as []any, properties as variants.
type fakeLogind struct {
	sessions [][]any                            // ListSessions' a(susso)
	props    map[dbus.ObjectPath]map[string]any // session path -> property -> value
	listErr  error
}

func (f *fakeLogind) Call(ctx context.Context, dest string, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	if dest != login1Dest {
		return &dbus.Call{Err: errors.New("no such service " + dest)}
	}
	switch method {
	case managerIface + ".ListSessions":
		if f.listErr != nil {
			return &dbus.Call{Err: f.listErr}
		}
		if path != login1Path {
			return &dbus.Call{Err: errors.New("no manager at " + string(path))}
		}
		return &dbus.Call{Body: []any{f.sessions}}
	case propertiesGet:
		if len(args) != 2 || args[0] != sessionIface {
			return &dbus.Call{Err: errors.New("bad Get arguments")}
		}
		v, ok := f.props[path][args[1].(string)]
		if !ok {
			return &dbus.Call{Err: errors.New("no property " + args[1].(string))}
		}
		return &dbus.Call{Body: []any{dbus.MakeVariant(v)}}
	}
	return &dbus.Call{Err: errors.New("unknown method " + method)}
}

// session adds a logind session of uid on seat with the given state.
func (f *fakeLogind) session(id string, uid uint32, seat string, props map[string]any) {
	p := dbus.ObjectPath("/org/freedesktop/login1/session/_3" + id)
	f.sessions = append(f.sessions, []any{id, uid, "user" + id, seat, p})
	if f.props == nil {
		f.props = map[dbus.ObjectPath]map[string]any{}
	}
	f.props[p] = props
}

func TestActiveLocalUsers(t *testing.T) {
	local := map[string]any{"Active": true, "Remote": false}
	tests := []struct {
		name    string
		setup   func(f *fakeLogind)
		want    []int
		wantErr bool
	}{
		{"no sessions", func(f *fakeLogind) {}, nil, false},
		{"active local graphical session", func(f *fakeLogind) {
			f.session("1", 1000, "seat0", local)
		}, []int{1000}, false},
		{"inactive session (switched user)", func(f *fakeLogind) {
			f.session("1", 1000, "seat0", map[string]any{"Active": false, "Remote": false})
			f.session("2", 1001, "seat0", local)
		}, []int{1001}, false},
		{"remote session on a seat", func(f *fakeLogind) {
			f.session("1", 1000, "seat0", map[string]any{"Active": true, "Remote": true})
		}, nil, false},
		{"ssh session has no seat", func(f *fakeLogind) {
			f.session("1", 1002, "", local)
		}, nil, false},
		{"two sessions of one user", func(f *fakeLogind) {
			f.session("1", 1000, "seat0", local)
			f.session("2", 1000, "seat1", local)
		}, []int{1000}, false},
		{"unreadable session skipped, others kept", func(f *fakeLogind) {
			f.session("1", 1000, "seat0", map[string]any{"Active": true})
			f.session("2", 1001, "seat0", local)
		}, []int{1001}, true},
		{"property of the wrong type", func(f *fakeLogind) {
			f.session("1", 1000, "seat0", map[string]any{"Active": "yes", "Remote": false})
		}, nil, true},
		{"logind missing", func(f *fakeLogind) {
			f.listErr = errors.New("org.freedesktop.DBus.Error.ServiceUnknown")
		}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLogind{}
			tt.setup(f)
			got, err := activeLocalUsers(context.Background(), f)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %t", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("uids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMachineIsPresent(t *testing.T) {
	m := Machine{Present: []int{501, 1000}}
	if !m.IsPresent(1000) || !m.IsPresent(501) || m.IsPresent(0) || (Machine{}).IsPresent(0) {
		t.Errorf("IsPresent wrong for %+v", m)
	}
}
