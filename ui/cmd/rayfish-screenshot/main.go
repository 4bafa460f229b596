//go:build gui

// Command rayfish-screenshot renders the rayfish main window's tabs to PNG
// files using the daemon on --socket, with no display (Fyne's software
// driver). The netns screenshot scripts run it next to a live daemon.
//
//	rayfish-screenshot --socket /run/rayfish/rayfish.sock --out build/screenshots
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"

	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/screenshot"
)

var version = "dev"

func main() {
	socket := flag.String("socket", "", "daemon socket (default $RAY_SOCKET or "+ui.DefaultSocket+")")
	out := flag.String("out", "screenshots", "directory for the PNG files")
	width := flag.Float64("width", 820, "window width")
	height := flag.Float64("height", 600, "window height")
	dark := flag.Bool("dark", false, "use the dark theme")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	sock := ui.SocketPath(*socket)
	files, err := screenshot.Capture(ctx, screenshot.Options{
		Client:     client.New(sock),
		Socket:     sock,
		AppVersion: version,
		Dir:        *out,
		Size:       fyne.NewSize(float32(*width), float32(*height)),
		Dark:       *dark,
	})
	for _, f := range files {
		fmt.Println(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rayfish-screenshot:", err)
		os.Exit(1)
	}
}
