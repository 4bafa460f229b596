package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/rayfish/rayfish/engine/relay"
)

// runRelay runs a relay server until ctx ends.
func runRelay(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	listen := fs.String("listen", ":8443", "TCP address for relay clients (HTTP upgrade)")
	stunPort := fs.Int("stun-port", 3478, "UDP port answering STUN binding requests (0 = off)")
	cert := fs.String("cert", "", "TLS certificate file (serve https://)")
	keyFile := fs.String("key", "", "TLS key file")
	rate := fs.Uint64("rate", relay.DefaultRateBytesPerSec, "per-client limit in bytes/s (0 = unlimited)")
	maxConns := fs.Int("max-conns", relay.DefaultMaxConns, "relay connections in all (0 = no cap)")
	maxPerIP := fs.Int("max-conns-per-ip", relay.DefaultMaxConnsPerIP, "relay connections from one IP address (0 = no cap)")
	if _, err := parseArgs(fs, args, 0, "--listen ADDR [--stun-port N] [--cert F --key F] [--rate BYTES] [--max-conns N] [--max-conns-per-ip N]"); err != nil {
		return err
	}
	if *maxConns < 0 || *maxPerIP < 0 {
		return exitCode{2, "relay: --max-conns and --max-conns-per-ip must not be negative"}
	}
	if *rate == 0 {
		*rate = relay.NoRateLimit
	}
	if (*cert == "") != (*keyFile == "") {
		return exitCode{2, "relay: --cert and --key go together"}
	}
	if *stunPort < 0 || *stunPort > 65535 {
		return exitCode{2, fmt.Sprintf("relay: --stun-port %d out of range", *stunPort)}
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	srv := relay.NewServer(relay.ServerConfig{
		Addr:            *listen,
		CertFile:        *cert,
		KeyFile:         *keyFile,
		STUNPort:        *stunPort,
		RateBytesPerSec: *rate,
		MaxConns:        noCap(*maxConns),
		MaxConnsPerIP:   noCap(*maxPerIP),
		Logger:          log,
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("relay running", "listen", *listen, "stun_port", *stunPort, "tls", *cert != "")
	select {
	case err := <-errc:
		srv.Close()
		return err
	case <-ctx.Done():
		return srv.Close()
	}
}

// noCap maps a flag's 0 (no cap) to ServerConfig's negative.
func noCap(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
