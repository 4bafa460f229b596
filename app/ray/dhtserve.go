package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/rayfish/rayfish/engine/dhtdisc"
)

// runDHT runs `ray dht serve`: a plain Mainline DHT node, for private
// sites and labs (members bootstrap from it with --dht-bootstrap).
func runDHT(ctx context.Context, args []string, logw io.Writer) error {
	var rest []string
	switch {
	case len(args) > 0 && args[0] == "serve":
		rest = args[1:]
	case len(args) > 0 && isHelpFlag(args[0]):
		rest = args
	default:
		return exitCode{2, "usage: ray dht serve --listen ADDR [--bootstrap HOST:PORT]..."}
	}
	fs := flag.NewFlagSet("dht serve", flag.ContinueOnError)
	listen := fs.String("listen", ":6881", "UDP address to serve the DHT on")
	var boot multiFlag
	fs.Var(&boot, "bootstrap", "another DHT node HOST:PORT to join, repeatable (none: wait to be contacted)")
	if _, err := parseArgs(fs, rest, 0, "--listen ADDR [--bootstrap HOST:PORT]..."); err != nil {
		return err
	}
	for _, hp := range boot {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return exitCode{2, fmt.Sprintf("dht serve: --bootstrap %q: want HOST:PORT", hp)}
		}
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	n, err := dhtdisc.New(dhtdisc.Config{Listen: *listen, Bootstrap: boot, Logger: log})
	if err != nil {
		return err
	}
	defer n.Close()
	log.Info("dht node running", "listen", n.Addr(), "bootstrap", boot)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			st := n.Stats()
			log.Info("dht", "nodes", st.Nodes, "good", st.GoodNodes, "bytes_in", st.BytesIn, "bytes_out", st.BytesOut)
		}
	}
}
