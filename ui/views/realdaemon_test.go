//go:build gui

package views

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/enginetest/loopnode"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/uitest"
)

// realDaemon serves an in-process engine's local API on a unix socket, as
// `ray daemon` does, and returns the socket.
func realDaemon(t *testing.T) string {
	t.Helper()
	enginetest.CheckLeaks(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "ray.sock")
	loopnode.ServeAPI(t, loopnode.Start(t, filepath.Join(dir, "state"), "laptop", enginetest.NewTUN()), socket)
	return socket
}

// realWindow is the window on a real in-process daemon, open on tab,
// with its controller's UI callbacks queued on q.
func realWindow(t *testing.T, tab Tab) (*Main, *ui.Controller, *client.Client, *uitest.Queue) {
	t.Helper()
	socket := realDaemon(t)
	cl := client.New(socket)
	q := uitest.NewQueue()
	ctl := ui.New(ui.Config{Client: cl, Socket: socket, AppVersion: "1.0.0", Dispatch: q.Dispatch,
		StartDaemon: func(context.Context) error { return nil }, MinBackoff: time.Hour})
	t.Cleanup(func() { ctl.Close() })
	win := NewMain(test.NewTempApp(t), ctl, Options{})
	ctl.OnChange(win.Update)
	win.Show(tab)
	ctl.Start()
	q.RunUntil(t, func() bool { return ctl.Model().DaemonReachable() && !ctl.Busy() })
	return win, ctl, cl, q
}

// TestFirewallErrorsAreTheDaemons: the Firewall tab validates nothing of
// its own; what it sends goes through the daemon's validator, the one `ray
// firewall add` goes through, and the tab shows the very text the CLI
// prints (after "ray: ") — against a real daemon, not a fake.
func TestFirewallErrorsAreTheDaemons(t *testing.T) {
	win, ctl, cl, q := realWindow(t, TabFirewall)
	f := win.firewall
	q.RunUntil(t, func() bool { return f.fetched && !ctl.Busy() && f.defIn.Selected != "" })
	seeded := len(f.rules.Objects)

	tests := []struct {
		proto, ports, peer string
		want               string // part of the daemon's error
	}{
		{"tcp", "99999", "", "99999"},
		{"udp", "80-70", "", "80-70"},
		{"tcp", "http", "", "http"},
		{"icmp", "22", "", "port"},
		{"tcp", "22", "no-such-peer", "no-such-peer"},
	}
	for _, tt := range tests {
		// What `ray firewall add in allow -p PROTO -P PORTS [--peer P]` sends.
		rule := apitype.FirewallRule{Direction: "in", Action: "allow", Proto: tt.proto, Ports: tt.ports, Peer: tt.peer}
		_, cliErr := cl.FirewallChange(context.Background(), apitype.FirewallChange{Op: apitype.FirewallAdd, Rule: &rule})
		if cliErr == nil || !strings.Contains(cliErr.Error(), tt.want) {
			t.Errorf("%s %q peer %q: the daemon answers the CLI %v, want an error naming %q", tt.proto, tt.ports, tt.peer, cliErr, tt.want)
			continue
		}
		f.dir.SetSelected("in")
		f.action.SetSelected("allow")
		f.proto.SetSelected(tt.proto)
		f.ports.SetText(tt.ports)
		f.peer.SetText(tt.peer)
		f.msg.SetText("")
		test.Tap(f.addBtn)
		q.RunUntil(t, func() bool { return f.msg.Text != "" && !ctl.Busy() })
		if f.msg.Text != cliErr.Error() || f.msg.Importance != widget.DangerImportance {
			t.Errorf("%s %q peer %q: the tab says %q, the CLI %q", tt.proto, tt.ports, tt.peer, f.msg.Text, "ray: "+cliErr.Error())
		}
		t.Logf("%s %q peer %q: %s", tt.proto, tt.ports, tt.peer, f.msg.Text)
	}
	if len(f.rules.Objects) != seeded {
		t.Errorf("%d rules after refused adds, %d before", len(f.rules.Objects), seeded)
	}

	// A valid rule is added and listed as the daemon has it.
	f.proto.SetSelected("tcp")
	f.ports.SetText("8000-8100")
	f.peer.SetText("")
	test.Tap(f.addBtn)
	q.RunUntil(t, func() bool { return strings.HasPrefix(f.msg.Text, "Added") && !ctl.Busy() })
	st, err := cl.Firewall(context.Background())
	if err != nil || len(st.Rules) != seeded+1 || !slices.ContainsFunc(st.Rules, func(r apitype.FirewallRule) bool { return r.Ports == "8000-8100" }) {
		t.Errorf("the daemon's rules %+v, %v", st.Rules, err)
	}
	if len(f.rules.Objects) != len(st.Rules) {
		t.Errorf("the tab lists %d rules, the daemon has %d", len(f.rules.Objects), len(st.Rules))
	}
}

// TestSupportBundleFromDaemon: "Save support bundle…" opens a save
// dialog, and what it saves is the daemon's `ray report` bundle: a gzipped
// tar with status, versions and logs.
func TestSupportBundleFromDaemon(t *testing.T) {
	win, ctl, _, q := realWindow(t, TabDiag)
	d := win.diag
	q.RunUntil(t, func() bool { return strings.HasPrefix(d.checkMsg.Text, "Checked at") && !ctl.Busy() })
	if v := rowValue(d.check, "UDP port"); v == "" || strings.HasPrefix(v, "not bound") {
		t.Errorf("netcheck of a running daemon: UDP port %q", v)
	}

	c := win.win.Canvas()
	test.Tap(d.saveBtn)
	if len(c.Overlays().List()) != 1 {
		t.Fatal("Save support bundle… opened no dialog")
	}
	c.Overlays().Top().Hide()

	path := filepath.Join(t.TempDir(), "report.tar.gz")
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	d.save(w) // what the dialog does with the file picked
	q.RunUntil(t, func() bool { return strings.HasPrefix(d.saveMsg.Text, "Saved ") && !ctl.Busy() })
	names := tarNames(t, path)
	for _, want := range []string{"status.json", "version.txt", "logs.txt"} {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "/"+want) }) {
			t.Errorf("bundle lacks %s: %v", want, names)
		}
	}
}

// tarNames lists the entries of the gzipped tar at path.
func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("bundle is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("bundle is not a tar: %v", err)
		}
		names = append(names, h.Name)
	}
}
