// Command sscheck is the helper of `make screenshots` (see run.sh next to
// it). It has five subcommands:
//
//	sscheck watcher --ready FILE
//	    own org.kde.StatusNotifierWatcher on the session bus, record the
//	    items that register, and run until SIGTERM or SIGINT. Nothing draws
//	    tray icons under Xvfb; this stand-in makes fyne.io/systray export
//	    its item so that its properties can be read.
//	sscheck tray [--title T] [--status S] [--tooltip-has X]... [--icon STATE] [--menu-has X]... [--timeout D] [--quiet]
//	    wait until the registered item's properties match, print them, and
//	    exit 1 with FAIL lines if they never do.
//	sscheck click --label L [--timeout D]
//	    click the tray menu item labelled L over com.canonical.dbusmenu
//	    (AboutToShow, then Event "clicked"), as a panel does.
//	sscheck png --file F [--qr] [--green N] [--orange N]
//	    sanity checks on a screenshot: a QR code is in it, or at least N
//	    pixels of the "online" green (or of the map's relay orange).
//	sscheck fakedaemon --socket S [--peers N] [--every D]
//	    serve the local API for a made-up node with N busy peers (counters
//	    change every D, default 1s; 0: never): the app's load for the CPU
//	    measurement.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "watcher":
		err = runWatcher(os.Args[2:])
	case "tray":
		err = runTray(os.Args[2:])
	case "click":
		err = runClick(os.Args[2:])
	case "png":
		err = runPNG(os.Args[2:])
	case "fakedaemon":
		err = runFakeDaemon(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sscheck:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sscheck watcher|tray|click|png|fakedaemon [flags]")
	os.Exit(2)
}
