//go:build gui

package views

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

func rowValue(v *rowsView, label string) string {
	for _, r := range v.shown {
		if r.Label == label {
			return r.Value
		}
	}
	return ""
}

func TestDiagnosticsNetcheck(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Self.ListenPort = 41641
	st.Self.Endpoints = []string{"198.18.0.5:41641"}
	st.Drops = map[string]uint64{"firewall_in": 3}
	h.start(st)
	d := h.win.diag
	if rowValue(d.self, "Endpoint") != "198.18.0.5:41641" || rowValue(d.drops, "firewall in") != "3" || d.noDrp.Visible() {
		t.Errorf("from the stream: self %v drops %v", d.self.shown, d.drops.shown)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventDrops, Drops: map[string]uint64{"firewall_in": 5}})
	h.q.RunNext(t)
	if rowValue(d.drops, "firewall in") != "5" {
		t.Errorf("drops event: %v", d.drops.shown)
	}

	h.fake.SetNetcheck(apitype.Netcheck{UDPPort: 41641, ReflexiveV4: "198.18.0.5:41641", MappingV4: "endpoint-independent",
		Relays: []apitype.NetcheckRelay{{URL: "https://relay.lab", LatencyMs: 12}}})
	h.win.Show(TabDiag) // the first visit runs a check
	h.fake.WaitCall(t, "Netcheck")
	if !d.checkBtn.Disabled() {
		t.Error("check button enabled while checking")
	}
	h.q.RunUntil(t, func() bool { return !d.checkBtn.Disabled() })
	if rowValue(d.check, "Relay https://relay.lab") != "12 ms" || !strings.HasPrefix(rowValue(d.check, "NAT (IPv4)"), "easy") {
		t.Errorf("netcheck rows %v", d.check.shown)
	}
	h.win.Show(TabPeers)
	h.win.Show(TabDiag) // no second automatic check
	h.fake.NoCall(t)

	h.fake.SetErr("Netcheck", errors.New("the daemon is down"))
	test.Tap(d.checkBtn)
	h.fake.WaitCall(t, "Netcheck")
	h.q.RunUntil(t, func() bool { return !d.checkBtn.Disabled() })
	if d.checkMsg.Text != "Network check failed: the daemon is down" || len(d.check.shown) != 0 {
		t.Errorf("failed check: %q, rows %v", d.checkMsg.Text, d.check.shown)
	}

	h.fake.EndWatch(errors.New("gone"))
	h.q.RunUntil(t, func() bool { return !h.ctl.Model().DaemonReachable() })
	if !d.checkBtn.Disabled() || !d.saveBtn.Disabled() || len(d.self.shown) != 0 {
		t.Errorf("daemon gone: check disabled %v, save disabled %v, self rows %v", d.checkBtn.Disabled(), d.saveBtn.Disabled(), d.self.shown)
	}
}

func TestDiagnosticsSaveBundle(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	d := h.win.diag
	path := filepath.Join(t.TempDir(), "report.tar.gz")
	bundle := []byte("\x1f\x8b fake bundle")
	h.fake.SetReport(bundle)
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	d.save(w)
	h.fake.WaitCall(t, "Report")
	h.q.RunUntil(t, func() bool { return !d.saveBtn.Disabled() })
	if want := "Saved " + path + " (" + state.FormatBytes(uint64(len(bundle))) + ")."; d.saveMsg.Text != want {
		t.Errorf("save message %q, want %q", d.saveMsg.Text, want)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != string(bundle) {
		t.Errorf("saved file %q, %v", got, err)
	}

	// A failed report leaves no partial file.
	h.fake.SetErr("Report", errors.New("report: permission denied"))
	w, err = storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	d.save(w)
	h.fake.WaitCall(t, "Report")
	h.q.RunUntil(t, func() bool { return !d.saveBtn.Disabled() })
	if d.saveMsg.Text != "Save the support bundle: report: permission denied" {
		t.Errorf("failed save message %q", d.saveMsg.Text)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("partial bundle left behind: %v", err)
	}
}

// The window opened on Diagnostics before the daemon answered (rayfish
// --tab diagnostics) runs the check once the daemon is there.
func TestDiagnosticsCheckWhenDaemonAppears(t *testing.T) {
	h := newHarness(t, Options{})
	h.win.Show(TabDiag)
	h.fake.NoCall(t)
	h.ctl.Start()
	h.fake.WaitCall(t, "Version")
	h.fake.WaitCall(t, "Watch")
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: status(apitype.StateUp)})
	h.q.RunUntil(t, func() bool { return h.ctl.Model().DaemonReachable() })
	// The check and the settings' Prefs run concurrently: either comes first.
	got := map[string]bool{}
	for range 2 {
		got[h.fake.NextCall(t).Method] = true
	}
	if !got["Netcheck"] || !got["Prefs"] {
		t.Fatalf("calls %v, want Netcheck and Prefs", got)
	}
	h.q.RunUntil(t, func() bool { return !h.ctl.Busy() && strings.HasPrefix(h.win.diag.checkMsg.Text, "Checked at") })
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateDown})
	h.q.RunNext(t)
	h.fake.NoCall(t) // one check, not one per event
}

