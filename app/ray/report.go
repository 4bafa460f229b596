package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func init() { commands["report"] = cmdReport }

// cmdReport writes a sanitized support bundle from the daemon.
func cmdReport(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	out := fs.String("o", "", "output file (default rayfish-report-TIME.tar.gz)")
	if _, err := parseArgs(fs, args, 0, "[-o FILE]"); err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = "rayfish-report-" + time.Now().UTC().Format("20060102-150405") + ".tar.gz"
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := c.client().Report(ctx, f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fi, _ := os.Stat(path)
	fmt.Fprintf(c.out, "wrote %s (%d bytes): version, system info, sanitized status, logs, metrics, firewall, DNS, audit\n", path, fi.Size())
	return nil
}
