//go:build gui

package screenshot

import (
	"context"
	"flag"
	"image/png"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/uitest"
)

var outDir = flag.String("out", "", "also write the screenshots into this directory")

func TestCapture(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetVersion(apitype.Version{Version: "0.1.0", APIVersion: apitype.APIVersion})
	f.SetPrefsAnswer(apitype.Prefs{ConnectOnStart: true, Relays: []string{"https://relay.rayfish.dev"}})
	f.Send(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{
		Version: "0.1.0",
		State:   apitype.StateUp,
		Self:    apitype.Self{ID: "k7self", Hostname: "laptop", IPv4: netip.MustParseAddr("100.64.0.1"), IPv6: netip.MustParseAddr("fd72:6179:6669::1")},
		Networks: []apitype.Network{
			{Name: "home", Admin: true, Members: 3, Hostname: "laptop"},
		},
		Peers: []apitype.Peer{
			{ID: "k7nas00000000", Hostname: "nas", IPv4: netip.MustParseAddr("100.64.0.3"), IPv6: netip.MustParseAddr("fd72:6179:6669::3"),
				Networks: []string{"home"}, Online: true, Path: apitype.PathRelay, RelayReason: "both sides are behind strict NATs", RTTMs: 48, RxBytes: 5 << 20, TxBytes: 1 << 20},
			{ID: "k7phone0000000", Hostname: "phone", IPv4: netip.MustParseAddr("100.64.0.4"), IPv6: netip.MustParseAddr("fd72:6179:6669::4"),
				Networks: []string{"home"}, Online: true, Path: apitype.PathDirect, RTTMs: 3.2},
		},
		Requests: []apitype.JoinRequest{{Network: "home", ID: "k7tablet000000", Hostname: "tablet"}},
	}})
	dir := *outDir
	if dir == "" {
		dir = t.TempDir()
	}
	// Rendering six tabs under -race beside the other GUI packages takes
	// longer than one UI wait.
	ctx, cancel := context.WithTimeout(context.Background(), 6*uitest.Timeout)
	defer cancel()
	files, err := Capture(ctx, Options{Client: f, Socket: "/run/rayfish/rayfish.sock", AppVersion: "0.1.0", Dir: dir, Size: fyne.NewSize(800, 560)})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(Tabs) {
		t.Fatalf("files %v", files)
	}
	for i, name := range files {
		if filepath.Base(name) != string(Tabs[i])+".png" {
			t.Errorf("file %s for tab %s", name, Tabs[i])
		}
		r, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 560 {
			t.Errorf("%s: size %v", name, b)
		}
	}
}

func TestCaptureDaemonDown(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetDown(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	if *outDir != "" {
		dir = filepath.Join(*outDir, "daemon-down")
	}
	files, err := Capture(ctx, Options{Client: f, Dir: dir})
	if err != nil || len(files) != len(Tabs) {
		t.Fatalf("files %v, err %v", files, err)
	}
}
