// Command gen writes the text and icon files that rayfish's installers
// (mk/installer.mk) package, from the same sources the programs use: the
// systemd unit and launchd plist from platform/service, the macOS
// Info.plist and the Linux .desktop entry from FyneApp.toml, and the Windows
// .ico and macOS .icns from assets/icon.png.
//
//	go run ./installer/gen systemd-unit  -exe /usr/bin/ray        > rayfish.service
//	go run ./installer/gen launchd-plist -exe /usr/local/bin/ray  > dev.rayfish.daemon.plist
//	go run ./installer/gen info-plist    -app FyneApp.toml        > Info.plist
//	go run ./installer/gen desktop       -app FyneApp.toml        > dev.rayfish.app.desktop
//	go run ./installer/gen ico  -in assets/icon.png -out rayfish.ico
//	go run ./installer/gen icns -in assets/icon.png -out rayfish.icns
//	go run ./installer/gen version -app FyneApp.toml              (prints x.y.z)
package main

import (
	"flag"
	"fmt"
	"image"
	_ "image/png" // decode assets/icon.png
	"io"
	"os"

	"github.com/rayfish/rayfish/platform/paths"
	"github.com/rayfish/rayfish/platform/service"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: gen systemd-unit|launchd-plist|info-plist|desktop|ico|icns|version [flags]")
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	exe := fs.String("exe", "", "absolute path of the installed ray binary")
	app := fs.String("app", "FyneApp.toml", "Fyne app metadata")
	in := fs.String("in", "", "input PNG")
	out := fs.String("out", "", "output file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	// The target system's layout, not this machine's: /run exists there.
	withRun := func(p string) bool { return p == "/run" }
	noEnv := func(string) string { return "" }
	switch cmd {
	case "systemd-unit":
		unit, err := service.SystemdUnit(service.SpecFor("linux", *exe, paths.For("linux", noEnv, withRun)))
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, unit)
		return err
	case "launchd-plist":
		plist, err := service.LaunchdPlist(service.SpecFor("darwin", *exe, paths.For("darwin", noEnv, withRun)))
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, plist)
		return err
	case "info-plist", "desktop", "version":
		meta, err := loadAppMeta(*app)
		if err != nil {
			return err
		}
		var text string
		switch cmd {
		case "info-plist":
			text = meta.InfoPlist()
		case "desktop":
			text = meta.DesktopEntry()
		default:
			text = meta.Version + "\n"
		}
		_, err = io.WriteString(stdout, text)
		return err
	case "ico", "icns":
		if *in == "" || *out == "" {
			return fmt.Errorf("%s: -in and -out are required", cmd)
		}
		img, err := readPNG(*in)
		if err != nil {
			return err
		}
		var data []byte
		if cmd == "ico" {
			data, err = ICO(img)
		} else {
			data, err = ICNS(img)
		}
		if err != nil {
			return err
		}
		return os.WriteFile(*out, data, 0o644)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}
