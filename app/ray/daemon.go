package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/dhtdisc"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi"
	"github.com/rayfish/rayfish/engine/logring"
	"github.com/rayfish/rayfish/engine/metrics"
	"github.com/rayfish/rayfish/engine/relay"
	"github.com/rayfish/rayfish/platform/dns"
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
	logDir     string
	metrics    string
	pprof      string
	noDNS      bool
	noBulk     bool
	noPortmap  bool
	verbose    bool
	relays     multiFlag
	serveRelay string
	relayURL   string
	noDHT      bool
	dhtBoot    multiFlag
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func parseDaemonFlags(args []string, socket string) (daemonFlags, error) {
	var f daemonFlags
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.StringVar(&f.stateDir, "state-dir", paths.StateDir(), "state directory (keys, networks)")
	fs.StringVar(&f.socket, "socket", socket, "local API socket")
	fs.IntVar(&f.listenPort, "listen-port", engine.DefaultPort, "UDP port (0 = default, falls back to random if taken)")
	fs.StringVar(&f.tunName, "tun", tun.DefaultName, "TUN device name")
	fs.StringVar(&f.hostname, "hostname", "", "hostname to use in networks (default: the OS hostname)")
	fs.StringVar(&f.logDir, "log-dir", "", "audit log directory (default STATE-DIR/logs)")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:9464 (off by default)")
	fs.StringVar(&f.pprof, "pprof", "", "serve Go profiles on this loopback address (debugging)")
	fs.BoolVar(&f.noDNS, "no-dns", false, "do not point the OS resolver at magic DNS")
	fs.BoolVar(&f.noBulk, "no-bulk", false, "carry packets only in QUIC datagrams, not on the bulk channel (diagnostics, benchmarks)")
	fs.BoolVar(&f.noPortmap, "no-portmap", false, "never map our UDP port on the gateway (UPnP, NAT-PMP, PCP), whatever `ray config set portmap` says")
	fs.BoolVar(&f.verbose, "verbose", false, "debug logging")
	fs.Var(&f.relays, "relay", "relay URL (http:// or https://), repeatable; the first reachable is home")
	fs.StringVar(&f.serveRelay, "serve-relay", "", "also serve a relay for members of our networks on this TCP address, e.g. :41383")
	fs.StringVar(&f.relayURL, "serve-relay-url", "", "URL members use to reach --serve-relay (default http://FIRST-LOCAL-IP:PORT)")
	fs.BoolVar(&f.noDHT, "no-dht", false, "stay off the Mainline DHT (no publishing, no lookups)")
	fs.Var(&f.dhtBoot, "dht-bootstrap", "DHT bootstrap node HOST:PORT, repeatable; replaces the public bootstrap nodes")
	if _, err := parseArgs(fs, args, 0, "--state-dir DIR --socket PATH [--listen-port N]"); err != nil {
		return f, err
	}
	if f.listenPort < 0 || f.listenPort > 65535 {
		return f, exitCode{2, fmt.Sprintf("daemon: --listen-port %d out of range", f.listenPort)}
	}
	if f.metrics != "" {
		if err := metrics.CheckAddr(f.metrics); err != nil {
			return f, exitCode{2, "daemon: --metrics: " + err.Error()}
		}
	}
	for _, u := range f.relays {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return f, exitCode{2, fmt.Sprintf("daemon: --relay %q: want an http:// or https:// URL", u)}
		}
	}
	if f.logDir == "" {
		f.logDir = filepath.Join(f.stateDir, "logs")
	}
	for _, hp := range f.dhtBoot {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return f, exitCode{2, fmt.Sprintf("daemon: --dht-bootstrap %q: want HOST:PORT", hp)}
		}
	}
	return f, nil
}

// dhtBootstrap is the DHT bootstrap nodes the daemon uses: none with
// --no-dht, the --dht-bootstrap nodes if given, else the public ones.
func (f daemonFlags) dhtBootstrap() []string {
	if f.noDHT {
		return nil
	}
	return dhtdisc.BootstrapList(f.dhtBoot)
}

// runDaemon runs the node in the foreground until ctx ends.
func runDaemon(ctx context.Context, args []string, socket string, logw io.Writer) error {
	f, err := parseDaemonFlags(args, socket)
	if err != nil {
		return err
	}
	tuneGC()
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	d, err := startDaemon(f, slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level})))
	if err != nil {
		return err
	}
	<-ctx.Done()
	d.log.Info("stopping")
	return d.Close()
}

// daemon is a running node: engine, TUN, local API and its helpers.
type daemon struct {
	log     *slog.Logger
	eng     *engine.Engine
	api     *localapi.Server
	net     *tunConfig
	audit   *audit.Log
	served  *servedRelay
	stopAux context.CancelFunc
	lock    *paths.StateLock
}

