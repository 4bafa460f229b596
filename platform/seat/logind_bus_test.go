//go:build linux

package seat

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// login1Manager is a stand-in org.freedesktop.login1.Manager.
type login1Manager struct{ sessions []sessionEntry }

func (m *login1Manager) ListSessions() ([]sessionEntry, *dbus.Error) { return m.sessions, nil }

// TestActiveLocalUsersOverDBus serves a stand-in logind on a private bus
// (dbus-daemon) and reads it with the real client code, so the reply
// shapes are logind's wire types: a(susso) and boolean properties.
func TestActiveLocalUsersOverDBus(t *testing.T) {
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed")
	}
	dir := t.TempDir()
	addr := "unix:path=" + filepath.Join(dir, "bus")
	// dbus-daemon prints its address once it listens: reading that line
	// is the wait for it to start.
	cmd := exec.Command(daemon, "--session", "--nofork", "--nopidfile", "--print-address", "--address="+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(out).ReadString('\n')
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("dbus-daemon did not start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start")
	}

	server, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	sessions := []struct {
		id             string
		uid            uint32
		seat           string
		active, remote bool
	}{
		{"2", 1000, "seat0", true, false},  // the person at the machine
		{"3", 1001, "seat0", false, false}, // switched away from
		{"4", 1002, "", true, false},       // ssh
		{"5", 1003, "seat0", true, true},   // remote on a seat
	}
	mgr := &login1Manager{}
	for _, s := range sessions {
		path := dbus.ObjectPath("/org/freedesktop/login1/session/_3" + s.id)
		mgr.sessions = append(mgr.sessions, sessionEntry{s.id, s.uid, "u" + s.id, s.seat, path})
		if _, err := prop.Export(server, path, prop.Map{sessionIface: {
			"Active": {Value: s.active},
			"Remote": {Value: s.remote},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := server.Export(mgr, login1Path, managerIface); err != nil {
		t.Fatal(err)
	}
	if reply, err := server.RequestName(login1Dest, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", login1Dest, reply, err)
	}

	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := activeLocalUsers(ctx, connCaller{client})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1000}; !reflect.DeepEqual(got, want) {
		t.Errorf("activeLocalUsers = %v, want %v", got, want)
	}
}
