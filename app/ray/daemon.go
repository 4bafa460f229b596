package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/localapi"
	"github.com/rayfish/rayfish/platform/ipc"
	"github.com/rayfish/rayfish/platform/netcfg"
	"github.com/rayfish/rayfish/platform/paths"
	"github.com/rayfish/rayfish/platform/tun"
)

// daemonFlags are `ray daemon`'s options.
type daemonFlags struct {
	stateDir   string
	socket     string
	listenPort int
	tunName    string
	hostname   string
	verbose    bool
}

func parseDaemonFlags(args []string, socket string) (daemonFlags, error) {
	var f daemonFlags
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.StringVar(&f.stateDir, "state-dir", paths.StateDir(), "state directory (keys, networks)")
	fs.StringVar(&f.socket, "socket", socket, "local API socket")
	fs.IntVar(&f.listenPort, "listen-port", engine.DefaultPort, "UDP port (0 = default, falls back to random if taken)")
	fs.StringVar(&f.tunName, "tun", tun.DefaultName, "TUN device name")
	fs.StringVar(&f.hostname, "hostname", "", "hostname to use in networks (default: the OS hostname)")
	fs.BoolVar(&f.verbose, "verbose", false, "debug logging")
	if _, err := parseArgs(fs, args, 0, "--state-dir DIR --socket PATH [--listen-port N]"); err != nil {
		return f, err
	}
	if f.listenPort < 0 || f.listenPort > 65535 {
		return f, exitCode{2, fmt.Sprintf("daemon: --listen-port %d out of range", f.listenPort)}
	}
	return f, nil
}

// runDaemon runs the node in the foreground until ctx ends.
func runDaemon(ctx context.Context, args []string, socket string, logw io.Writer) error {
	f, err := parseDaemonFlags(args, socket)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	d, err := startDaemon(f, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("stopping")
	return d.Close()
}

// daemon is a running node: engine, TUN and local API.
type daemon struct {
	eng *engine.Engine
	api *localapi.Server
	net *tunConfig
}

func startDaemon(f daemonFlags, log *slog.Logger) (*daemon, error) {
	if err := paths.EnsureStateDir(f.stateDir); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	ln, err := ipc.Listen(f.socket)
	if err != nil {
		return nil, err
	}
	dev, err := tun.Create(f.tunName, engine.TUNMTU)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("create TUN %q (are you root?): %w", f.tunName, err)
	}
	name, err := dev.Name()
	if err != nil {
		name = f.tunName
	}
	luid, _ := tun.LUID(dev) // zero (look up by name) off Windows
	nc := &tunConfig{name: name, mtu: engine.TUNMTU, luid: luid}
	port := f.listenPort
	eng, err := engine.New(engine.Config{
		StateDir:   f.stateDir,
		ListenPort: port,
		TUN:        dev,
		Net:        nc,
		Hostname:   f.hostname,
		Logger:     log,
	})
	if err != nil {
		dev.Close()
		ln.Close()
		return nil, err
	}
	if err := eng.Start(); err != nil {
		eng.Close()
		ln.Close()
		return nil, err
	}
	api := localapi.New(eng, log)
	go api.Serve(ln)
	log.Info("rayfish daemon running", "socket", f.socket, "state", filepath.Clean(f.stateDir), "tun", name, "port", eng.ListenPort())
	return &daemon{eng: eng, api: api, net: nc}, nil
}

// Close stops the API, the engine and removes the TUN configuration.
func (d *daemon) Close() error {
	d.api.Close()
	err := d.eng.Close()
	netcfg.Teardown(d.net.name)
	return err
}

// tunConfig applies overlay addresses through platform/netcfg.
type tunConfig struct {
	name string
	mtu  int
	luid uint64
}

func (t *tunConfig) Apply(addrs []netip.Prefix) error {
	err := netcfg.Apply(netcfg.Config{Name: t.name, MTU: t.mtu, Addrs: addrs, LUID: t.luid})
	if errors.Is(err, netcfg.ErrNoIPv6) {
		return nil // IPv4 is configured; IPv6 is off on this host
	}
	return err
}

func (t *tunConfig) Down() error { return netcfg.Teardown(t.name) }