// TestDiagnosticsDNS: the DNS card follows the stream's DNS health, with a
// clear state and colour.
func TestDiagnosticsDNS(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.DNS = &apitype.DNSHealth{State: apitype.DNSOK, Mode: "resolv.conf", Detail: "/etc/resolv.conf names 100.100.100.53 first"}
	h.start(st)
	d := h.win.diag
	if !strings.HasPrefix(d.dns.Text, "OK: ") || !strings.Contains(d.dns.Text, "100.100.100.53 first") || d.dns.Importance != widget.SuccessImportance {
		t.Errorf("ok: %q (%v)", d.dns.Text, d.dns.Importance)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventDNS, DNS: &apitype.DNSHealth{State: apitype.DNSNotApplied, Detail: "another program rewrote it"}})
	h.q.RunNext(t)
	if !strings.HasPrefix(d.dns.Text, "NOT APPLIED: ") || !strings.Contains(d.dns.Text, "rewrote") || d.dns.Importance != widget.DangerImportance {
		t.Errorf("not applied: %q (%v)", d.dns.Text, d.dns.Importance)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventDNS, DNS: &apitype.DNSHealth{State: apitype.DNSDown, Detail: "disconnected"}})
	h.q.RunNext(t)
	if !strings.HasPrefix(d.dns.Text, "Not in use") || d.dns.Importance != widget.MediumImportance {
		t.Errorf("down: %q (%v)", d.dns.Text, d.dns.Importance)
	}
}

// TestDiagnosticsPortMapping: the Port mapping card follows the watch
// stream: the router's UDP mapping, the member relay's TCP mapping and
// the relay's URL appear when the daemon reports them and go when the
// mappings go, saying why; the network check does not repeat them.
func TestDiagnosticsPortMapping(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Self.PortMapping = &apitype.NetcheckPortMapping{Error: "looking for a gateway that maps ports"}
	st.Self.MemberRelay = &apitype.MemberRelay{Why: "not reachable: no public address, and the gateway maps no UDP port yet"}
	h.start(st)
	d := h.win.diag
	h.fake.SetNetcheck(apitype.Netcheck{UDPPort: 41641, PortMapping: apitype.NetcheckPortMapping{Protocol: "pcp", External: "198.18.7.7:41641"}})
	h.win.Show(TabDiag)
	h.fake.WaitCall(t, "Netcheck")
	h.q.RunUntil(t, func() bool { return !d.checkBtn.Disabled() })
	if rowValue(d.pmap, "Port mapping (UDP)") != "none: looking for a gateway that maps ports" ||
		rowValue(d.pmap, "Member relay") != "not serving: not reachable: no public address, and the gateway maps no UDP port yet" ||
		rowValue(d.pmap, "Port mapping (relay TCP)") != "" {
		t.Errorf("before mapping: %v", d.pmap.shown)
	}
	for _, r := range d.check.shown {
		if strings.HasPrefix(r.Label, "Port mapping") {
			t.Errorf("the network check repeats %v", r)
		}
	}

	self := st.Self
	self.PortMapping = &apitype.NetcheckPortMapping{Protocol: "pcp", External: "198.18.7.7:41641", LeaseS: 7200, Gateway: "198.19.1.1",
		RelayTCP: &apitype.RelayPortMapping{Port: 41383, Protocol: "pcp", External: "198.18.7.7:41383", LeaseS: 7200}}
	self.MemberRelay = &apitype.MemberRelay{Serving: true, URL: "http://198.18.7.7:41383", Via: apitype.MemberRelayMapped}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventSelf, Self: &self})
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(rowValue(d.pmap, "Member relay"), "serving") })
	if rowValue(d.pmap, "Port mapping (UDP)") != "198.18.7.7:41641 by PCP, lease 2h0m0s, router 198.19.1.1" ||
		rowValue(d.pmap, "Port mapping (relay TCP)") != "198.18.7.7:41383 → port 41383 by PCP, lease 2h0m0s" ||
		rowValue(d.pmap, "Member relay") != "serving http://198.18.7.7:41383 (through the port mapping)" {
		t.Errorf("mapped: %v", d.pmap.shown)
	}

	self = st.Self
	self.MemberRelay = &apitype.MemberRelay{Why: "off (ray config set serve-relay off)"}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventSelf, Self: &self})
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(rowValue(d.pmap, "Member relay"), "not serving") })
	if rowValue(d.pmap, "Port mapping (relay TCP)") != "" || rowValue(d.pmap, "Member relay") != "not serving: off (ray config set serve-relay off)" {
		t.Errorf("mapping gone: %v", d.pmap.shown)
	}

	h.fake.EndWatch(errors.New("gone"))
	h.q.RunUntil(t, func() bool { return !h.ctl.Model().DaemonReachable() })
	if len(d.pmap.shown) != 0 {
		t.Errorf("daemon gone: port mapping rows %v", d.pmap.shown)
	}
}