// startDaemon starts a node logging to base; the last log lines are also
// kept in memory for support reports.
func startDaemon(f daemonFlags, base *slog.Logger) (*daemon, error) {
	ring := logring.NewRing(logring.DefaultLines)
	log := slog.New(logring.NewHandler(ring, base.Handler(), nil))

	if err := paths.EnsureStateDir(f.stateDir); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	lock, err := paths.LockStateDir(f.stateDir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			lock.Close()
		}
	}()
	// A crash may have left our resolver configuration behind.
	if err := dns.RecoverAfterCrash(f.stateDir, log); err != nil {
		log.Warn("restore DNS after a crash", "err", err)
	}
	if err := netcfg.Cleanup(f.tunName); err != nil {
		log.Warn("remove routes and forwarding left by an earlier run", "err", err)
	}
	var dnsMgr dns.Manager
	var upstreams []netip.AddrPort
	if !f.noDNS {
		dnsMgr = dns.New(f.stateDir, log)
		ups, err := dnsMgr.Upstreams(key.MagicDNSv4, key.MagicDNSv6)
		if err != nil {
			log.Warn("no upstream resolvers found; only .ray names will resolve", "err", err)
		}
		upstreams = ups
	}
	ln, err := ipc.Listen(f.socket)
	if err != nil {
		return nil, err
	}
	nc := &tunConfig{name: f.tunName, mtu: engine.TUNMTU, dns: dnsMgr, log: log}
	dev, deferred, tunErr := openTUN(f.tunName, nc)
	if tunErr != nil {
		log.Error("no tunnel device; running without it and retrying", "err", tunErr)
	}
	al, err := audit.Open(audit.Config{Dir: f.logDir, Logger: log})
	if err != nil {
		log.Warn("audit log unavailable", "err", err)
	}
	served, mappedRelayPort, relayBusy, err := startServedRelay(&f, log)
	if err != nil {
		dev.Close()
		ln.Close()
		al.Close()
		return nil, err
	}
	eng, err := engine.New(engine.Config{
		Relays:     f.relays,
		ServeRelay: served.URL(),
		// Why none is served though this node would (port busy).
		MemberRelayError: relayBusy,
		// Reachable only through a port mapping: the engine maps the
		// relay's port and advertises it once the gateway granted both.
		MappedRelayPort: mappedRelayPort,
		StateDir:        f.stateDir,
		ListenPort:      f.listenPort,
		TUN:             dev,
		Net:             nc,
		Hostname:        f.hostname,
		Logger:          log,
		Audit:           al,
		LogLines:        ring.Lines,
		DNSInfo:         nc.describeDNS,
		DNSHealth:       nc.dnsHealth,
		DNSUpstreams:    upstreams,
		DisableBulk:     f.noBulk,
		// The daemon's own sockets keep the underlay while an exit
		// node is in use (Linux policy routing by socket mark).
		SocketControl: netcfg.Control,
		RelayOptions:  relay.ConnOptions{ClientOptions: relay.ClientOptions{DialContext: (&net.Dialer{Control: netcfg.Control}).DialContext}},
		NoDHT:         f.noDHT,
		DHTBootstrap:  f.dhtBootstrap(),
		PortMap:       !f.noPortmap,
	})
	if err != nil {
		dev.Close()
		ln.Close()
		al.Close()
		return nil, err
	}
	if err := eng.Start(); err != nil {
		eng.Close()
		ln.Close()
		al.Close()
		return nil, err
	}
	if deferred != nil {
		eng.SetTUNError(tunErr.Error())
		deferred.Start(func(dev tun.Device, err error) { nc.tunReady(eng, dev, err) })
	}
	d := &daemon{log: log, eng: eng, net: nc, audit: al, served: served}
	served.Start(eng.SharesNetwork)
	auxCtx, stopAux := context.WithCancel(context.Background())
	d.stopAux = stopAux
	if f.metrics != "" {
		mln, err := metrics.Listen(f.metrics)
		if err != nil {
			d.Close()
			ln.Close()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		go metrics.ServeListener(auxCtx, mln, metrics.Handler(eng))
		log.Info("metrics", "addr", mln.Addr().String())
	}
	if f.pprof != "" {
		if err := servePprof(auxCtx, f.pprof); err != nil {
			d.Close()
			ln.Close()
			return nil, fmt.Errorf("pprof: %w", err)
		}
	}
	go nc.followNetworks(auxCtx, eng)
	d.api = localapi.New(eng, log, localapi.WithAudit(al))
	go d.api.Serve(ln)
	d.lock, started = lock, true
	log.Info("rayfish daemon running", "socket", f.socket, "state", filepath.Clean(f.stateDir), "tun", nc.ifName(), "port", eng.ListenPort())
	return d, nil
}

// Close stops the API, the engine, restores DNS and removes the TUN
// configuration.
func (d *daemon) Close() error {
	if d.api != nil {
		d.api.Close()
	}
	d.stopAux()
	d.served.Close()
	err := d.eng.Close()
	d.net.restoreDNS()
	netcfg.Teardown(d.net.ifName())
	d.audit.Close()
	d.lock.Close()
	return err
}

func (t *tunConfig) describeDNS() string {
	if t.dns == nil {
		return "OS DNS integration: off (--no-dns)"
	}
	ups, _ := t.dns.Upstreams(key.MagicDNSv4, key.MagicDNSv6)
	var s []string
	for _, u := range ups {
		s = append(s, u.String())
	}
	return fmt.Sprintf("OS DNS integration: %s; upstreams: %s", t.dns.Mode(), strings.Join(s, " "))
}
